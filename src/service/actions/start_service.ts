/**
 * Start a named service under a background supervisor and return once it
 * is ready: what `pidkit start` does.
 *
 * @module
 */

import { askSupervisor } from "../control/supervisor_client.ts";
import {
  ServiceAlreadyRunningError,
  ServiceStartError,
  SupervisorError,
} from "../control/service_errors.ts";
import { READY_TIMEOUT_MS } from "../readiness/readiness.ts";
import { formatDuration } from "../../os/duration.ts";
import { DEFAULT_RETRY, parseRetry, type RetryStep, scheduleMs } from "../../tree/stop_schedule.ts";
import { buildSupervisorConfig, type LaunchOptions } from "../control/supervisor_config.ts";
import type { StartResult, SupervisorConfig } from "../control/supervisor_protocol.ts";
import { requireAllPermissions } from "../../os/permissions.ts";
import type { ServiceOrigin } from "../model/service_record.ts";

/**
 * Options of {@linkcode startService}: the run directory (`dir`), how the
 * service runs (see {@linkcode LaunchOptions}: readiness, restart policy,
 * log, user, environment, working directory, forking, ...) and
 * `ifNotRunning`.
 *
 * @example
 * ```ts
 * import type { StartServiceOptions } from "@pidkit/pidkit/service";
 * const options: StartServiceOptions = { dir: "/tmp/pidkit-example", readyAfter: "1s", ifNotRunning: true };
 * ```
 */
export interface StartServiceOptions extends LaunchOptions {
  /**
   * When the service already runs, return `status: "already-running"`
   * instead of throwing {@linkcode ServiceAlreadyRunningError}
   * (`--if-not-running`).
   */
  ifNotRunning?: boolean;
  /**
   * How long to wait for the supervisor's answer, in ms (`--timeout`);
   * default the ready timeout plus the stop schedule plus 10 s. A supervisor
   * that does not take the request within this (or 10 s) is reported
   * ({@linkcode SupervisorError} `no-answer`) and drops the request if it
   * reads it later; one that took it but has not answered by then
   * (`late`) goes on starting the service.
   */
  timeout?: number;
  /**
   * The declaration this service comes from, kept in its record (what
   * `pidkit up` sets; `list` shows the file). Services without one are
   * never touched by `up`.
   */
  origin?: ServiceOrigin;
  /**
   * The environment the service starts from, instead of the caller's (the
   * `env` additions still apply on top). `up` passes a small base (PATH,
   * HOME, LANG...), so a service runs the same from a shell or a unit.
   */
  baseEnv?: Record<string, string>;
}

/**
 * A service that was started (or restarted): what `pidkit start --json` prints.
 *
 * @example
 * ```ts
 * import { startService } from "@pidkit/pidkit/service";
 * const r = await startService("web", ["sleep", "60"], { dir: "/tmp/pidkit-example" });
 * if (r.status === "started") console.log(r.pid, r.supervisorPid, r.log);
 * ```
 */
export interface ServiceStarted {
  /** The service name. */
  name: string;
  /** `"started"`, or `"restarted"` from {@linkcode restartService}. */
  status: "started" | "restarted";
  /**
   * The service's main PID; `null` for a `--forking` service without
   * `--main-pidfile` whose main process cannot be guessed (see `mainUnknown`).
   */
  pid: number | null;
  /** With `pid: null`: how many processes the service has. */
  mainUnknown?: number;
  /**
   * A `--cron` task (`pid: null`): it is not started now but at each tick;
   * the first is due then (ISO). `null`: its schedule never ticks again.
   */
  scheduled?: string | null;
  /** The supervisor's PID. */
  supervisorPid: number;
  /** The PID file the supervisor holds. */
  pidfile: string;
  /** The state file. */
  state: string;
  /** The log file. */
  log: string | undefined;
}

/**
 * With `ifNotRunning`: the service was already running and nothing was started.
 *
 * @example
 * ```ts
 * import { startService } from "@pidkit/pidkit/service";
 * const r = await startService("web", ["sleep", "60"], { ifNotRunning: true });
 * if (r.status === "already-running") console.log(r.message);
 * ```
 */
export interface ServiceAlreadyRunning {
  /** The service name. */
  name: string;
  /** Always `"already-running"`. */
  status: "already-running";
  /** The running service's main PID, when known. */
  pid: number | undefined;
  /** Its PID file. */
  pidfile: string;
  /** One line saying so, e.g. `web is already running (pid 4242)`. */
  message: string;
}

/**
 * What {@linkcode startService} returns.
 *
 * @example
 * ```ts
 * import { type StartServiceResult, startService } from "@pidkit/pidkit/service";
 * const r: StartServiceResult = await startService("web", ["sleep", "60"], { ifNotRunning: true });
 * console.log(r.status, r.pid);
 * ```
 */
export type StartServiceResult = ServiceStarted | ServiceAlreadyRunning;

/**
 * Start `command` as service `name` under the run directory's resident
 * supervisor, started first when none runs (it holds `DIR/NAME.pid`, logs
 * to `DIR/NAME.log`, restarts per policy) and return
 * once the service is ready: every ready condition in `options` holds.
 * Without one, it is ready as soon as it runs.
 *
 * Throws {@linkcode UsageError} for a bad name or option,
 * {@linkcode ServiceAlreadyRunningError} when it already runs (unless
 * `ifNotRunning`), {@linkcode ServiceStartError} when it exited during
 * start-up or was not ready in time (with the last lines of its log), and
 * {@linkcode PidkitError} for a missing program, cwd or user or a run dir
 * that cannot be trusted. Needs `-A` (it reads `/proc` and starts pidkit's
 * supervisor as a subprocess).
 *
 * @example Start a service and wait for its port
 * ```ts
 * import { startService } from "@pidkit/pidkit/service";
 *
 * const started = await startService("web", ["deno", "run", "-A", "server.ts"], {
 *   dir: "/tmp/pidkit-example",
 *   readyTcp: "127.0.0.1:8080",
 *   readyTimeout: "30s",
 *   restart: "on-failure",
 * });
 * if (started.status === "started") console.log(`web runs as pid ${started.pid}`);
 * ```
 */
