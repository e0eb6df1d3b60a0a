/**
 * What a named service (or the program behind any PID file) is doing, as
 * data: what `pidkit status NAME --json` prints.
 *
 * Start-up time matters here (scripts call `pidkit status` in loops), so
 * this module imports only what it needs: no `node:` modules, no
 * process-tree code.
 *
 * @module
 */

import {
  CLOCK_TICKS_PER_SECOND,
  isStoppedProcess,
  readCmdline,
  readProcStat,
  readUptimeSeconds,
} from "../../os/proc.ts";
import { locatePid } from "../../os/pid_namespace.ts";
import { absolutePath } from "../../os/paths.ts";
import type { IdentityOptions } from "../../os/process_identity.ts";
import {
  inspectPidFile,
  inspectService,
  isRunningPhase,
  nextRunOf,
  type ServiceInfo,
  type ServicePhase,
} from "./inspect_service.ts";
import { resolveRunDir, validateName } from "../model/run_dir.ts";
import { requireAllPermissions } from "../../os/permissions.ts";
import type { PolicyAction } from "../model/policy.ts";

/**
 * Options of {@linkcode serviceStatus}.
 *
 * @example
 * ```ts
 * import type { ServiceStatusOptions } from "@pidkit/pidkit/service";
 * const options: ServiceStatusOptions = { dir: "/tmp/pidkit-example" };
 * ```
 */
export interface ServiceStatusOptions {
  /** The run directory; default as {@linkcode resolveRunDir} finds it. Never created. */
  dir?: string;
}

/**
 * What service `name` is doing: running, starting, stopping, orphaned
 * (supervisor gone, tree alive), stale, stopped, failed or unknown, with
 * its PIDs, uptime, restarts, last exit, command and files. Reads only:
 * never signals, never creates the run directory. A name without any file
 * is `stopped`. Throws {@linkcode UsageError} for a bad name and
 * {@linkcode PidkitError} for a run dir that cannot be trusted. Needs `-A`
 * (`/proc`).
 *
 * @example
 * ```ts
 * import { serviceStatus } from "@pidkit/pidkit/service";
 *
 * const s = await serviceStatus("web", { dir: "/tmp/pidkit-example" });
 * console.log(s.state, s.pid, s.uptimeMs, s.exitCode);
 * ```
 */
export async function serviceStatus(
  name: string,
  options: ServiceStatusOptions = {},
): Promise<ServiceStatus> {
  requireAllPermissions("serviceStatus");
  return (await serviceStatusDetail(name, options)).status;
}

/**
 * {@linkcode serviceStatus}, plus the run directory and whether the service
 * has a readable state file (`pidkit status` says "no such service" for a
 * stopped name without one).
 *
 * @example
 * ```ts
 * import { serviceStatusDetail } from "./service_status.ts";
 * const { status, recorded, dir } = await serviceStatusDetail("web");
 * if (!recorded) console.log(`no service ${status.name} in ${dir}`);
 * ```
 */
export async function serviceStatusDetail(
  name: string,
  options: ServiceStatusOptions = {},
): Promise<{ status: ServiceStatus; recorded: boolean; dir: string }> {
  validateName(name);
  const dir = resolveRunDir({ dir: options.dir });
  const info = await inspectService(dir, name);
  return { status: statusOf(info, `${dir}/${name}.pid`), recorded: info.record !== undefined, dir };
}

/**
 * What the program behind any PID file is doing (`pidkit status --pidfile
 * FILE --json`): running (its lock is held, or an unlocked file passes the
 * verification ladder and `identity`), stale, stopped (no file) or unknown.
 *
 * @example
 * ```ts
 * import { pidFileStatus } from "./service_status.ts";
 * const s = await pidFileStatus("/run/nginx.pid", { exec: "/usr/sbin/nginx" });
 * console.log(s.state, s.locked, s.verifiedBy);
 * ```
 */
export async function pidFileStatus(
  path: string,
  identity: IdentityOptions = {},
): Promise<ServiceStatus> {
  const file = absolutePath(path);
  return statusOf(await inspectPidFile(file, identity), file);
}

