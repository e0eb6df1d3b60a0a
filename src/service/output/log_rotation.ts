/**
 * Size-capped logs (`--log-max-size SIZE`, `--log-keep N`): when NAME.log
 * would grow past SIZE it becomes NAME.log.1 (.1 becomes .2, and so on;
 * the oldest beyond N is dropped) and a new NAME.log begins. Cuts fall
 * between lines: a line that began in one file ends there (a file may run
 * over SIZE by less than one line); only a line longer than SIZE itself is
 * split.
 *
 * @module
 */

/** The rotation limits of one log. */
export interface LogRotation {
  /** Rotate when the file would grow past this many bytes. */
  maxBytes: number;
  /** Rotated files kept (NAME.log.1 to NAME.log.N); 0 keeps none. */
  keep: number;
}

// The limits are checked by `start` without this module (its start-up cost):
// src/service/output/log_limits.ts. Re-exported here, where they were first.
export { DEFAULT_LOG_KEEP, MIN_LOG_BYTES, parseSize } from "./log_limits.ts";

/** Where a log file stands: its size and the length of its unfinished last line. */
export interface LogPosition {
  /** Bytes in the file. */
  size: number;
  /** Bytes after the file's last newline (0: it ends at a line boundary). */
  lineLength: number;
}

/** One write of a planned sequence; `rotateBefore`: rotate the file first. */
export interface PlannedWrite {
  /** Rotate before writing these bytes. */
  rotateBefore: boolean;
  /** The bytes. */
  bytes: Uint8Array;
}

const NL = 10;

/**
 * Plan how to append `bytes` to a log at `at` without passing `maxBytes`
 * except to finish a line, and without splitting a line unless it is
 * longer than `maxBytes`. Updates `at` to where the log will stand.
 *
 * @example
 * ```ts
 * import { planWrites } from "./log_rotation.ts";
 * const at = { size: 1000, lineLength: 0 };
 * const plan = planWrites(new TextEncoder().encode("a\nb\n"), at, 1001);
 * console.log(plan.map((p) => p.rotateBefore)); // [false, true]: "a\n" fits, "b\n" starts a new file
 * ```
 */
export function planWrites(bytes: Uint8Array, at: LogPosition, maxBytes: number): PlannedWrite[] {
  const out: PlannedWrite[] = [];
  let rotate = false;
  let rest = bytes;
  const emit = (n: number, rotateAfter: boolean) => {
    const piece = rest.subarray(0, n);
    out.push({ rotateBefore: rotate, bytes: piece });
    rest = rest.subarray(n);
    const nl = piece.lastIndexOf(NL);
    at.size += n;
    at.lineLength = nl < 0 ? at.lineLength + n : n - nl - 1;
    rotate = rotateAfter;
    if (rotateAfter) at.size = at.lineLength = 0;
  };
  while (rest.length > 0) {
    const room = maxBytes - at.size;
    if (rest.length <= room) {
      emit(rest.length, false);
      break;
    }
    const cut = room > 0 ? rest.subarray(0, room).lastIndexOf(NL) : -1;
    if (cut >= 0) {
      emit(cut + 1, true); // whole lines fit; the next one starts a new file
      continue;
    }
    if (at.lineLength === 0 && at.size > 0) {
      rotate = true; // the next line starts a new file
      at.size = 0;
      continue;
    }
    // The file ends in the middle of a line (or is empty): the line stays
    // in it if the whole line is no longer than maxBytes.
    const nl = rest.indexOf(NL);
    const piece = nl >= 0 ? nl + 1 : rest.length;
    if (at.lineLength + piece <= maxBytes) {
      emit(piece, nl >= 0);
      continue;
    }
    // A line longer than maxBytes: split it.
    if (maxBytes > at.lineLength) emit(maxBytes - at.lineLength, true);
    else {
      rotate = true;
      at.size = at.lineLength = 0;
    }
  }
  return out;
}

/** `PATH.N`, the Nth kept file of the log at `path`. */
export function rotatedPath(path: string, n: number): string {
  return `${path}.${n}`;
}

/** The name a rotation stages a file under before renaming it into place. */
function stagingPath(path: string): string {
  return `${path}.rotating`;
}

/**
 * Shift the kept files (`PATH.N-1` to `PATH.N`, ..., `PATH` to `PATH.1`),
 * drop what is beyond `keep` and put a new empty file at `PATH`.
 *
 * Crash-safe: a process killed at any point leaves a dense numbering
 * (`PATH.1` to `PATH.M`, no hole) and every line in some file. Each step
 * hard-links `PATH.K` to a staging name and renames that over `PATH.K+1`
 * (rename replaces atomically), so until the next step `PATH.K` and
 * `PATH.K+1` are one file: never a hole, at worst a twin, which
 * {@linkcode finishRotation} resolves by doing the steps that are left. The
 * new `PATH` is made under the staging name and renamed over the old one.
 *
 * Synchronous: a rotation is a few metadata calls (about 3 per kept
 * file), each far cheaper done at once than handed to a thread.
 *
 * @example
 * ```ts
 * import { rotateLogFiles } from "./log_rotation.ts";
 * Deno.writeTextFileSync("/tmp/demo.log", "a line\n");
 * rotateLogFiles("/tmp/demo.log", 5); // demo.log.1 holds "a line"; demo.log is empty
 * ```
 */
