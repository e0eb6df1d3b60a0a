/**
 * When a supervisor restarts its service, and how long it waits first:
 * `on-failure` restarts after an unsuccessful exit, `always` after any exit;
 * the delay doubles from the first restart delay (100 ms by default) up to
 * 30 s, and starts again from the first delay once the service has stayed up
 * for 60 s. After `maxRestarts` restarts in a row the supervisor gives up.
 *
 * @module
 */

/** A restart policy, as `--restart` takes it. */
export type RestartPolicy = "no" | "on-failure" | "always";

/** The longest wait between two restarts, in ms. */
export const MAX_RESTART_DELAY_MS = 30_000;
/** Uptime after which the backoff starts again from the first delay, in ms. */
export const BACKOFF_RESET_MS = 60_000;
/** The first restart delay when none is given, in ms. */
export const DEFAULT_RESTART_DELAY_MS = 100;
/** How many restarts in a row before giving up, when not given. */
export const DEFAULT_MAX_RESTARTS = 10;

/** Whether `policy` restarts a service that exited successfully (`success`) or not. */
export function shouldRestart(policy: RestartPolicy, success: boolean): boolean {
  return policy === "always" || (policy === "on-failure" && !success);
}

/**
 * The wait before restart number `attempt` (1 for the first restart in a
 * row): `firstDelayMs * 2^(attempt-1)`, at most {@linkcode MAX_RESTART_DELAY_MS}.
 */
export function restartDelay(attempt: number, firstDelayMs: number): number {
  const delay = firstDelayMs * 2 ** Math.max(0, attempt - 1);
  return Math.min(delay, Math.max(firstDelayMs, MAX_RESTART_DELAY_MS));
}

/** Parse `--restart`: `no`, `on-failure` or `always`; `undefined` for anything else. */
export function parseRestartPolicy(text: string): RestartPolicy | undefined {
  return text === "no" || text === "on-failure" || text === "always" ? text : undefined;
}
