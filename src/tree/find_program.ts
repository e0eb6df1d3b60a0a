/**
 * Finding a program the way the shell that runs it will (on `PATH`, or by
 * its path), so a missing or non-executable program is a clear error up
 * front rather than a leader that dies with status 127; and `setpriv(1)`
 * from fixed system directories.
 *
 * @module
 */

import { TreeError } from "../os/errors.ts";

/** dash's built-in search path when `PATH` is unset. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Check that `program` can be run as the shell will find it; throws a `"spawn-failed"` {@linkcode TreeError} when not. */
export function checkProgram(
  program: string,
  options: { path?: string; cwd?: string },
): void {
  findProgram(program, options);
}

/**
 * The absolute path the shell runs for `program` (looked up on `options.path`
 * when it has no `/`, else made absolute against `options.cwd`); throws a
 * `"spawn-failed"` {@linkcode TreeError} when there is none it can run.
 *
 * @example
 * ```ts
 * import { findProgram } from "./find_program.ts";
 * findProgram("sh", { path: "/usr/bin:/bin" }); // "/usr/bin/sh"
 * ```
 */
export function findProgram(
  program: string,
  options: { path?: string; cwd?: string },
): string {
  if (program === "") throw new TreeError("spawn-failed", "cannot start an empty command name");
  const cwd = options.cwd ?? Deno.cwd();
  if (program.includes("/")) {
    const abs = program.startsWith("/") ? program : `${cwd}/${program}`;
    const problem = executableProblem(abs);
    if (problem === undefined) return abs;
    throw new TreeError("spawn-failed", `cannot start ${program}: ${problem}`);
  }
  const path = options.path ?? DEFAULT_PATH;
  let denied: string | undefined;
  for (const dir of path.split(":")) {
    const base = dir === "" ? cwd : dir.startsWith("/") ? dir : `${cwd}/${dir}`;
    const problem = executableProblem(`${base}/${program}`);
    if (problem === undefined) return `${base}/${program}`;
    if (problem !== "no such file") denied ??= `${base}/${program}: ${problem}`;
  }
  throw new TreeError(
    "spawn-failed",
    denied !== undefined
      ? `cannot start ${program}: ${denied}`
      : `cannot start ${program}: command not found in PATH (${path})`,
  );
}

/** Why `path` cannot be executed, or undefined when it can (as far as mode bits say). */
function executableProblem(path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return "no such file";
    }
    if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
    throw err;
  }
  if (info.isDirectory) return "is a directory";
  if (((info.mode ?? 0) & 0o111) === 0) return "not executable (permission denied)";
  return undefined;
}

/**
 * `setpriv(1)`, from fixed system directories only: a supervisor running as
 * root must not run whatever a `PATH` entry offers under that name.
 */
export function findSetpriv(): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    if (executableProblem(`${dir}/setpriv`) === undefined) return `${dir}/setpriv`;
  }
  return undefined;
}