export async function startService(
  name: string,
  command: string[],
  options: StartServiceOptions = {},
): Promise<StartServiceResult> {
  requireAllPermissions("startService");
  const config: SupervisorConfig = {
    ...buildSupervisorConfig(name, command, options),
    ...(options.origin ? { origin: { file: options.origin.file, hash: options.origin.hash } } : {}),
    ...(options.baseEnv ? { inheritedEnv: { ...options.baseEnv } } : {}),
  };
  if (config.options.cron !== undefined || config.options.cronRestart !== undefined) {
    const { checkSchedules } = await import("../policies/service_policies.ts");
    await checkSchedules(config.options);
  }
  return await startConfigured(config, {
    ifNotRunning: options.ifNotRunning === true,
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  });
}

/**
 * Start a checked supervisor configuration in the background (also what
 * {@linkcode restartService} does once the service is stopped).
 *
 * @example
 * ```ts
 * import { startConfigured } from "./start_service.ts";
 * import { buildSupervisorConfig } from "../control/supervisor_config.ts";
 * const config = buildSupervisorConfig("web", ["sleep", "60"], { dir: "/tmp/pidkit-example" });
 * console.log((await startConfigured(config)).status);
 * ```
 */
export async function startConfigured(
  config: SupervisorConfig,
  options: { ifNotRunning?: boolean; status?: "started" | "restarted"; timeout?: number } = {},
): Promise<StartServiceResult> {
  // The service starts from this command's environment, as it would under 0.1.
  config = { ...config, inheritedEnv: config.inheritedEnv ?? Deno.env.toObject() };
  // The supervisor answers "already running" too: for its own services, a
  // lock another process holds (a 0.1 supervisor, `pidkit run`), and a tree
  // whose supervisor was killed (which it adopts).
  const timeout = options.timeout ?? defaultStartTimeout(config);
  let result: StartResult;
  try {
    result = (await askSupervisor<StartResult>(config.dir, { op: "start", config }, {
      launch: true,
      deadline: Date.now() + timeout,
    }))!;
  } catch (err) {
    if (err instanceof SupervisorError && err.reason === "late") {
      throw new SupervisorError(
        "late",
        err.dir,
        `${config.name} was not started within ${formatDuration(timeout)}: the supervisor` +
          `${err.supervisorPid ? ` (pid ${err.supervisorPid})` : ""} goes on starting it ` +
          `(pidkit status ${config.name})`,
        err.supervisorPid,
      );
    }
    throw err;
  }
  if (result.ok) {
    return {
      name: config.name,
      status: options.status ?? "started",
      pid: result.pid,
      ...(result.mainUnknown ? { mainUnknown: result.mainUnknown } : {}),
      ...(config.options.cron !== undefined && result.pid === null
        ? { scheduled: result.scheduled ?? null }
        : {}),
      supervisorPid: result.supervisorPid,
      pidfile: config.pidfile,
      state: config.state,
      log: config.log,
    };
  }
  if (result.alreadyRunning !== undefined) {
    const pid = result.alreadyRunning || undefined;
    if (options.ifNotRunning) {
      return {
        name: config.name,
        status: "already-running",
        pid,
        pidfile: config.pidfile,
        message: result.error,
      };
    }
    throw new ServiceAlreadyRunningError(config.name, config.pidfile, pid, result.error);
  }
  throw new ServiceStartError(config.name, result.reason ?? "failed", result.error, {
    ...(result.exit ? { exit: result.exit } : {}),
    ...(config.log ? { log: config.log } : {}),
    logTail: result.logTail ?? [],
  });
}

/**
 * The ready timeout, then a failed start's stop on its schedule, and 10 s to spare.
 *
 * @example
 * ```ts
 * import { defaultStartTimeout } from "./start_service.ts";
 * import { buildSupervisorConfig } from "../control/supervisor_config.ts";
 * console.log(defaultStartTimeout(buildSupervisorConfig("web", ["sleep", "60"], {}))); // 85000
 * ```
 */
export function defaultStartTimeout(config: SupervisorConfig): number {
  const stopMs = stopAllowanceMs(parseRetry(config.options.retry ?? DEFAULT_RETRY));
  return (config.options.readyTimeoutMs ?? READY_TIMEOUT_MS) + stopMs + 10_000;
}

/**
 * What a command waiting on a stop allows it, in ms: the schedule's total
 * (scheduleMs), or 60 s for a schedule that repeats `forever`.
 *
 * @example
 * ```ts
 * import { stopAllowanceMs } from "./start_service.ts";
 * import { parseRetry } from "../../tree/stop_schedule.ts";
 * console.log(stopAllowanceMs(parseRetry("TERM/10/KILL/5"))); // 15000
 * ```
 */
export function stopAllowanceMs(steps: readonly RetryStep[]): number {
  const ms = scheduleMs(steps);
  return Number.isFinite(ms) ? ms : 60_000;
}
