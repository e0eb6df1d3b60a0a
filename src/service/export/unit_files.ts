/**
 * Writing exported unit files into a directory: every file checked before
 * any is written, so a refusal leaves the directory as it was; a file that
 * already holds the same text is left alone; one that holds other text is
 * replaced only when forced. Each file is written atomically with its own
 * mode (units 0644, environment files 0600).
 *
 * @module
 */

import { messageLine, PidkitError } from "../../os/errors.ts";
import { writeFileAtomic } from "../../os/atomic_write.ts";

/**
 * One file to write.
 *
 * @example
 * ```ts
 * import type { UnitFile } from "./unit_files.ts";
 * const f: UnitFile = { name: "web.service", text: "[Unit]\n", mode: 0o644 };
 * console.log(f.name);
 * ```
 */
export interface UnitFile {
  /** Its name in the directory. */
  name: string;
  /** Its content. */
  text: string;
  /** Its permission bits. */
  mode: number;
}

/**
 * What became of one file: `wrote` (new), `updated` (other text replaced,
 * forced), `unchanged` (the same text was there).
 *
 * @example
 * ```ts
 * import type { UnitFileResult } from "./unit_files.ts";
 * const r: UnitFileResult = { path: "/tmp/units/web.service", action: "wrote" };
 * console.log(r.action);
 * ```
 */
export interface UnitFileResult {
  /** The file's path. */
  path: string;
  /** What was done. */
  action: "wrote" | "updated" | "unchanged";
}

/**
 * Write `files` into `dir` (made when missing). Throws
 * {@linkcode PidkitError} naming the first file that holds other text when
 * `force` is not set, before anything is written, and one naming the file
 * it cannot write (a directory the caller may not write in: nothing
 * written).
 *
 * @example
 * ```ts
 * import { writeUnitFiles } from "./unit_files.ts";
 * const dir = await Deno.makeTempDir();
 * const results = await writeUnitFiles(dir, [{ name: "web.service", text: "[Unit]\n", mode: 0o644 }]);
 * console.log(results[0].action); // "wrote"
 * ```
 */
export async function writeUnitFiles(
  dir: string,
  files: UnitFile[],
  options: { force?: boolean } = {},
): Promise<UnitFileResult[]> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    throw cannotWrite(dir, err, 0);
  }
  const before = new Map<string, string | undefined>();
  for (const f of files) {
    const path = `${dir}/${f.name}`;
    const text = readIfThere(path);
    if (text !== undefined && text !== f.text && options.force !== true) {
      throw new PidkitError(
        `${path} exists with other content; nothing written (--force replaces it)`,
      );
    }
    before.set(path, text);
  }
  const results: UnitFileResult[] = [];
  for (const f of files) {
    const path = `${dir}/${f.name}`;
    const text = before.get(path);
    if (text === f.text) {
      // the same text, but the mode is part of it for an environment file
      await Deno.chmod(path, f.mode);
      results.push({ path, action: "unchanged" });
      continue;
    }
    try {
      await writeFileAtomic(path, f.text, { mode: f.mode });
    } catch (err) {
      throw cannotWrite(path, err, results.length);
    }
    results.push({ path, action: text === undefined ? "wrote" : "updated" });
  }
  return results;
}

// One line instead of Deno's stack trace; the files are all in one directory, so
// the first write is the one that fails.
function cannotWrite(path: string, err: unknown, done: number): PidkitError {
  const why = err instanceof Deno.errors.PermissionDenied ? "permission denied" : messageLine(err);
  const tail = done === 0 ? "nothing written" : `${done} file(s) done before it`;
  return new PidkitError(`cannot write ${path}: ${why}; ${tail}`, { cause: err });
}

function readIfThere(path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new PidkitError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (!info.isFile) throw new PidkitError(`${path} is not a regular file; nothing written`);
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    throw new PidkitError(`cannot read ${path}: ${(err as Error).message}`);
  }
}
