/**
 * Where a declaration is: `pidkit.jsonc` or `pidkit.json` in a directory,
 * else a `Procfile`; and which names are read as a Procfile. Apart from
 * load.ts so that `up` with nothing to do finds its file without loading
 * validation.
 *
 * @module
 */

import { absolutePath } from "../os/paths.ts";

/**
 * The file names looked for in a directory, in order.
 *
 * @example
 * ```ts
 * import { STACK_FILE_NAMES } from "./stack_file.ts";
 * console.log(STACK_FILE_NAMES[0]); // "pidkit.jsonc"
 * ```
 */
export const STACK_FILE_NAMES: readonly string[] = ["pidkit.jsonc", "pidkit.json"];

/**
 * The declaration file of directory `dir`: `pidkit.jsonc`, else
 * `pidkit.json`, else `Procfile`; `undefined` when there is none.
 *
 * @example
 * ```ts
 * import { findStackFile } from "./stack_file.ts";
 * console.log(findStackFile(Deno.cwd()) ?? "no pidkit.jsonc, pidkit.json or Procfile here");
 * ```
 */
export function findStackFile(dir: string): string | undefined {
  for (const name of [...STACK_FILE_NAMES, "Procfile"]) {
    const path = absolutePath(name, dir);
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not there */ }
  }
  return undefined;
}

/**
 * Whether `file` is read as a Procfile by its name (`Procfile`, `*.procfile`).
 *
 * @example
 * ```ts
 * import { isProcfileName } from "./stack_file.ts";
 * isProcfileName("/srv/app/Procfile"); // true
 * ```
 */
export function isProcfileName(file: string): boolean {
  return /(^|\/)Procfile$|\.procfile$/i.test(file);
}
