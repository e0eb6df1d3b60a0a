/**
 * Opening a PID file safely: steps 1 and 2 of the lock protocol
 * (docs/pid_files.md, "The lock protocol"), the check of step 4 that the
 * open file is still the one at the path, and the read-only opening of
 * probes and waiters. Symlinks are never followed.
 *
 * @module
 */

import { FileError } from "../os/errors.ts";
import { parentDir } from "../os/paths.ts";
import { fileError, notAFile, symlinkError } from "./_file_errors.ts";
import { writeThroughRisk } from "./_takeover.ts";

/** How often the file is re-opened when someone keeps swapping the path before giving up. */
export const MAX_REOPENS = 1000;

/** An open file and the identity it had when opened. */
export interface Held {
  file: Deno.FsFile;
  dev: number;
  ino: number;
}

/**
 * Steps 1 and 2: open the file without following a symlink, creating it if
 * needed, in a form Deno can lock; make sure the open file is the regular
 * file the path names now.
 *
 * `createNew` (O_CREAT|O_EXCL) never follows a symlink, not even a dangling
 * one (POSIX: it fails with EEXIST), so a new file is created safely. An
 * existing path is checked with lstat, opened without `create`, and its
 * identity compared with a fresh lstat, which catches a symlink swapped in
 * between the two. (`node:fs` with O_NOFOLLOW would do the same, but
 * importing it costs a one-shot CLI about 50 ms of start-up.)
 */
export function openForOwner(path: string, mode: number): Held {
  for (let i = 0;; i++) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, createNew: true, mode });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        const existing = openRegular(path, true);
        if (existing === undefined && i < MAX_REOPENS) continue; // removed meanwhile
        if (existing === undefined) throw fileError(path, err, "open");
        file = existing.file;
      } else if (err instanceof Deno.errors.NotFound && i === 0) {
        makeParent(path);
        continue;
      } else {
        throw fileError(path, err, "create");
      }
    }
    const st = file.statSync();
    const unsafe = !st.isFile ? notAFile(path) : writeThroughRisk(st, path);
    if (unsafe) {
      file.close();
      throw unsafe;
    }
    const held = { file, dev: st.dev, ino: st.ino ?? 0 };
    if (isAtPath(held, path)) return held;
    file.close();
    if (i >= MAX_REOPENS) {
      throw new FileError(path, "io", `${path} keeps being replaced while opening; try again`);
    }
  }
}

/**
 * lstat `path` and, if it is a regular file, open it without following a
 * symlink's target (read-only, or read-write for an owner). `undefined` when
 * nothing is there (or it vanished meanwhile), and, for readers, when a
 * dangling symlink is there: that is no PID file, though acquire refuses it.
 * The caller compares the open file's identity with a fresh lstat.
 */
function openRegular(
  path: string,
  write: boolean,
): { file: Deno.FsFile; link: Deno.FileInfo } | undefined {
  let link: Deno.FileInfo;
  try {
    link = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fileError(path, err, "stat");
  }
  if (link.isSymlink) {
    if (!write && !targetExists(path)) return undefined;
    throw symlinkError(path);
  }
  if (!link.isFile) throw notAFile(path);
  try {
    return { file: Deno.openSync(path, { read: true, write }), link };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fileError(path, err, "open");
  }
}

/** Create the parent directory of `path` (mode 0755) when it is missing. */
function makeParent(path: string): void {
  try {
    Deno.mkdirSync(parentDir(path), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw fileError(parentDir(path), err, "create the directory");
  }
}

/**
 * Whether `held` is (still) the file at `path`: linked, and `lstat(path)`
 * gives a regular file with the same device and inode. Throws "symlink" when
 * a symlink has taken the path.
 */
export function isAtPath(held: Held, path: string): boolean {
  const st = held.file.statSync();
  if (st.nlink === 0) return false;
  let link: Deno.FileInfo;
  try {
    link = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw fileError(path, err, "stat");
  }
  if (link.isSymlink) throw symlinkError(path);
  return link.isFile && link.dev === held.dev && link.ino === held.ino;
}

/**
 * Open `path` read-only for a reader, refusing symlinks and anything but a
 * regular file (opening a FIFO would block). `undefined` when there is none.
 */
export function openForReader(path: string): Held | undefined {
  for (let i = 0;; i++) {
    const opened = openRegular(path, false);
    if (opened === undefined) return undefined;
    const { file, link } = opened;
    const st = file.statSync();
    if (st.dev === link.dev && st.ino === link.ino) return { file, dev: st.dev, ino: st.ino ?? 0 };
    file.close(); // replaced between lstat and open: look again
    if (i >= MAX_REOPENS) {
      throw new FileError(path, "io", `${path} keeps being replaced while opening; try again`);
    }
  }
}

function targetExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