/**
 * The exit status `pidkit status` gives for a phase (the LSB init-script
 * convention): 0 running (also starting, stopping, reloading, orphaned),
 * 1 stale PID file, 3 not running (stopped, failed), 4 cannot tell.
 *
 * @example
 * ```ts
 * import { statusExitCode } from "@pidkit/pidkit/service";
 * console.log(statusExitCode("stale")); // 1
 * ```
 */
export function statusExitCode(phase: ServicePhase): 0 | 1 | 3 | 4 {
  if (isRunningPhase(phase)) return 0;
  switch (phase) {
    case "stale":
      return 1;
    case "stopped":
    case "failed":
      return 3;
    default:
      return 4;
  }
}

/**
 * What `pidkit status NAME --json` prints for one service (every key always
 * present; `null` when not known).
 *
 * @example
 * ```ts
 * import { type ServiceStatus, serviceStatus } from "@pidkit/pidkit/service";
 * const s: ServiceStatus = await serviceStatus("web");
 * if (s.state === "orphaned") console.log(`tree of pid ${s.pid} outlived its supervisor`);
 * ```
 */
export interface ServiceStatus {
  /** The service name (the PID file for {@linkcode pidFileStatus}). */
  name: string;
  /** What it is doing. */
  state: ServicePhase;
  /** The exit status `pidkit status` gives for it (see {@linkcode statusExitCode}). */
  exitCode: number;
  /** The service's main PID (as written in the PID file). */
  pid: number | null;
  /**
   * A running `--forking` service whose main process is not known (no
   * `--main-pidfile`, and no single process to guess): how many processes
   * it has (`0`: not counted); `null` otherwise.
   */
  mainUnknown: number | null;
  /** The supervisor's PID (for a PID file: the lock holder). */
  supervisorPid: number | null;
  /**
   * The supervisor of a running service is stopped (SIGSTOP, say): it
   * answers no command (start, stop, restart) until it gets SIGCONT.
   */
  supervisorStopped: boolean;
  /** When the main process started (ISO). */
  startedAt: string | null;
  /** How long the main process has run, ms. */
  uptimeMs: number | null;
  /** Restarts since the service was started. */
  restarts: number | null;
  /**
   * While `state` is `restarting` (the restart back-off): when the next
   * start is due (ISO), in how many ms, and which restart in a row it is
   * (`attempt`) of how many allowed (`of`, `--max-restarts`).
   */
  restart: { at: string; inMs: number; attempt: number; of: number } | null;
  /**
   * A schedule's next tick while the supervisor holds the service:
   * `start` (`--cron`, state `scheduled` between runs) or `restart`
   * (`--cron-restart`), when (ISO) and in how many ms.
   */
  nextRun: { at: string; inMs: number; action: "start" | "restart" } | null;
  /**
   * The last start or restart a policy made (schedule, file watch, memory
   * limit): when, which, and why.
   */
  policyAction: PolicyAction | null;
  /** How the service last exited. */
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** The service command. */
  command: string[] | null;
  /** Its PID file. */
  pidfile: string | null;
  /** Its log file. */
  log: string | null;
  /** What went wrong, as one line. */
  error: string | null;
  /** The PID file was deleted or replaced under a running supervisor. */
  pidfileLost: boolean;
  /** Whether a process holds the PID file's lock (`null` when there is no file). */
  locked: boolean | null;
  /** How "running" was verified: `lock`, `start-time`, `recorded-start-time`, `exec`, `name`, `user`. */
  verifiedBy: string[] | null;
  /** Why a PID file is stale or names another program (`null` otherwise). */
  reason: string | null;
  /** The lines after the PID of a file with more than a PID (postmaster.pid), as they are. */
  extraLines: string[] | null;
  /** The last `STATUS=` text the service sent over sd_notify. */
  statusText: string | null;
  /** The declaration file it was started from by `pidkit up`; `null`: started by hand. */
  file: string | null;
  /**
   * The process `pid` names, as the kernel numbers it here: `pid` itself,
   * unless the lock holder lives in another PID namespace (a container),
   * where `pid` is that namespace's number. Uptime and command come from it.
   */
  kernelPid: number | null;
  /** `pid` is a PID of the lock holder's (nested) PID namespace, not of ours. */
  namespaced: boolean;
}

