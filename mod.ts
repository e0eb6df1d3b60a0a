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
 * This entry point is the lock API. Process trees are in
 * `@pidkit/pidkit/tree`, named services (start, stop, status from code) in
 * `@pidkit/pidkit/service`, the command line in `@pidkit/pidkit/cli`.
 *
 * Functions that read `/proc` (lock holders, process details) need Deno's
 * `-A`: Deno refuses any scoped read of `/proc`.
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

export {
  AlreadyRunningError,
  FileError,
  PidFileError,
  PidkitError,
  UsageError,
} from "./src/os/errors.ts";
export type { FileErrorReason, PidFileErrorReason } from "./src/os/errors.ts";
export { PidFile } from "./src/lock/pid_file.ts";
export type { AcquireOptions, HoldStatus, WatchOptions } from "./src/lock/pid_file.ts";
export { probe, readPidFile, waitForRelease } from "./src/lock/probe.ts";
export type { ProbeResult, WaitOptions } from "./src/lock/probe.ts";
export type { PidRecord } from "./src/lock/record.ts";
export { verifyPidFile } from "./src/lock/verify_pid_file.ts";
export type { PidFileVerdict, VerifyOptions } from "./src/lock/verify_pid_file.ts";
export type { IdentityOptions } from "./src/os/process_identity.ts";
export { VERSION } from "./src/os/version.ts";
