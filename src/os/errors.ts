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

/**
 * Why a file could not be used; see {@linkcode FileError}.
 *
 * @example
 * ```ts
 * import { FileError, type FileErrorReason, probe } from "@pidkit/pidkit";
 * let why: FileErrorReason | undefined;
 * try {
 *   await probe("/tmp/app.pid");
 * } catch (err) {
 *   if (err instanceof FileError) why = err.reason;
 * }
 * console.log(why);
 * ```
 */
export type FileErrorReason =
  | "symlink"
  | "not-a-file"
  | "permission"
  | "bad-content"
  | "not-found"
  | "io";

/**
 * The former name of {@linkcode FileErrorReason}, kept so existing code
 * compiles.
 *
 * @example
 * ```ts
 * import type { PidFileErrorReason } from "@pidkit/pidkit";
 * const reason: PidFileErrorReason = "symlink";
 * console.log(reason);
 * ```
 */
export type PidFileErrorReason = FileErrorReason;

/**
 * A file or directory pidkit works with cannot be used: a PID file, a run
 * directory, a service's state file. It is a symlink, not a regular file
 * (or not a directory), not accessible, has content that is not what it
 * must hold, or an I/O error occurred. `reason` says which, `path` says
 * where.
 *
 * `PidFileError`, its name before 0.3, is the same class under its old name:
 * `instanceof` works with either.
 *
 * @example
 * ```ts
 * import { FileError, readPidFile } from "@pidkit/pidkit";
 * try {
 *   await readPidFile("/run/app.pid");
 * } catch (err) {
 *   if (err instanceof FileError && err.reason === "bad-content") {
 *     console.error(`ignoring ${err.path}: ${err.message}`);
 *   }
 * }
 * ```
 */
export class FileError extends PidkitError {
  /** The file concerned. */
  readonly path: string;
  /** What went wrong, as a stable machine-readable word. */
  readonly reason: FileErrorReason;

  /** Create the error; `message` is the whole one-line text. */
  constructor(path: string, reason: FileErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * The former name of {@linkcode FileError}: the very same class (not a
 * subclass), so `err instanceof PidFileError` and `err instanceof FileError`
 * always agree, and `new PidFileError(...)` still works.
 *
 * @example
 * ```ts
 * import { FileError, PidFileError, readPidFile } from "@pidkit/pidkit";
 * try {
 *   await readPidFile("/run/app.pid");
 * } catch (err) {
 *   if (err instanceof PidFileError) console.error(err.reason, err instanceof FileError); // true
 * }
 * ```
 */
export const PidFileError: typeof FileError = FileError;
/**
 * The former name of {@linkcode FileError}, as a type.
 *
 * @example
 * ```ts
 * import type { PidFileError } from "@pidkit/pidkit";
 * function describe(err: PidFileError): string {
 *   return `${err.path}: ${err.reason}`;
 * }
 * console.log(typeof describe);
 * ```
 */
export type PidFileError = FileError;

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
 * Bad input from a caller or a command line: an option or argument out of
 * range (the message names it and the value given: `timeout must be a
 * non-negative number, got -1`), a malformed retry schedule, an unknown
 * signal name, a bad duration or service name. The CLI exits with status 2
 * for these.
 *
 * @example
 * ```ts
 * import { PidFile, UsageError } from "@pidkit/pidkit";
 * try {
 *   await PidFile.acquire("/tmp/app.pid", { timeout: -1 });
 * } catch (err) {
 *   if (err instanceof UsageError) console.error(err.message); // "timeout must be a non-negative number, got -1"
 * }
 * ```
 */
export class UsageError extends PidkitError {}

/**
 * Why a process-tree operation failed; see {@linkcode TreeError}.
 *
 * - `"gone"`: {@linkcode attachTree} found nothing left of the tree (its
 *   leader exited or its PID now belongs to another process, and no member
 *   is left);
 * - `"bad-ref"`: a tree reference that spawnTree could not have recorded
 *   (a corrupt or forged state file); nothing is signalled through it;
 * - `"spawn-failed"`: the command could not be started (not found, not
 *   executable, the start gate could not be made);
 * - `"no-cgroup"`: cgroup tracking was asked for and no cgroup could be
 *   created;
 * - `"unsupported"`: this system or process cannot track trees: no `/proc`
 *   (not Linux, or Deno without `-A`), the `/proc` of another PID namespace,
 *   or no `setpriv(1)` for supplementary groups.
 *
 * @example
 * ```ts
 * import type { TreeErrorReason } from "@pidkit/pidkit/tree";
 * const reason: TreeErrorReason = "gone";
 * console.log(reason);
 * ```
 */
export type TreeErrorReason = "gone" | "bad-ref" | "spawn-failed" | "no-cgroup" | "unsupported";

/**
 * A process tree could not be started, attached or used; `reason` says why
 * (see {@linkcode TreeErrorReason}), the one-line message says it for
 * people. Match on `reason`, never on the message.
 *
 * @example
 * ```ts
 * import { attachTree, spawnTree, TreeError, type TreeRef } from "@pidkit/pidkit/tree";
 * const tree = await spawnTree(["sleep", "60"]);
 * const ref: TreeRef = tree.ref; // kept, say, in a file for another process
 * await tree.stop();
 * try {
 *   await attachTree(ref).stop();
 * } catch (err) {
 *   if (err instanceof TreeError && err.reason === "gone") console.log("already stopped");
 *   else throw err;
 * }
 * ```
 */
export class TreeError extends PidkitError {
  /** Why, as a stable machine-readable word. */
  readonly reason: TreeErrorReason;

  /** Create the error; `message` is the whole one-line text. */
  constructor(reason: TreeErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

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
