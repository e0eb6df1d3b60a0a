/**
 * The reading commands' first look at the run directory: one the caller may
 * not enter (another user's 0700 directory, root's `/run/pidkit`) is one
 * line naming it, `cannot read run dir DIR: permission denied`, which the
 * command exits 4 for (refused), as `status` does, instead of a message
 * about some file inside it.
 *
 * @module
 */

import { FileError } from "../os/errors.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";

/**
 * Resolve the run directory (`dir`, else the default) and make sure the
 * caller may enter it: a directory it may not search throws
 * {@linkcode FileError} (reason `"permission"`); a missing one is left to
 * the command (nothing runs there). Never creates it.
 *
 * @example
 * ```ts
 * import { enterableRunDir } from "./run_dir_access.ts";
 * const dir = enterableRunDir(undefined); // throws when it is another user's 0700 directory
 * console.log(dir);
 * ```
 */
export function enterableRunDir(dir: string | undefined): string {
  const runDir = resolveRunDir({ dir });
  try {
    // `DIR/.` needs search permission on DIR, as every file in it does.
    Deno.statSync(`${runDir}/.`);
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new FileError(runDir, "permission", `cannot read run dir ${runDir}: permission denied`);
    }
    // Missing, not a directory: the command says so as it always did.
  }
  return runDir;
}
