/**
 * The errors the service control functions throw besides
 * {@linkcode UsageError} (a bad option or name) and plain
 * {@linkcode PidkitError}s (a run dir that cannot be trusted, a stop that
 * did not finish in time).
 *
 * @module
 */

import { AlreadyRunningError, PidkitError } from "../../os/errors.ts";
import type { StartFailureReason } from "./supervisor_protocol.ts";

export type { StartFailureReason } from "./supervisor_protocol.ts";

/**
 * A service could not be started: it exited during start-up (`reason`
 * `"exited"`, with `exit`), was not ready within the ready timeout
 * (`"not-ready"`), was stopped meanwhile (`"stopped"`), or could not be
 * started at all (`"failed"`: the supervisor could not spawn it, open its
 * log, or died). `logTail` holds the last lines of its log written by this
 * attempt (from the supervisor's `started NAME (pid P)` line of the
 * instance it started on, at most 10), when there are any.
 *
 * @example
 * ```ts
 * import { ServiceStartError, startService } from "@pidkit/pidkit/service";
 * try {
 *   await startService("web", ["deno", "run", "-A", "server.ts"], { readyTcp: "127.0.0.1:8080" });
 * } catch (err) {
 *   if (err instanceof ServiceStartError) {
 *     console.error(err.message, err.reason);
 *     for (const line of err.logTail) console.error(`  ${line}`);
 *   } else throw err;
 * }
 * ```
 */
export class ServiceStartError extends PidkitError {
  /** The service name. */
  readonly service: string;
  /** Why it failed, as a stable word. */
  readonly reason: StartFailureReason;
  /** How the service exited during start-up, when it did. */
  readonly exit: { code: number | null; signal: string | null } | undefined;
  /** The service's log file, when it has one. */
  readonly log: string | undefined;
  /** The last lines of the log, this attempt's only (empty when there are none). */
  readonly logTail: string[];

  /** Create the error; `message` is the whole one-line text. */
  constructor(
    service: string,
    reason: StartFailureReason,
    message: string,
    details: {
      exit?: { code: number | null; signal: string | null };
      log?: string;
      logTail?: string[];
    } = {},
  ) {
    super(message);
    this.service = service;
    this.reason = reason;
    this.exit = details.exit;
    this.log = details.log;
    this.logTail = details.logTail ?? [];
  }
}

/**
 * A named service is already running: its supervisor holds the PID file's
 * lock, or the tree of a supervisor that was killed still runs (orphaned).
 * An {@linkcode AlreadyRunningError} whose message names the service;
 * `pid` is the service's main PID when known.
 *
 * @example
 * ```ts
 * import { ServiceAlreadyRunningError, startService } from "@pidkit/pidkit/service";
 * try {
 *   await startService("web", ["sleep", "60"], { readyAfter: 0 });
 * } catch (err) {
 *   if (err instanceof ServiceAlreadyRunningError) console.log(`web runs as pid ${err.pid}`);
 *   else throw err;
 * }
 * ```
 */
export class ServiceAlreadyRunningError extends AlreadyRunningError {
  /** The service name. */
  readonly service: string;

  /** Create the error for service `service` (PID file `path`); `message` is the whole text. */
  constructor(service: string, path: string, pid: number | undefined, message: string) {
    super(path, pid);
    this.message = message;
    this.service = service;
  }
}

/**
 * Why the run directory's supervisor could not serve a request; see
 * {@linkcode SupervisorError}:
 * - `"permission-denied"`: the caller may not control the directory's
 *   services (not root, not the supervisor's user, not the directory's
 *   owner); `pidkit` exits 4;
 * - `"no-answer"`: the supervisor did not take the request in time (it is
 *   stopped, say by SIGSTOP, or overloaded), or took it too late; nothing
 *   was done; `pidkit` exits 5;
 * - `"late"`: it took the request but did not answer before the deadline;
 *   what it does goes on; `pidkit` exits 1;
 * - `"not-listening"`: a supervisor holds the directory but does not listen
 *   on its socket (removed or replaced, say by a regular file); `pidkit`
 *   exits 5.
 * - `"version"`: it speaks another control protocol (an older pidkit's
 *   supervisor, or a newer command's request) and did nothing; `pidkit`
 *   exits 1.
 *
 * @example
 * ```ts
 * import type { SupervisorErrorReason } from "@pidkit/pidkit/service";
 * const retryLater = (r: SupervisorErrorReason) => r === "no-answer" || r === "not-listening";
 * console.log(retryLater("late"));
 * ```
 */
export type SupervisorErrorReason =
  | "permission-denied"
  | "no-answer"
  | "late"
  | "not-listening"
  | "version";

/**
 * The run directory's supervisor did not serve a request: `reason` says
 * why (see {@linkcode SupervisorErrorReason}), `supervisorPid` names it
 * when it is known.
 *
 * @example
 * ```ts
 * import { stopService, SupervisorError } from "@pidkit/pidkit/service";
 * try {
 *   await stopService("web", { timeout: 5_000 });
 * } catch (err) {
 *   if (err instanceof SupervisorError && err.reason === "no-answer") {
 *     console.error(`supervisor ${err.supervisorPid} is stuck`);
 *   } else throw err;
 * }
 * ```
 */
export class SupervisorError extends PidkitError {
  /** Why. */
  readonly reason: SupervisorErrorReason;
  /** The run directory. */
  readonly dir: string;
  /** The supervisor's PID, when known. */
  readonly supervisorPid?: number;

  /** Create the error; `message` is the whole one-line text. */
  constructor(
    reason: SupervisorErrorReason,
    dir: string,
    message: string,
    supervisorPid?: number,
  ) {
    super(message);
    this.reason = reason;
    this.dir = dir;
    if (supervisorPid !== undefined) this.supervisorPid = supervisorPid;
  }
}
