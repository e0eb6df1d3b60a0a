/**
 * Stop schedules in the style of start-stop-daemon's `--retry`: which
 * signals to send to a process tree and how long to wait after each.
 *
 * @module
 */

import { parseDuration } from "../os/duration.ts";
import { UsageError } from "../os/errors.ts";
import { parseSignal } from "../os/signals.ts";

/**
 * One item of a stop schedule: send `signal`, or wait up to `timeoutMs`
 * for the tree to empty, or (`forever`) mark where to start again when the
 * end of the schedule is reached.
 *
 * @example
 * ```ts
 * import { parseRetry, type RetryStep } from "@pidkit/pidkit/tree";
 * const steps: RetryStep[] = parseRetry("TERM/10/KILL/5");
 * console.log(steps); // [{ signal: "SIGTERM" }, { timeoutMs: 10000 }, { signal: "SIGKILL" }, { timeoutMs: 5000 }]
 * ```
 */
export interface RetryStep {
  /** Send this signal to every member. */
  signal?: Deno.Signal;
  /** Wait this long (ms) for every member to be gone. */
  timeoutMs?: number;
  /** Repeat the items after this one forever (see {@linkcode parseRetry}). */
  forever?: boolean;
}

/**
 * The default stop schedule: SIGTERM, wait up to 10 s, SIGKILL, wait up to
 * 5 s.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY, parseRetry } from "@pidkit/pidkit/tree";
 * console.log(parseRetry(DEFAULT_RETRY).length); // 4
 * ```
 */
export const DEFAULT_RETRY = "TERM/10/KILL/5";

/** Parse one signal item: `-9`, `-TERM`, `TERM`, `SIGTERM`, `-sigterm`. */
function parseSignalItem(item: string, spec: string): Deno.Signal {
  const text = item.startsWith("-") ? item.slice(1) : item;
  try {
    return parseSignal(text);
  } catch {
    throw new UsageError(
      `bad retry schedule '${spec}': '${item}' is neither a signal nor a timeout ` +
        `(use e.g. TERM/10/KILL/5)`,
    );
  }
}

/** Parse one timeout item: seconds (`10`, `1.5`) or a duration (`500ms`, `2m`). */
function parseTimeoutItem(item: string, spec: string): number {
  try {
    return parseDuration(item);
  } catch {
    throw new UsageError(`bad retry schedule '${spec}': bad timeout '${item}'`);
  }
}

/**
 * Parse a stop schedule as start-stop-daemon's `--retry` takes it:
 *
 * - a bare timeout `N` means `TERM/N/KILL/N`;
 * - otherwise at least two items separated by `/`: a signal (`TERM`,
 *   `SIGTERM`, `-TERM`, `-15`; a bare number is a timeout, as in
 *   start-stop-daemon), a timeout in seconds (`10`, `0.5`) or as a duration
 *   (`500ms`, `2m`), or `forever`;
 * - `forever` (at most once) means: when the end of the schedule is
 *   reached, go on with the items after `forever`, again and again. Unlike
 *   start-stop-daemon, which rejects it, `forever` as the *last* item is
 *   accepted and means "then keep waiting, without limit" (so
 *   `TERM/5/forever` sends TERM and waits as long as it takes).
 *
 * Throws {@linkcode UsageError} with a one-line message for anything else.
 *
 * @example
 * ```ts
 * import { parseRetry } from "@pidkit/pidkit/tree";
 * parseRetry("30"); // TERM, 30 s, KILL, 30 s
 * parseRetry("TERM/10/KILL/5");
 * parseRetry("HUP/1/forever/TERM/5"); // HUP, 1 s, then TERM every 5 s until gone
 * ```
 */
export function parseRetry(spec: string): RetryStep[] {
  const text = spec.trim();
  if (text === "") {
    throw new UsageError("bad retry schedule '': it is empty (use e.g. TERM/10/KILL/5)");
  }
  const items = text.split("/");
  if (items.length === 1) {
    if (!/^\d/.test(text)) {
      throw new UsageError(
        `bad retry schedule '${spec}': give a timeout or at least two items (e.g. TERM/10/KILL/5)`,
      );
    }
    const ms = parseTimeoutItem(text, spec);
    return [{ signal: "SIGTERM" }, { timeoutMs: ms }, { signal: "SIGKILL" }, { timeoutMs: ms }];
  }
  const steps: RetryStep[] = [];
  let sawForever = false;
  for (const raw of items) {
    const item = raw.trim();
    if (item === "") throw new UsageError(`bad retry schedule '${spec}': empty item`);
    if (item.toLowerCase() === "forever") {
      if (sawForever) {
        throw new UsageError(`bad retry schedule '${spec}': 'forever' appears more than once`);
      }
      sawForever = true;
      steps.push({ forever: true });
    } else if (/^\d/.test(item)) {
      steps.push({ timeoutMs: parseTimeoutItem(item, spec) });
    } else {
      steps.push({ signal: parseSignalItem(item, spec) });
    }
  }
  const foreverAt = steps.findIndex((s) => s.forever);
  const repeated = steps.slice(foreverAt + 1);
  if (foreverAt >= 0 && repeated.length > 0 && !repeated.some((s) => s.timeoutMs !== undefined)) {
    throw new UsageError(
      `bad retry schedule '${spec}': the items after 'forever' need a timeout to repeat`,
    );
  }
  return steps;
}

