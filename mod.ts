/**
 * pidkit: PID files done right, and whole process trees started, tracked,
 * signalled and stopped.
 *
 * A PID file is trustworthy only when its meaning lives exactly as long as
 * the process it names. pidkit ties the two with an exclusive `flock(2)`
 * lock held for the process's whole life: the kernel drops it the moment the
 * holder dies, however it dies, so "is it running?" is answered by the
 * kernel, never by `kill(pid, 0)` or by the mere existence of a file.
 *
 * Functions that read `/proc` (process details, lock holders, process
 * trees) need Deno's `-A`: Deno refuses any scoped read of `/proc`.
 *
 * @example Hold your own PID file; refuse a second instance
 * ```ts
 * import { AlreadyRunningError, PidFile } from "@pidkit/pidkit";
 *
 * try {
 *   await using pid = await PidFile.acquire("/tmp/my-service.pid");
 *   console.log(`running as ${pid.pid}`);
 *   // ... serve until done; the file is removed when the block ends
 * } catch (err) {
 *   if (err instanceof AlreadyRunningError) {
 *     console.error(err.message);
 *     Deno.exit(1);
 *   }
 *   throw err;
 * }
 * ```
 *
 * @module
 */

export { AlreadyRunningError, PidFileError, PidkitError, UsageError } from "./src/os/errors.ts";
export type { PidFileErrorReason } from "./src/os/errors.ts";
export {
  CLOCK_TICKS_PER_SECOND,
  deviceKey,
  isProcessAlive,
  listPids,
  lockHolders,
  readBootId,
  readCmdline,
  readEnviron,
  readPidNamespace,
  readProcStat,
} from "./src/os/proc.ts";
export type { ProcStat } from "./src/os/proc.ts";
export { VERSION } from "./src/os/version.ts";
export { parseSignal, signalName, signalNumber } from "./src/os/signals.ts";
export { formatDuration, parseDuration } from "./src/os/duration.ts";
export { readState, readStateSync, writeState } from "./src/service/service_state.ts";
export type { ServiceOptions, ServiceState, ServiceStatePhase } from "./src/service/service_state.ts";
export {
  inspectPidFile,
  inspectService,
  listServices,
  resolveRunDir,
  servicePaths,
  validateName,
} from "./src/service/services.ts";
export type { RunDirOptions, ServiceInfo, ServicePaths, ServicePhase } from "./src/service/services.ts";
export { PidFile, probe, readPidFile, waitForRelease } from "./src/lock/pid_file.ts";
export type {
  AcquireOptions,
  PidFileState,
  ProbeResult,
  WaitOptions,
  WatchOptions,
} from "./src/lock/pid_file.ts";
export { formatPidRecord, parsePidRecord } from "./src/lock/record.ts";
export { verifyPidFile } from "./src/lock/pid_file_verdict.ts";
export type { PidFileVerdict, VerifyOptions } from "./src/lock/pid_file_verdict.ts";
export type { IdentityOptions } from "./src/os/process_identity.ts";
export type { PidRecord } from "./src/lock/record.ts";
export { attachTree, ProcessTree, spawnTree } from "./src/tree/process_tree.ts";
export type {
  SpawnTreeOptions,
  StopOptions,
  StopProgress,
  StopReport,
  Tracking,
  TreeExit,
  TreeMember,
  TreeRef,
} from "./src/tree/process_tree.ts";
export { DEFAULT_RETRY, parseRetry } from "./src/tree/stop_schedule.ts";
export type { RetryStep } from "./src/tree/stop_schedule.ts";
export { findCgroup2 } from "./src/tree/cgroup.ts";
export type { Cgroup2Info } from "./src/tree/cgroup.ts";
