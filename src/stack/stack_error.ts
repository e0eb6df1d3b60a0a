/**
 * The one error of a declaration: a `pidkit.jsonc` (or Procfile, or env
 * file) that cannot be read, parsed or accepted. It carries the JSON path
 * of what is wrong (`services.web.ready.tcp`) and, for syntax errors, the
 * line and column, so a caller (and `pidkit check`) says exactly where.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";

/**
 * What kind of mistake a {@linkcode StackError} reports:
 * - `"syntax"`: the file is not JSON(C) (line and column given);
 * - `"unknown-field"`: a field pidkit does not know (with a "did you mean");
 * - `"type"`: a field of the wrong JSON type;
 * - `"value"`: a well-typed value pidkit refuses (a bad duration or size...);
 * - `"dependency"`: `dependsOn` names a service the file does not declare;
 * - `"cycle"`: `dependsOn` forms a cycle (the message prints it);
 * - `"duplicate"`: two services with one name after instance expansion;
 * - `"env-file"`: an env file that is missing, unreadable or malformed;
 * - `"procfile"`: a Procfile line pidkit cannot read;
 * - `"not-found"`: no declaration file where one was looked for.
 *
 * @example
 * ```ts
 * import type { StackErrorReason } from "./stack_error.ts";
 * const reason: StackErrorReason = "cycle";
 * console.log(reason);
 * ```
 */
export type StackErrorReason =
  | "syntax"
  | "unknown-field"
  | "type"
  | "value"
  | "dependency"
  | "cycle"
  | "duplicate"
  | "env-file"
  | "procfile"
  | "not-found";

/**
 * Where a {@linkcode StackError} is, beyond its JSON path.
 *
 * @example
 * ```ts
 * import type { StackErrorWhere } from "./stack_error.ts";
 * const where: StackErrorWhere = { file: "/srv/pidkit.jsonc", line: 3, column: 5 };
 * console.log(where);
 * ```
 */
export interface StackErrorWhere {
  /** The file (declaration, env file or Procfile) the error is in. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`. */
  column?: number;
}

/**
 * A declaration pidkit refuses. A {@linkcode UsageError}, so the CLI exits 2
 * with its one-line message, which starts with the JSON path (`path`) or
 * the file position. Match on `reason` and `path`, never on the message.
 *
 * @example
 * ```ts
 * import { StackError } from "./stack_error.ts";
 * const err = new StackError("value", "services.web.restartDelay", "bad duration 'soon'");
 * console.log(err.message); // "services.web.restartDelay: bad duration 'soon'"
 * ```
 */
export class StackError extends UsageError {
  /** What kind of mistake, as a stable word. */
  readonly reason: StackErrorReason;
  /** The JSON path of the offending value (`""`: the whole file). */
  readonly path: string;
  /** The file the error is in, when known. */
  readonly file?: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /** What is wrong, without the file and path. */
  readonly detail: string;

  /** Create the error; `detail` says what is wrong, without the path. */
  constructor(reason: StackErrorReason, path: string, detail: string, where: StackErrorWhere = {}) {
    super(`${prefixOf(path, where)}${detail}`);
    this.reason = reason;
    this.path = path;
    this.detail = detail;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}

/**
 * `err` with `file` named, when it names no file yet (a validation error
 * of a file read from disk); anything else unchanged.
 *
 * @example
 * ```ts
 * import { inFile, StackError } from "./stack_error.ts";
 * const err = inFile(new StackError("value", "services.web.cmd", "must not be empty"), "/srv/pidkit.jsonc");
 * console.log(err instanceof Error && err.message); // "/srv/pidkit.jsonc: services.web.cmd: must not be empty"
 * ```
 */
export function inFile(err: unknown, file: string): unknown {
  if (!(err instanceof StackError) || err.file !== undefined) return err;
  return new StackError(err.reason, err.path, err.detail, { file });
}

function prefixOf(path: string, where: StackErrorWhere): string {
  const position = where.file === undefined
    ? ""
    : `${where.file}${where.line !== undefined ? `:${where.line}` : ""}${
      where.column !== undefined ? `:${where.column}` : ""
    }`;
  return [position, path].filter((s) => s !== "").map((s) => `${s}: `).join("");
}

/**
 * A JSON path one step further: `joinPath("services", "web")` is
 * `services.web`; a key that is not an identifier is quoted
 * (`services["my app"]`), an index is bracketed (`envFile[1]`).
 *
 * @example
 * ```ts
 * import { joinPath } from "./stack_error.ts";
 * joinPath("services.web", "ready"); // "services.web.ready"
 * joinPath("services.web.envFile", 1); // "services.web.envFile[1]"
 * ```
 */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}
