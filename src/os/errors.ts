/**
 * Error classes shared by the library and the CLI.
 *
 * Every error pidkit throws for an expected condition is one of these, with a
 * one-line message that names the file or process concerned, so callers (and
 * the CLI) can print `err.message` as it is.
 *
 * @module
 */

/**
 * Base class of every error pidkit throws on purpose.
 *
 * @example
 * ```ts
 * import { PidkitError, probe } from "@pidkit/pidkit";
 * try {
 *   await probe("/run/app.pid");
 * } catch (err) {
 *   if (err instanceof PidkitError) console.error(err.message);
 *   else throw err;
 * }
 * ```
 */
export class PidkitError extends Error {
  /** Create an error with a one-line message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a PID file could not be used; see {@linkcode PidFileError}. */
export type PidFileErrorReason =
  | "symlink"
  | "not-a-file"
  | "permission"
  | "bad-content"
  | "not-found"
  | "io";

/**
 * A PID file (or its directory) cannot be used: it is a symlink, not a
 * regular file, not accessible, has content that is not a PID record, or an
 * I/O error occurred. `reason` says which, `path` says where.
 *
 * @example
 * ```ts
 * import { PidFileError, readPidFile } from "@pidkit/pidkit";
 * try {
 *   await readPidFile("/run/app.pid");
 * } catch (err) {
 *   if (err instanceof PidFileError && err.reason === "bad-content") {
 *     console.error(`ignoring ${err.path}: ${err.message}`);
 *   }
 * }
 * ```
 */
export class PidFileError extends PidkitError {
  /** The file concerned. */
  readonly path: string;
  /** What went wrong, as a stable machine-readable word. */
  readonly reason: PidFileErrorReason;

  /** Create the error; `message` is the whole one-line text. */
  constructor(path: string, reason: PidFileErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Another process holds the lock on the PID file: the program is already
 * running. `pid` is the holder's PID when it could be found.
 *
 * @example
 * ```ts
 * import { AlreadyRunningError, PidFile } from "@pidkit/pidkit";
 * try {
 *   await using _pid = await PidFile.acquire("/tmp/app.pid");
 * } catch (err) {
 *   if (err instanceof AlreadyRunningError) {
 *     console.error(err.message); // "/tmp/app.pid is held by pid 1234: already running"
 *     Deno.exit(1);
 *   }
 *   throw err;
 * }
 * ```
 */
export class AlreadyRunningError extends PidkitError {
  /** The PID file. */
  readonly path: string;
  /** The holder's PID, when known. */
  readonly pid: number | undefined;

  /** Create the error for `path`, held by `pid`. */
  constructor(path: string, pid: number | undefined, options?: ErrorOptions) {
    super(
      pid === undefined
        ? `${path} is locked by another process: already running`
        : `${path} is held by pid ${pid}: already running`,
      options,
    );
    this.path = path;
    this.pid = pid;
  }
}

/**
 * Bad input from a caller or a command line: a malformed retry schedule, an
 * unknown signal name, a bad duration or service name. The CLI exits with
 * status 2 for these.
 *
 * @example
 * ```ts
 * import { parseRetry, UsageError } from "@pidkit/pidkit";
 * try {
 *   parseRetry("TERM/abc");
 * } catch (err) {
 *   if (err instanceof UsageError) console.error(err.message);
 * }
 * ```
 */
export class UsageError extends PidkitError {}

/**
 * The first line of an error's message (or of the value thrown), for the
 * one-line reports pidkit gives.
 *
 * @example
 * ```ts
 * import { messageLine } from "./errors.ts";
 * console.log(messageLine(new Error("disk full\n    at write")));  // "disk full"
 * ```
 */
export function messageLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