/**
 * The status record of an inspected service (reads the leader's start time
 * for the uptime).
 *
 * @example
 * ```ts
 * import { statusOf } from "./service_status.ts";
 * import { inspectService } from "./inspect_service.ts";
 * const info = await inspectService("/tmp/pidkit-example", "web");
 * console.log(statusOf(info, "/tmp/pidkit-example/web.pid").state);
 * ```
 */
export function statusOf(info: ServiceInfo, pidfile: string | null): ServiceStatus {
  const where = info.pid !== undefined && info.probe?.status === "running"
    ? locatePid(info.pid, info.probe.holderPid)
    : undefined;
  // A stale file's PID may be anyone here (pid 1 of a container long gone): nothing is read for it.
  const live = isRunningPhase(info.phase);
  const kernelPid = !live ? undefined : where ? where.kernelPid : info.pid;
  const up = kernelPid !== undefined ? uptimeMs(kernelPid) : undefined;
  // A bare PID file (no state): the command of the process it names.
  const command = info.record?.command ??
    (info.record === undefined && up !== undefined ? readCmdline(kernelPid!) : undefined);
  return {
    name: info.name,
    state: info.phase,
    exitCode: statusExitCode(info.phase),
    pid: info.pid ?? null,
    mainUnknown: live && info.pid === undefined && info.record?.options?.forking
      ? info.record.mainUnknown ?? 0
      : null,
    supervisorPid: info.supervisorPid ?? null,
    supervisorStopped: live && info.supervisorPid !== undefined &&
      isStoppedProcess(info.supervisorPid),
    startedAt: up === undefined ? null : new Date(Date.now() - up).toISOString(),
    uptimeMs: up ?? null,
    restarts: info.record?.restarts ?? null,
    restart: restartDue(info),
    nextRun: nextRunOf(info),
    policyAction: info.record?.policyAction ?? null,
    lastExit: info.record?.lastExit ?? null,
    command: command ?? null,
    pidfile: info.record?.pidfile ?? pidfile,
    log: info.record?.log ?? null,
    error: info.error ?? null,
    pidfileLost: info.pidfileLost ?? false,
    ...verdictFields(info),
    // The STATUS= of a service that no longer runs says nothing about it.
    statusText: live ? info.record?.statusText ?? null : null,
    file: info.record?.origin?.file ?? null,
    kernelPid: kernelPid ?? null,
    namespaced: where?.namespaced ?? false,
  };
}

/** `locked`, `verifiedBy` and `reason` of the JSON record, from the lock or the PID file verdict. */
function verdictFields(
  info: ServiceInfo,
): Pick<ServiceStatus, "locked" | "verifiedBy" | "reason" | "extraLines"> {
  const v = info.verdict;
  if (v === undefined) {
    const held = info.probe?.status === "running";
    return {
      locked: info.probe === undefined || info.probe.status === "absent" ? null : held,
      verifiedBy: held ? ["lock"] : null,
      reason: null,
      extraLines: null,
    };
  }
  if (v.status === "absent") {
    return { locked: null, verifiedBy: null, reason: null, extraLines: null };
  }
  return {
    locked: v.locked,
    verifiedBy: v.status === "running" ? v.verifiedBy : null,
    reason: v.status === "running" ? null : v.reason,
    extraLines: v.status !== "mismatch" && v.extraLines ? v.extraLines : null,
  };
}

function restartDue(info: ServiceInfo): ServiceStatus["restart"] {
  const next = info.phase === "restarting" ? info.record?.nextRestart : undefined;
  if (next === undefined) return null;
  const inMs = Math.max(0, Date.parse(next.at) - Date.now());
  return { at: next.at, inMs: Number.isNaN(inMs) ? 0 : inMs, attempt: next.attempt, of: next.of };
}

function uptimeMs(pid: number): number | undefined {
  const st = readProcStat(pid);
  if (!st) return undefined;
  return Math.max(
    0,
    Math.round((readUptimeSeconds() - st.startTime / CLOCK_TICKS_PER_SECOND) * 1000),
  );
}