export function rotateLogFiles(path: string, keep: number): void {
  const present = removeBeyond(path, keep);
  shiftFrom(path, Math.min(present, keep - 1), keep);
}

/**
 * Finish a rotation of the log at `path` that a killed process left half
 * done (see {@linkcode rotateLogFiles}): where `PATH.K` and `PATH.K+1` are
 * one file, the steps from K-1 down to the new `PATH` are done; where
 * `PATH` and `PATH.1` are one file, only the new `PATH`. Nothing to finish:
 * nothing changes (a stray staging file goes). Returns whether it finished
 * one.
 *
 * @example
 * ```ts
 * import { finishRotation } from "./log_rotation.ts";
 * console.log(finishRotation("/tmp/demo.log")); // false: nothing was cut short
 * ```
 */
export function finishRotation(path: string): boolean {
  removeIfThere(stagingPath(path));
  let previous = inode(path);
  if (previous === undefined) return false;
  for (let k = 1;; k++) {
    const current = inode(rotatedPath(path, k));
    if (current === undefined) return false;
    if (current === previous) {
      // PATH.K-1 (PATH for K = 1) was copied to PATH.K: go on from K-2.
      shiftFrom(path, k - 2, Infinity);
      return true;
    }
    previous = current;
  }
}

/** Remove `PATH.N` beyond `keep`, highest first (so no hole opens); how many are left. */
function removeBeyond(path: string, keep: number): number {
  let top = 0;
  while (inode(rotatedPath(path, top + 1)) !== undefined) top++;
  for (let n = top; n > keep; n--) Deno.removeSync(rotatedPath(path, n));
  return Math.min(top, keep);
}

/** Steps K = from down to 1 (`PATH.K` onto `PATH.K+1`), then `PATH` onto `PATH.1` and a new `PATH`. */
function shiftFrom(path: string, from: number, keep: number): void {
  const staging = stagingPath(path);
  removeIfThere(staging); // each rename below takes it away again
  for (let k = from; k >= 0; k--) {
    if (k + 1 > keep) continue;
    Deno.linkSync(k === 0 ? path : rotatedPath(path, k), staging);
    Deno.renameSync(staging, rotatedPath(path, k + 1));
  }
  const old = Deno.statSync(path);
  Deno.openSync(staging, { write: true, createNew: true, mode: (old.mode ?? LOG_MODE) & 0o777 })
    .close();
  // And its group: a --user service's log is its user's group's (log_sink.ts).
  if (Deno.uid() === 0 && old.gid !== null && old.gid !== Deno.gid()) {
    try {
      Deno.chownSync(staging, null, old.gid);
    } catch { /* the new log is the supervisor's group's */ }
  }
  Deno.renameSync(staging, path);
}

/** The mode a new log file gets when the old one's is unknown. */
const LOG_MODE = 0o640;

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function inode(path: string): number | undefined {
  try {
    return Deno.lstatSync(path).ino ?? undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Every numbered file of the log at `path` (`PATH.N`, any N), newest
 * first, and the numbers missing between them (a hole someone else made:
 * pidkit's rotation leaves none).
 *
 * @example
 * ```ts
 * import { logSeries } from "./log_rotation.ts";
 * const { files, missing } = logSeries("/run/pidkit/web.log");
 * console.log(files, missing); // e.g. ["/run/pidkit/web.log.1", "/run/pidkit/web.log.3"] [2]
 * ```
 */
export function logSeries(path: string): { files: string[]; missing: number[] } {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const prefix = `${path.slice(slash + 1)}.`;
  const numbers: number[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.startsWith(prefix)) continue;
      const n = e.name.slice(prefix.length);
      if (/^[1-9]\d{0,8}$/.test(n) && !e.isDirectory) numbers.push(Number(n));
    }
  } catch { /* no dir: no files */ }
  numbers.sort((a, b) => a - b);
  const missing: number[] = [];
  let expect = 1;
  for (const n of numbers) {
    while (expect < n) missing.push(expect++);
    expect = n + 1;
  }
  return { files: numbers.map((n) => rotatedPath(path, n)), missing };
}

/**
 * The kept files of the log at `path` that exist, newest first
 * (`PATH.1`, `PATH.2`, ...), up to the first gap.
 *
 * @example
 * ```ts
 * import { keptLogFiles } from "./log_rotation.ts";
 * console.log(keptLogFiles("/run/pidkit/web.log")); // e.g. ["/run/pidkit/web.log.1"]
 * ```
 */
export function keptLogFiles(path: string): string[] {
  const out: string[] = [];
  for (let n = 1;; n++) {
    try {
      if (!Deno.statSync(rotatedPath(path, n)).isFile) break;
    } catch {
      break;
    }
    out.push(rotatedPath(path, n));
  }
  return out;
}
