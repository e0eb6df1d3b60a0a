/**
 * Named services from code: start a command under pidkit's background
 * supervisor, stop it with its whole process tree, restart it, and read
 * what `pidkit status` and `pidkit list` show, as data; read services' logs
 * ({@linkcode serviceLogs}, {@linkcode mergedServiceLogs}), their lifecycle
 * events ({@linkcode readEvents}, {@linkcode followEvents}) and process trees
 * ({@linkcode serviceProcesses}). The CLI's `start`, `stop`, `restart`,
 * `status`, `list`, `logs` and `ps` are thin layers over these.
 *
 * Services live in a run directory (`dir`, else `$PIDKIT_DIR`, else
 * `$XDG_RUNTIME_DIR/pidkit`, ...; see {@linkcode resolveRunDir}). The
 * functions read `/proc` and start subprocesses: run with `-A`.
 *
 * @example Start, inspect, stop
 * ```ts
 * import { serviceStatus, startService, stopService } from "@pidkit/pidkit/service";
 *
 * const dir = "/tmp/pidkit-example";
 * const started = await startService("web", ["deno", "run", "-A", "server.ts"], {
 *   dir,
 *   readyTcp: "127.0.0.1:8080",
 *   restart: "on-failure",
 * });
 * console.log(started.status, started.pid);
 * console.log((await serviceStatus("web", { dir })).state); // "running"
 * await stopService("web", { dir });
 * ```
 *
 * @module
 */

export { startService } from "./src/service/actions/start_service.ts";
export type {
  ServiceAlreadyRunning,
  ServiceStarted,
  StartServiceOptions,
  StartServiceResult,
} from "./src/service/actions/start_service.ts";
export type { LaunchOptions } from "./src/service/control/supervisor_config.ts";
export type { PolicyAction, PolicyName } from "./src/service/model/policy.ts";
export type { PolicyLaunchOptions } from "./src/service/model/policy_options.ts";
export { stopService } from "./src/service/actions/stop_service.ts";
export type {
  ServiceStopProgress,
  StopServiceOptions,
  StopServiceResult,
} from "./src/service/actions/stop_service.ts";
export { restartService } from "./src/service/actions/restart_service.ts";
export type {
  RestartServiceOptions,
  RestartServiceResult,
} from "./src/service/actions/restart_service.ts";
export { serviceStatus, statusExitCode } from "./src/service/inspect/service_status.ts";
export type { ServiceStatus, ServiceStatusOptions } from "./src/service/inspect/service_status.ts";
export { listServices } from "./src/service/inspect/list_services.ts";
export type {
  ListServicesOptions,
  ServiceList,
  ServiceListEntry,
} from "./src/service/inspect/list_services.ts";
export { signalService } from "./src/service/actions/signal_service.ts";
export type {
  SignalServiceOptions,
  SignalServiceResult,
} from "./src/service/actions/signal_service.ts";
export { waitService } from "./src/service/inspect/wait_service.ts";
export type { WaitServiceOptions } from "./src/service/inspect/wait_service.ts";
export { mergedServiceLogs, serviceLogs } from "./src/service/output/service_logs.ts";
export type {
  MergedServiceLogsOptions,
  ServiceLogItem,
  ServiceLogLine,
  ServiceLogsOptions,
  ServiceLogWarning,
} from "./src/service/output/service_logs.ts";
export { followEvents } from "./src/service/events/follow_events.ts";
export type { FollowEventsOptions } from "./src/service/events/follow_events.ts";
export { readEvents } from "./src/service/events/read_events.ts";
export type { ReadEventsOptions } from "./src/service/events/read_events.ts";
export type {
  ServiceEvent,
  ServiceEventKind,
  ServiceEventSink,
} from "./src/service/model/service_event.ts";
export { serviceProcesses } from "./src/service/inspect/service_processes.ts";
export type {
  ServiceProcess,
  ServiceProcesses,
  ServiceProcessesOptions,
} from "./src/service/inspect/service_processes.ts";
export { resolveRunDir } from "./src/service/model/run_dir.ts";
export type { RunDirOptions } from "./src/service/model/run_dir.ts";
export type { ServicePhase } from "./src/service/inspect/inspect_service.ts";
export type { ServiceOrigin } from "./src/service/model/service_record.ts";
export type { RetryStep } from "./src/tree/stop_schedule.ts";
export {
  ServiceAlreadyRunningError,
  ServiceStartError,
  SupervisorError,
} from "./src/service/control/service_errors.ts";
export type {
  StartFailureReason,
  SupervisorErrorReason,
} from "./src/service/control/service_errors.ts";
export {
  AlreadyRunningError,
  FileError,
  PidFileError,
  PidkitError,
  TreeError,
  UsageError,
} from "./src/os/errors.ts";
export type { FileErrorReason, PidFileErrorReason, TreeErrorReason } from "./src/os/errors.ts";
