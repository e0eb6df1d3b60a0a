/**
 * Reading a log as lines: the last N lines across its rotated files
 * (`NAME.log.K` ... `NAME.log.1`, `NAME.log`), read from the end (a large
 * log costs no more than a small one), and following it as it grows,
 * across rotation (the file renamed and a new one made: the old one is
 * finished first, then any rotated file written in between, then the new
 * one) and truncation. Services' logs from code (service_logs.ts) are built
 * on these.
 *
 * @module
 */

import { logSeries, rotatedPath } from "./log_rotation.ts";

const CHUNK = 64 * 1024;
const NL = 10;
/** How long an unfinished last line waits for its end before it is handed out as it is. */
export const PARTIAL_LINE_MS = 300;

/** One line of a log file, as read. */
export interface RawLine {
  /** The line's bytes, without its newline. */
  bytes: Uint8Array;
  /** Whether a newline ended it (false: the last, unfinished line of a file, or a piece of one). */
  newline: boolean;
  /** The inode of the file it was read from. */
  ino: number | null;
  /** The offset in that file of its last byte (its newline, if any). */
  end: number;
  /** The path the file had when it was read. */
  file: string;
}

/** Lines of `bytes`, which stand at `base` in file `ino`. */
export function splitLines(
  bytes: Uint8Array,
  base: number,
  ino: number | null,
  file: string,
): RawLine[] {
  const out: RawLine[] = [];
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(NL, start);
    if (nl < 0) {
      out.push({
        bytes: bytes.subarray(start),
        newline: false,
        ino,
        end: base + bytes.length - 1,
        file,
      });
      break;
    }
    out.push({ bytes: bytes.subarray(start, nl), newline: true, ino, end: base + nl, file });
    start = nl + 1;
  }
  return out;
}

/**
 * The last `n` lines of `file` (from its end, 64 KiB at a time, until
 * enough newlines are seen) and the offset they start at. Leaves the file
 * position at the end.
 */
export async function tailBytes(
  file: Deno.FsFile,
  n: number,
): Promise<{ bytes: Uint8Array; start: number; size: number }> {
  const size = (await file.stat()).size;
  if (n === 0 || size === 0) {
    await file.seek(size, Deno.SeekMode.Start);
    return { bytes: new Uint8Array(0), start: size, size };
  }
  const chunks: Uint8Array[] = [];
  let pos = size;
  let newlines = 0;
  let start = 0;
  let first = true;
  outer: while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = await readAt(file, pos, len);
    chunks.unshift(buf);
    // A newline that ends the file does not start another line.
    for (let i = buf.length - 1; i >= 0; i--) {
      if (first) {
        first = false;
        if (buf[i] === NL) continue;
      }
      if (buf[i] === NL && ++newlines === n) {
        start = pos + i + 1;
        break outer;
      }
    }
  }
  const all = concat(chunks);
  await file.seek(size, Deno.SeekMode.Start);
  return { bytes: all.subarray(start - pos), start, size };
}

