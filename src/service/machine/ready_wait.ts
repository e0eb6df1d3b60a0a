/**
 * The one readiness wait of a supervised service. Every start waits here:
 * a first start `start` waits for, a restart and `pidkit run` (only the
 * conditions the service announces itself, on their deadline), a
 * `--forking` service once its leader exited (all its conditions, its
 * restarts too), and an orphan adopted before
 * it was ready (with the time its first supervisor already spent).
 *
 * Conditions in; `ready`, `timeout` (with what was missing), `exited` or
 * `stopped` out. One timeout rule: `--ready-timeout` counted from when
 * the instance was started (`spentMs` ago), pushed later by
 * `EXTEND_TIMEOUT_USEC=` (`extendedUntil`).
 *
 * @module
 */

import { READY_TIMEOUT_MS, type ReadyCheck, waitReady } from "../readiness/readiness.ts";

/** What one wait for readiness looks at. */
export interface ReadinessWait {
  /**
   * The conditions (`afterMs`, `tcp`, `file` with `fileBefore`, and those
   * that say themselves when they hold). `afterMs` is counted from now
   * (an adopted orphan's caller takes off what it already lived).
   */
  check: Omit<ReadyCheck, "timeoutMs" | "extendedUntil">;
  /** `--ready-timeout` (default {@linkcode READY_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** How long ago the instance was started, in ms (0: now). */
  spentMs?: number;
  /** A later deadline asked for meanwhile (`EXTEND_TIMEOUT_USEC=`), ms since the epoch. */
  extendedUntil?: () => number;
  /** Settles when the instance has ended (its tree, or its main process). */
  exited: Promise<unknown>;
  /** Settles when the machine is asked to stop or restart. */
  interrupted: Promise<unknown>;
  /** Whether a stop was asked for (checked first: a stop wins over anything). */
  stopping(): boolean;
}

/** How a wait for readiness ended. */
export type ReadinessOutcome =
  | { outcome: "ready" }
  | { outcome: "stopped" }
  | { outcome: "exited" }
  | { outcome: "timeout"; timeoutMs: number; unmet: string[] };

/**
 * Wait until every condition of `wait.check` holds, the instance exits,
 * the machine is stopped, or the time is up.
 *
 * @example
 * ```ts
 * import { awaitReadiness } from "./ready_wait.ts";
 * const result = await awaitReadiness({
 *   check: { afterMs: 10 },
 *   exited: new Promise(() => {}),
 *   interrupted: new Promise(() => {}),
 *   stopping: () => false,
 * });
 * console.log(result.outcome); // "ready"
 * ```
 */
export async function awaitReadiness(wait: ReadinessWait): Promise<ReadinessOutcome> {
  const timeoutMs = wait.timeoutMs ?? READY_TIMEOUT_MS;
  const spent = Math.max(0, wait.spentMs ?? 0);
  let unmet: string[] = [];
  const outcome = await waitReady(
    {
      ...wait.check,
      timeoutMs: Math.max(0, timeoutMs - spent),
      ...(wait.extendedUntil ? { extendedUntil: wait.extendedUntil } : {}),
    },
    Promise.race([wait.exited, wait.interrupted]),
    { onTimeout: (missing) => unmet = missing },
  );
  if (wait.stopping()) return { outcome: "stopped" };
  if (outcome === "timeout") return { outcome, timeoutMs, unmet };
  return { outcome };
}
