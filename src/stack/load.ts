/**
 * Finding and reading a declaration: `pidkit.jsonc` or `pidkit.json` in a
 * directory (or a path given), else a `Procfile` (with the `.env` beside
 * it), parsed, validated and resolved.
 *
 * @module
 */

import { absolutePath, parentDir } from "../os/paths.ts";
import { parseEnvFile } from "./env_file.ts";
import { parseJsonc } from "./jsonc.ts";
import { parseProcfile } from "./procfile.ts";
import { type ResolvedStack, resolveStack } from "./resolve.ts";
import { inFile, StackError } from "./stack_error.ts";
import { validateStack } from "./validate.ts";
import { findStackFile, isProcfileName } from "./stack_file.ts";

export { findStackFile, STACK_FILE_NAMES } from "./stack_file.ts";

/**
 * Options of {@linkcode loadStack}.
 *
 * @example
 * ```ts
 * import type { LoadStackOptions } from "./load.ts";
 * const options: LoadStackOptions = { file: "Procfile", formation: "web=2" };
 * console.log(options);
 * ```
 */
export interface LoadStackOptions {
  /** The file to read (`-c`); default: found in `cwd` by {@linkcode findStackFile}. */
  file?: string;
  /** Where to look when no file is given (default the working directory). */
  cwd?: string;
  /** Procfile mode: the formation (`web=2,worker=3`). */
  formation?: string;
  /** Read `file` as a Procfile whatever its name (`--procfile`). */
  procfile?: boolean;
}

/**
 * A loaded declaration: the resolved services, which file they came from,
 * whether it was a Procfile, and the Procfile entries a formation left out.
 *
 * @example
 * ```ts
 * import type { LoadedStack } from "./load.ts";
 * const loaded: LoadedStack = { kind: "jsonc", file: "/srv/pidkit.jsonc", stack: { base: "/srv", services: [] }, skipped: [] };
 * console.log(loaded.file);
 * ```
 */
export interface LoadedStack {
  /** `"jsonc"` (a pidkit.json(c) or any other file given) or `"procfile"`. */
  kind: "jsonc" | "procfile";
  /** The absolute path of the file read. */
  file: string;
  /** The resolved declaration. */
  stack: ResolvedStack;
  /** Procfile entries at 0 instances. */
  skipped: string[];
}

/**
 * Find (or take), read, validate and resolve a declaration. A file whose
 * name is `Procfile` (or ends in `.procfile`) is read as one. Throws
 * {@linkcode StackError}: `not-found` when there is no file, else what the
 * file is wrong with.
 *
 * @example
 * ```ts
 * import { loadStack } from "./load.ts";
 * const { file, stack } = await loadStack({ cwd: "/srv/app" });
 * console.log(file, stack.services.length);
 * ```
 */
export async function loadStack(options: LoadStackOptions = {}): Promise<LoadedStack> {
  const cwd = options.cwd ?? Deno.cwd();
  const file = options.file !== undefined ? absolutePath(options.file, cwd) : findStackFile(cwd);
  if (file === undefined) {
    throw new StackError(
      "not-found",
      "",
      `no pidkit.jsonc, pidkit.json or Procfile in ${cwd} (give one with -c FILE)`,
    );
  }
  const text = await readFile(file);
  const base = parentDir(file);
  if (options.procfile || isProcfileName(file)) {
    const envPath = absolutePath(".env", base);
    let env: Record<string, string> = {};
    let envText: string | null = null;
    try {
      envText = await Deno.readTextFile(envPath);
      env = parseEnvFile(envText, envPath, ".env");
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const source = {
      kind: `procfile:${options.formation ?? ""}`,
      text,
      envFiles: [[envPath, envText]] as [string, string | null][],
    };
    try {
      const { declaration, skipped } = parseProcfile(text, {
        file,
        env,
        ...(options.formation !== undefined ? { formation: options.formation } : {}),
      });
      const stack = await resolveStack(declaration);
      return {
        kind: "procfile",
        file,
        stack: { ...stack, source },
        skipped,
      };
    } catch (err) {
      throw inFile(err, file);
    }
  }
  try {
    const declaration = validateStack(parseJsonc(text, file), file);
    // the env files as resolution reads them, for the stamp of a complete up (see up_stamp.ts)
    const read: [string, string][] = [];
    const stack = await resolveStack(declaration, { readTextFile: recordingReader(read) });
    return {
      kind: "jsonc",
      file,
      stack: { ...stack, source: { kind: "jsonc", text, envFiles: read } },
      skipped: [],
    };
  } catch (err) {
    throw inFile(err, file);
  }
}

async function readFile(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new StackError("not-found", "", `cannot read: ${why}`, { file });
  }
}

/** `Deno.readTextFileSync` that keeps each path and content read in `into`. */
function recordingReader(into: [string, string][]): (path: string) => string {
  return (path) => {
    const content = Deno.readTextFileSync(path);
    into.push([path, content]);
    return content;
  };
}