/**
 * How long a stop schedule waits at most, in ms: the sum of its steps'
 * timeouts; `Infinity` when it repeats `forever`.
 *
 * @example
 * ```ts
 * import { parseRetry, scheduleMs } from "./stop_schedule.ts";
 * console.log(scheduleMs(parseRetry("TERM/10/KILL/5"))); // 15000
 * console.log(scheduleMs(parseRetry("HUP/1/forever/TERM/5"))); // Infinity
 * ```
 */
export function scheduleMs(steps: readonly RetryStep[]): number {
  if (steps.some((s) => s.forever)) return Infinity;
  return steps.reduce((t, s) => t + (s.timeoutMs ?? 0), 0);
}

/** What {@linkcode runSchedule} stops: a process tree, or a PID file's holders. */
export interface ScheduleTarget {
  /** Send `sig` to every process left; returns how many got it. */
  send(sig: Deno.Signal): number;
  /** Wait up to `ms` (`Infinity`: as long as it takes) until none is left; true then. */
  waitGone(ms: number): Promise<boolean>;
  /** None left now? */
  isGone(): boolean;
}

/** One signal a stop sent: which, when (ms after the start), to how many processes. */
export interface SignalSent {
  signal: Deno.Signal;
  atMs: number;
  targets: number;
}

/**
 * Carry out stop schedule `steps` (from {@linkcode parseRetry}) on
 * `target`: send each signal, wait up to each timeout for it to be gone, go
 * on while processes are left; at the end, start again after `forever`
 * (or, when `forever` is last, wait without limit). A signal that reaches
 * nobody because nothing is left ends it early. `onSignal` hears each signal
 * sent with the wait that follows it (ms; `Infinity` for a final `forever`).
 *
 * @example
 * ```ts
 * import { parseRetry, runSchedule } from "./stop_schedule.ts";
 * import { delay } from "../os/delay.ts";
 * const pid = 12345;
 * const alive = () => { try { Deno.kill(pid, "SIGCONT"); return true; } catch { return false; } };
 * const { gone } = await runSchedule(parseRetry("TERM/5/KILL/2"), {
 *   send: (sig) => alive() ? (Deno.kill(pid, sig), 1) : 0,
 *   waitGone: async (ms) => { const end = Date.now() + ms; while (alive() && Date.now() < end) await delay(10); return !alive(); },
 *   isGone: () => !alive(),
 * });
 * ```
 */
export async function runSchedule(
  steps: RetryStep[],
  target: ScheduleTarget,
  onSignal?: (signal: Deno.Signal, targets: number, timeoutMs: number | undefined) => void,
): Promise<{ sent: SignalSent[]; gone: boolean }> {
  const t0 = performance.now();
  const sent: SignalSent[] = [];
  const foreverAt = steps.findIndex((s) => s.forever);
  let gone = false;
  let pos = 0;
  while (!gone) {
    if (pos >= steps.length) {
      if (foreverAt < 0) break;
      if (foreverAt === steps.length - 1) {
        gone = await target.waitGone(Infinity);
        break;
      }
      pos = foreverAt + 1;
    }
    const step = steps[pos++];
    if (step.signal !== undefined) {
      const n = target.send(step.signal);
      if (n === 0 && target.isGone()) {
        gone = true;
        break;
      }
      sent.push({ signal: step.signal, atMs: performance.now() - t0, targets: n });
      const next = steps[pos];
      const finalForever = next?.forever === true && pos === steps.length - 1;
      onSignal?.(step.signal, n, next?.timeoutMs ?? (finalForever ? Infinity : undefined));
    } else if (step.timeoutMs !== undefined) {
      gone = await target.waitGone(step.timeoutMs);
    }
  }
  return { sent, gone: gone || target.isGone() };
}
