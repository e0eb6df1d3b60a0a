/**
 * Stop a named service and its whole process tree: what `pidkit stop NAME`
 * does, in one flow.
 *
 * 1. Ask whoever holds it, with no inspection: the run directory's resident
 *    supervisor on `DIR/supervisor.sock`, or a `pidkit run` on
 *    `DIR/NAME.run.sock`. The schedule and the time limit are the
 *    supervisor's unless the caller gave them (`--retry`, `--timeout`); the
 *    answer comes once the tree is empty and the lock released.
 * 2. Only when nothing holds it: inspect once (`_stop_unheld.ts` in
 *    `control/`) and stop what is found: a supervisor of one service that
 *    takes no request (0.2's `pidkit run`, 0.1's supervisors) by SIGTERM,
 *    an orphaned tree directly, a daemon's own unlocked PID file by its
 *    verified process.
 *
 * `--retry` is parsed once, here (`askedSchedule`).
 *
 * @module
 */

import { requireOwnProc } from "../../os/pid_namespace.ts";
import { resolveRunDir, validateName } from "../model/run_dir.ts";
import { requireAllPermissions } from "../../os/permissions.ts";
import {
  askedSchedule,
  askHolder,
  type ServiceStopProgress,
  type StopInOptions,
  stoppedResult,
  type StopServiceResult,
} from "../control/ask_stop.ts";

export {
  type AskedSchedule,
  askedSchedule,
  type ServiceStopProgress,
  type StopInOptions,
  type StopServiceResult,
} from "../control/ask_stop.ts";

/**
 * Options of {@linkcode stopService}.
 *
 * @example
 * ```ts
 * import type { StopServiceOptions } from "@pidkit/pidkit/service";
 * const options: StopServiceOptions = { dir: "/tmp/pidkit-example", retry: "TERM/30/KILL/5" };
 * ```
 */
export interface StopServiceOptions {
  /** The run directory; default as {@linkcode resolveRunDir} finds it. */
  dir?: string;
  /**
   * The stop schedule, e.g. `"TERM/30/KILL/5"`; default the one the service
   * was started with (its supervisor's), else `TERM/10/KILL/5`.
   */
  retry?: string;
  /** Called as the stop goes on (the CLI draws its progress line from it). */
  onProgress?: (event: ServiceStopProgress) => void;
  /**
   * How long to wait for the stop, in ms (`--timeout`); default the
   * supervisor's limit (the schedule's total plus 10 s). A supervisor that
   * does not take the request within this (or 10 s) is reported
   * ({@linkcode SupervisorError}), and it drops the request if it reads it
   * later.
   */
  timeout?: number;
}

/**
 * Stop service `name` and its whole process tree on the stop schedule and
 * return once the tree is empty and the PID file lock is free. A service
 * that is not running is not an error (`status: "not-running"`); a tree
 * whose supervisor was killed is stopped directly (`orphaned: true`).
 * Processes still alive when the schedule ran out are in `survivors`.
 *
 * Throws {@linkcode UsageError} for a bad name or schedule, and
 * {@linkcode PidkitError} when it cannot tell whether the service runs or
 * the supervisor did not let go in time. Needs `-A` (`/proc`).
 *
 * @example
 * ```ts
 * import { stopService } from "@pidkit/pidkit/service";
 *
 * const stopped = await stopService("web", { dir: "/tmp/pidkit-example", retry: "TERM/5/KILL/2" });
 * console.log(stopped.status, stopped.lastSignal, stopped.survivors);
 * ```
 */
export async function stopService(
  name: string,
  options: StopServiceOptions = {},
): Promise<StopServiceResult> {
  requireAllPermissions("stopService");
  const schedule = askedSchedule(options.retry);
  requireOwnProc(); // every PID stop signals comes from /proc
  validateName(name);
  const dir = resolveRunDir({ dir: options.dir });
  return await stopServiceIn(dir, name, { ...options, schedule });
}

/**
 * Stop service `name` of run directory `dir` (already resolved and checked).
 *
 * @example
 * ```ts
 * import { stopServiceIn } from "./stop_service.ts";
 * console.log((await stopServiceIn("/tmp/pidkit-example", "web")).status);
 * ```
 */
export async function stopServiceIn(
  dir: string,
  name: string,
  options: StopInOptions = {},
): Promise<StopServiceResult> {
  const t0 = performance.now();
  const seen = { away: false, first: true };
  const held = await askHolder(dir, name, options, seen);
  if (held !== undefined) return stoppedResult(name, held, performance.now() - t0);
  // Nothing holds it: find out once what there is (rare, so loaded only here).
  const { stopUnheld } = await import("./_stop_unheld.ts");
  return await stopUnheld(dir, name, options, t0, seen.away);
}