async function readAt(file: Deno.FsFile, pos: number, len: number): Promise<Uint8Array> {
  await file.seek(pos, Deno.SeekMode.Start);
  const buf = new Uint8Array(len);
  let off = 0;
  while (off < len) {
    const n = await file.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  return buf.subarray(0, off);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  chunks = chunks.filter((c) => c.length > 0);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * The last `n` lines of the open `file` (at `path`), as lines, and the
 * size it had (where following it goes on); the position is left there.
 */
export async function tailFile(
  file: Deno.FsFile,
  path: string,
  n: number,
): Promise<{ lines: RawLine[]; size: number }> {
  const { bytes, start, size } = await tailBytes(file, n);
  return { lines: splitLines(bytes, start, (await file.stat()).ino, path), size };
}

/**
 * `recent` (the last lines of the current log at `path`) preceded by lines
 * of its rotated files (`PATH.1`, `.2`, ...) up to `n` in all. A number
 * missing between them (a file someone removed: pidkit's rotation leaves
 * no hole) is read past and listed in `missing`.
 */
export async function withKeptLines(
  path: string,
  recent: RawLine[],
  n: number,
): Promise<{ lines: RawLine[]; missing: string[] }> {
  let have = recent.length;
  const parts = [recent];
  const { files, missing } = have < n ? logSeries(path) : { files: [], missing: [] };
  const skipped: number[] = [];
  const seen = new Set(recent.map((l) => l.ino));
  for (const older of files) {
    const number = Number(older.slice(path.length + 1));
    skipped.push(...missing.filter((m) => m < number && !skipped.includes(m)));
    try {
      using f = await Deno.open(older, { read: true });
      // Rotated since we began: the file read already is .1 now.
      if (seen.has((await f.stat()).ino)) continue;
      const more = (await tailFile(f, older, n - have)).lines;
      parts.unshift(more);
      have += more.length;
    } catch { /* rotated away meanwhile */ }
    if (have >= n) break;
  }
  return { lines: parts.flat(), missing: skipped.map((m) => `${path}.${m}`) };
}

/**
 * Follows the log at `path` from where `file` stands (or from the start of
 * the file that appears at `path`, when there is none yet).
 */
export class LogFollower {
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #ino: number | null | undefined;
  #pos = 0;
  /** Bytes of an unfinished line, from offset #pendingAt, last grown at #pendingSince. */
  #pending = new Uint8Array(0);
  #pendingAt = 0;
  #pendingSince = 0;

  constructor(path: string, file?: Deno.FsFile, position = 0) {
    this.path = path;
    this.#file = file;
    this.#pos = position;
    this.#pendingAt = position;
    if (file) this.#ino = file.statSync().ino;
  }

  /**
   * One round: the lines written since the last round (an unfinished last
   * line once it has waited {@linkcode PARTIAL_LINE_MS}, or when its file
   * is left), after switching to a new file at the path when there is one.
   * Throws only on a path that cannot be read (permission).
   */
  async poll(): Promise<RawLine[]> {
    const out: RawLine[] = [];
    if (this.#file) out.push(...await this.#drain(false));
    let st: Deno.FileInfo | undefined;
    try {
      st = await Deno.stat(this.path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (st && st.ino !== this.#ino) {
      let old: number | null | undefined;
      if (this.#file) {
        out.push(...await this.#drain(true));
        old = this.#ino;
        this.#close();
      }
      const [current, ...between] = await this.#newerThan(old);
      // Rotated between two looks: those files whole, oldest first.
      for (const { file, path } of between.reverse()) {
        try {
          const { bytes } = await tailBytes(file, Number.MAX_SAFE_INTEGER);
          out.push(...splitLines(bytes, 0, (await file.stat()).ino, path));
        } catch { /* unreadable: skipped */ }
        file.close();
      }
      if (current) {
        this.#file = current.file;
        this.#ino = (await current.file.stat()).ino;
        this.#pos = this.#pendingAt = 0;
        out.push(...await this.#drain(false));
      }
      return out;
    }
    if (this.#file && st && st.size < this.#pos) {
      // Truncated (copytruncate): from its start.
      out.push(...this.#flush());
      this.#pos = this.#pendingAt = 0;
      out.push(...await this.#drain(false));
    }
    return out;
  }

  /**
   * The files of the log newer than the one with inode `old`, newest (the
   * current `PATH`) first, opened. Read `PATH`, `PATH.1`, `PATH.2`, ... in
   * this order: a rotation meanwhile moves every file the same way, so
   * none is passed over (one may be met twice: kept once). When `old` is
   * not among them (it was dropped, or there was none): `PATH` alone.
   */
  async #newerThan(old: number | null | undefined): Promise<{ file: Deno.FsFile; path: string }[]> {
    const out: { file: Deno.FsFile; path: string; ino: number | null }[] = [];
    let found = false;
    for (let k = 0; old !== undefined; k++) {
      const path = k === 0 ? this.path : rotatedPath(this.path, k);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch {
        break;
      }
      const { ino } = await file.stat();
      if (ino === old) {
        file.close();
        found = true;
        break;
      }
      if (out.some((o) => o.ino === ino)) file.close();
      else out.push({ file, path, ino });
    }
    if (!found) {
      for (const o of out.slice(1)) o.file.close();
      out.splice(1);
      if (out.length === 0) {
        try {
          out.push({
            file: await Deno.open(this.path, { read: true }),
            path: this.path,
            ino: null,
          });
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        }
      }
    }
    return out;
  }

  /** Read to the end of the open file; `leaving`: the unfinished line goes out too. */
  async #drain(leaving: boolean): Promise<RawLine[]> {
    const file = this.#file!;
    const chunks: Uint8Array[] = [this.#pending];
    const buf = new Uint8Array(CHUNK);
    await file.seek(this.#pos, Deno.SeekMode.Start);
    let grew = false;
    while (true) {
      const n = await file.read(buf);
      if (n === null || n === 0) break;
      chunks.push(buf.slice(0, n));
      this.#pos += n;
      grew = true;
    }
    const all = concat(chunks);
    const lines = splitLines(all, this.#pendingAt, this.#ino ?? null, this.path);
    const last = lines.at(-1);
    if (last && !last.newline) {
      if (grew) this.#pendingSince = Date.now();
      if (!leaving && Date.now() - this.#pendingSince < PARTIAL_LINE_MS) {
        lines.pop();
        this.#pending = last.bytes.slice();
        this.#pendingAt = last.end - last.bytes.length + 1;
        return lines;
      }
    }
    this.#pending = new Uint8Array(0);
    this.#pendingAt = this.#pos;
    return lines;
  }

  /** The unfinished line as it is. */
  #flush(): RawLine[] {
    if (this.#pending.length === 0) return [];
    const line = {
      bytes: this.#pending,
      newline: false,
      ino: this.#ino ?? null,
      end: this.#pendingAt + this.#pending.length - 1,
      file: this.path,
    };
    this.#pending = new Uint8Array(0);
    return [line];
  }

  #close(): void {
    try {
      this.#file?.close();
    } catch { /* closed */ }
    this.#file = undefined;
    this.#pending = new Uint8Array(0);
  }

  /** Stop following. */
  close(): void {
    this.#close();
  }
}
