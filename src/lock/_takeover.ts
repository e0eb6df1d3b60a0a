/**
 * When taking a file over would be unsafe: a file that is not a PID file
 * (step 5 of the lock protocol, docs/pid_files.md), or one whose writes could
 * reach somebody else's file (a hard link, or a file planted by another user
 * in a world-writable directory).
 *
 * @module
 */

import { FileError } from "../os/errors.ts";
import { parentDir } from "../os/paths.ts";
import { readContent } from "./_record_io.ts";
import { takeoverRefusal } from "./record.ts";

/**
 * Why writing to the opened file `st` could write through to a file that is
 * not a PID file, or `undefined` when it is safe. A PID file never has a
 * second name: a hard link would let a third party point the path at any
 * file (an owner of a world-writable directory, or anyone where
 * fs.protected_hardlinks is 0, can link root's files there) and have us
 * truncate it. And a file another user owns in a directory others may write
 * (a sticky /tmp) was planted by them: taking it over would let them edit
 * the PID we write or hold its lock from the start.
 */
export function writeThroughRisk(st: Deno.FileInfo, path: string): FileError | undefined {
  if (st.nlink !== null && st.nlink > 1) {
    return new FileError(
      path,
      "not-a-file",
      `${path} has ${st.nlink} hard links; refusing to write through it (remove it, or choose another path)`,
    );
  }
  if (st.uid === null) return undefined;
  let uid: number | null;
  try {
    uid = Deno.uid();
  } catch {
    return undefined; // no --allow-sys: cannot tell who we are; the kernel's checks stand
  }
  if (uid === null || st.uid === uid) return undefined;
  let parentMode: number | null = null;
  try {
    parentMode = Deno.statSync(parentDir(path)).mode;
  } catch { /* checked again when the file is locked */ }
  if (parentMode !== null && (parentMode & 0o002) !== 0) {
    return new FileError(
      path,
      "permission",
      `${path} belongs to uid ${st.uid} in a world-writable directory; refusing to take it over ` +
        `(remove it, or use a directory only you can write)`,
    );
  }
  return undefined;
}

/**
 * Step 5: throw a `"bad-content"` {@linkcode FileError} when the locked file
 * holds something that is not a PID file left by a crash (never clobber a
 * stranger's file); see `takeoverRefusal` in record.ts for the rule.
 */
export function refuseForeignContent(file: Deno.FsFile, path: string): void {
  const refusal = takeoverRefusal(readContent(file, path));
  if (refusal) {
    throw new FileError(
      path,
      "bad-content",
      `${path} is not a PID file: ${refusal}; pidkit will not overwrite it ` +
        `(remove it if it is a stale PID file)`,
    );
  }
}
