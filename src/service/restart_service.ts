/**
 * Restart a named service with the command and options it was started
 * with: what `pidkit restart NAME` does.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { parseRetry } from "../tree/stop_schedule.ts";
import { resolveRunDir, servicePaths, validateName } from "./run_dir.ts";
import { readServiceRecord } from "./service_record.ts";
import { configFromRecord } from "./supervisor_config.ts";
import { type ServiceStarted, startConfigured } from "./start_service.ts";
import { type ServiceStopProgress, stopServiceIn, type StopServiceResult } from "./stop_service.ts";

/**
 * Options of {@linkcode restartService}.
 *
 * @example
 * ```ts
 * import type { RestartServiceOptions } from "@pidkit/pidkit/service";
 * const options: RestartServiceOptions = {
 *   retry: "TERM/5/KILL/2",
 *   onStopped: (r) => console.error(`stopped ${r.name}`),
 * };
 * ```
 */
export interface RestartServiceOptions {
  /** The run directory; default as {@linkcode resolveRunDir} finds it. */
  dir?: string;
  /** The stop schedule for the stop; default the service's own. */
  retry?: string;
  /** Progress of the stop (see {@linkcode stopService}). */
  onProgress?: (event: ServiceStopProgress) => void;
  /** Called once the old instance is stopped (or was not running), before the start. */
  onStopped?: (result: StopServiceResult) => void;
  /**
   * How long to wait for the supervisor's answer to the stop, and again to
   * the start, in ms (`--timeout`); defaults as for {@linkcode stopService}
   * and {@linkcode startService}.
   */
  timeout?: number;
}

/**
 * What {@linkcode restartService} returns: the start (`status: "restarted"`) and the stop before it.
 *
 * @example
 * ```ts
 * import { restartService, type RestartServiceResult } from "@pidkit/pidkit/service";
 * const r: RestartServiceResult = await restartService("web");
 * console.log(r.stopped.status, r.pid);
 * ```
 */
export interface RestartServiceResult extends ServiceStarted {
  /** What the stop did. */
  stopped: StopServiceResult;
}

/**
 * Stop service `name` (if it runs), then start it again with the command,
 * environment and options recorded in its state file, and return once it is
 * ready. Throws {@linkcode PidkitError} when the service has no recorded
 * command, and whatever {@linkcode stopService} and
 * {@linkcode startService} throw ({@linkcode ServiceStartError} when the new
 * instance does not come up).
 *
 * @example
 * ```ts
 * import { restartService } from "@pidkit/pidkit/service";
 *
 * const r = await restartService("web", { dir: "/tmp/pidkit-example" });
 * console.log(`${r.name}: pid ${r.stopped.pid} -> ${r.pid}`);
 * ```
 */
export async function restartService(
  name: string,
  options: RestartServiceOptions = {},
): Promise<RestartServiceResult> {
  const { retry } = options;
  if (retry !== undefined) parseRetry(retry);
  validateName(name);
  const dir = resolveRunDir({
    dir: options.dir,
    create: true, // it starts a supervisor there: the same checks as start
  });
  const paths = servicePaths(dir, name);
  const state = await readServiceRecord(paths.state);
  if (!state) {
    throw new PidkitError(
      `${name} has no recorded command in ${paths.state}: start it with pidkit start ${name} -- CMD`,
    );
  }
  const stopped = await stopServiceIn(dir, name, {
    retry,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  });
  options.onStopped?.(stopped);
  const started = await startConfigured(configFromRecord(dir, name, state), {
    status: "restarted",
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  });
  // Not started (already running: another start won the race) throws; `ifNotRunning` is off.
  return { ...(started as ServiceStarted), stopped };
}
