/**
 * Restart a named service with the command and options it was started
 * with: what `pidkit restart NAME` does.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { askSupervisor } from "../control/supervisor_client.ts";
import { inspectService, isRunningPhase } from "../inspect/inspect_service.ts";
import type { RestartAnswer } from "../control/supervisor_protocol.ts";
import { ServiceStartError, SupervisorError } from "../control/service_errors.ts";
import { parseRetry } from "../../tree/stop_schedule.ts";
import { resolveRunDir, servicePaths, validateName } from "../model/run_dir.ts";
import { readServiceRecord, type ServiceRecord } from "../model/service_record.ts";
import { configFromRecord } from "../control/supervisor_config.ts";
import {
  defaultStartTimeout,
  type ServiceStarted,
  startConfigured,
  stopAllowanceMs,
} from "./start_service.ts";
import {
  askedSchedule,
  type ServiceStopProgress,
  stopServiceIn,
  type StopServiceResult,
} from "./stop_service.ts";
import { requireAllPermissions } from "../../os/permissions.ts";

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
  requireAllPermissions("restartService");
  const { retry } = options;
  const schedule = askedSchedule(retry); // the one parse of --retry
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
  const inPlace = await restartInRun(dir, name, state, retry, options);
  if (inPlace) return inPlace;
  const stopped = await stopServiceIn(dir, name, {
    schedule,
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

/**
 * A service held by `pidkit run` is restarted inside the run (it stays in
 * the foreground with its PID: a container or a systemd unit keeps it);
 * `undefined` when it is not such a service or the run does not answer
 * (it exited meanwhile: the service is started as usual). A 0.2 `pidkit
 * run` (no socket in its record) cannot: refused, nothing is stopped.
 */
async function restartInRun(
  dir: string,
  name: string,
  state: ServiceRecord,
  retry: string | undefined,
  options: RestartServiceOptions,
): Promise<RestartServiceResult | undefined> {
  const sup = state.supervisor;
  if (sup.kind !== "service" || state.version !== 2) return undefined;
  const info = await inspectService(dir, name);
  if (!isRunningPhase(info.phase) || info.phase === "orphaned") return undefined;
  if (sup.socket === undefined) {
    throw new PidkitError(
      `${name} is held by pidkit run (pid ${sup.pid}) without a control socket (pidkit 0.2, ` +
        `or no FFI), which cannot restart it in place; restart its unit, or stop it and start it again`,
    );
  }
  // The stop on its schedule, then a start as `start` waits for one.
  const config = configFromRecord(dir, name, state);
  const stopMs = stopAllowanceMs(parseRetry(retry ?? config.options.retry));
  const timeout = options.timeout ?? stopMs + defaultStartTimeout(config);
  let answer: RestartAnswer | undefined;
  try {
    answer = await askSupervisor<RestartAnswer>(
      dir,
      { op: "restart", name, requestedBy: Deno.pid, ...(retry ? { retry } : {}) },
      { launch: false, socket: sup.socket, deadline: Date.now() + timeout },
    );
  } catch (err) {
    // Refused, frozen or late: say so. Gone meanwhile: started as usual.
    if (err instanceof SupervisorError) throw err;
    answer = undefined;
  }
  if (answer === undefined || !answer.held) return undefined;
  const report = answer.stopped;
  const stopped: StopServiceResult = report === undefined ? { name, status: "not-running" } : {
    name,
    status: "stopped",
    pid: report.pid ?? info.pid,
    lastSignal: report.signalsSent.at(-1)?.signal,
    signalsSent: report.signalsSent,
    durationMs: report.durationMs,
    survivors: report.survivors,
  };
  options.onStopped?.(stopped);
  const started = answer.started;
  if (!started.ok) {
    throw new ServiceStartError(name, started.reason ?? "failed", started.error, {
      ...(started.exit ? { exit: started.exit } : {}),
      ...(state.log !== "-" ? { log: state.log } : {}),
      logTail: started.logTail ?? [],
    });
  }
  return {
    name,
    status: "restarted",
    stopped,
    pid: started.pid,
    supervisorPid: started.supervisorPid,
    pidfile: state.pidfile,
    state: `${dir}/${name}.json`,
    log: state.log === "-" ? undefined : state.log,
  };
}
