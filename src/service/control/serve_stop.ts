/**
 * A stop request as a supervisor carries it out, the same on the run
 * directory's socket (dir_supervisor.ts) and on `pidkit run`'s
 * (_run_control.ts): the schedule is the one the request names, else the
 * service's own; the time limit is the request's (`--timeout`), else the
 * schedule's total plus {@linkcode STOP_MARGIN_MS}. A command therefore
 * needs neither to know the schedule nor to compute a limit: it waits for
 * the answer.
 *
 * @module
 */

import { parseRetry, scheduleMs } from "../../tree/stop_schedule.ts";
import type {
  StopAnswer,
  StopRequest,
  StopResult,
  SupervisorRequest,
} from "./supervisor_protocol.ts";

/**
 * How long past its schedule's total a stop may take before the answer
 * says `timedOut` (writing the final state and the log, a slow machine).
 */
export const STOP_MARGIN_MS = 10_000;

/** What a stop request works on: one service's supervision (supervisor.ts). */
export interface Stoppable {
  /** Its options: the schedule it was started with. */
  readonly cfg: { options: { retry: string } };
  /** Set by a stop request: the schedule and who asked. */
  stopRequest?: StopRequest;
  /** What the stop did, once done. */
  stopResult?: StopResult;
  /** Stop the service; its supervision then ends. */
  requestStop(): void;
}

/**
 * The schedule a stop request of `sup` runs on: the request's, else the
 * service's own.
 *
 * @example
 * ```ts
 * import { scheduleOf } from "./serve_stop.ts";
 * const sup = { cfg: { options: { retry: "TERM/30/KILL/5" } }, requestStop() {} };
 * console.log(scheduleOf(sup, {})); // TERM/30/KILL/5
 * ```
 */
export function scheduleOf(sup: Stoppable, request: { retry?: string }): string {
  return request.retry ?? sup.cfg.options.retry;
}

/**
 * Stop `sup` as `request` asks and answer once `ended` (its supervision is
 * over and the PID file's lock released), or `timedOut` at the time limit
 * (the stop goes on). Throws UsageError for a bad schedule, before
 * anything is done.
 *
 * @example
 * ```ts
 * import { serveStop } from "./serve_stop.ts";
 * let end!: () => void;
 * const ended = new Promise<void>((r) => end = r);
 * const sup = { cfg: { options: { retry: "TERM/1/KILL/1" } }, requestStop: () => end() };
 * console.log(await serveStop(sup, { op: "stop", name: "web", requestedBy: 1 }, ended));
 * ```
 */
export async function serveStop(
  sup: Stoppable,
  request: Extract<SupervisorRequest, { op: "stop" }>,
  ended: Promise<unknown>,
): Promise<StopAnswer> {
  const retry = scheduleOf(sup, request);
  const total = scheduleMs(parseRetry(retry)); // a bad schedule: refused, nothing done
  // The request's own limit, and its deadline (the command gives up then);
  // else the supervisor's: the schedule and a margin.
  const asked = [request.timeoutMs, request.deadline && request.deadline - Date.now()]
    .filter((n): n is number => typeof n === "number");
  const limit = asked.length ? Math.max(0, Math.min(...asked)) : total + STOP_MARGIN_MS;
  sup.stopRequest ??= { retry, requestedBy: request.requestedBy, at: new Date().toISOString() };
  sup.requestStop();
  // Past 2^31 ms a timer fires at once: no limit then (a schedule with `forever`).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = !(limit < 2 ** 31 - 1)
    ? new Promise<never>(() => {})
    : new Promise<"late">((r) => timer = setTimeout(() => r("late"), limit));
  const outcome = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (outcome === "late") return { held: true, timedOut: true };
  return { held: true, ...(sup.stopResult ? { result: sup.stopResult } : {}) };
}
