/**
 * When each line of a log was written, kept beside the log (never in it:
 * the log stays exactly what the service printed, for `tail` and for older
 * pidkits). The supervisor's log sink stamps each piece of output as it
 * writes it; `pidkit logs --timestamps` and the time-ordered interleaving
 * of several services' logs read the stamps back.
 *
 * The side file of log `DIR/NAME.log` is `DIR/.NAME.log.times`: fixed-size
 * text records, one per piece written in a new millisecond,
 *
 * ```text
 * IIIIIIIIIIIIIIIIIIII OOOOOOOOOOOOOOO TTTTTTTTTTTTT\n
 * ```
 *
 * the inode of the log file written (20 digits), the byte offset in that
 * file where the piece begins (15 digits) and the time in milliseconds
 * since the epoch (13 digits), zero-padded: 51 bytes. Keyed by inode, the
 * records follow the file through rotation (`NAME.log` becoming
 * `NAME.log.1` keeps its inode), so rotation never touches the side file.
 * A line's time is that of the last record of its file at or before the
 * offset of its last byte. A record whose offset is below the previous
 * one of its inode starts that inode's records anew (the file was
 * truncated, or a new file got a removed one's inode). Records of files
 * that are gone are dropped at a rotation once the side file has doubled
 * (it is rewritten and renamed into place); an incomplete last record (a
 * supervisor killed mid-write) is ignored and cut off.
 *
 * @module
 */

const RECORD = 51;
/** How often the stamper reads the log's size again rather than counting. */
export const SIZE_CHECK_MS = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Side files larger than this are read from this far before their end only. */
const READ_LIMIT = 8 * 1024 * 1024;

/** One stamp: from `offset` on, file `ino` was written at `time` (ms since the epoch). */
export interface LogStamp {
  /** Byte offset in the file. */
  offset: number;
  /** Milliseconds since the epoch. */
  time: number;
}

/**
 * The side file of times of the log at `path`.
 *
 * @example
 * ```ts
 * import { timesPath } from "./log_times.ts";
 * timesPath("/run/pidkit/web.log"); // "/run/pidkit/.web.log.times"
 * ```
 */
export function timesPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.times`;
}

function record(ino: number, offset: number, time: number): string {
  return `${String(ino).padStart(20, "0")} ${String(offset).padStart(15, "0")} ${
    String(time).padStart(13, "0")
  }\n`;
}

function parse(text: string, into: Map<number, LogStamp[]>): void {
  for (let at = 0; at + RECORD <= text.length; at += RECORD) {
    const m = /^(\d{20}) (\d{15}) (\d{13})\n$/.exec(text.slice(at, at + RECORD));
    if (!m) continue;
    const ino = Number(m[1]);
    const offset = Number(m[2]);
    let list = into.get(ino);
    // An offset below the last one: the file was truncated, or the inode
    // is another file's now (the old one removed): its stamps start anew.
    if (!list || (list.length > 0 && offset < list[list.length - 1].offset)) {
      list = [];
      into.set(ino, list);
    }
    list.push({ offset, time: Number(m[3]) });
  }
}

/**
 * The writer: {@linkcode LogTimes.stamp} before each write to the log.
 * Best effort: a side file that cannot be written loses stamps, never
 * output.
 */
export class LogTimes {
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #ino = -1;
  #lastTime = -1;
  /** Where the log ends, as far as we know, and when its size was last read. */
  #end = 0;
  #checked = 0;
  /** The side file's size, and the size at which the stamps of gone files are dropped. */
  #size = 0;
  #collectAt = 0;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Open (create, mode 0640) the side file of the log at `logPath` for
   * stamping `log` (a regular file); `undefined` when it cannot be.
   *
   * @example
   * ```ts
   * import { LogTimes } from "./log_times.ts";
   * using log = Deno.openSync("/tmp/demo.log", { append: true, create: true });
   * const times = LogTimes.open("/tmp/demo.log", log);
   * const line = new TextEncoder().encode("a line\n");
   * times?.stamp(log, line.length);
   * log.writeSync(line);
   * times?.close();
   * ```
   */
  static open(logPath: string, log: Deno.FsFile): LogTimes | undefined {
    const times = new LogTimes(timesPath(logPath));
    try {
      times.#file = Deno.openSync(times.path, {
        read: true,
        append: true,
        create: true,
        mode: 0o640,
      });
      const own = times.#file.statSync();
      const group = log.statSync().gid;
      // The log's group reads it (a --user service's): so it may read its times.
      if (Deno.uid() === 0 && group !== null && own.gid !== group) {
        try {
          Deno.chownSync(times.path, null, group);
        } catch { /* its times stay the supervisor's group's */ }
      }
      const size = own.size;
      if (size % RECORD !== 0) times.#file.truncateSync(size - (size % RECORD));
      times.#size = size - (size % RECORD);
      times.follow(log);
      return times;
    } catch {
      times.close();
      return undefined;
    }
  }

  /**
   * Stamp now at the end of `log`, where the `length` bytes about to be
   * appended begin. One record per millisecond at most. Where the log ends
   * is counted, not asked for each time (a `stat` per piece would be one
   * more system call per piece); it is read again every
   * {@linkcode SIZE_CHECK_MS} (a log truncated under us, or written by
   * another process too).
   */
  stamp(log: Deno.FsFile, length: number): void {
    if (!this.#file) return;
    const now = Date.now();
    try {
      if (now - this.#checked >= SIZE_CHECK_MS) {
        // Truncated under us (copytruncate): the next stamp's offset is
        // below the last, which voids the file's old stamps (see parse).
        this.#end = log.statSync().size;
        this.#checked = now;
      }
      if (now !== this.#lastTime) {
        this.#file.writeSync(encoder.encode(record(this.#ino, this.#end, now)));
        this.#lastTime = now;
        this.#size += RECORD;
      }
    } catch { /* no stamp for this piece */ }
    this.#end += length;
  }

  /**
   * From now on stamp `log` (after a rotation or a reopen). Once the side
   * file has doubled since the last time, the stamps of files that are no
   * longer among the log's files go (so a rotation costs no directory scan
   * each time). A new file that got a removed file's inode needs nothing:
   * its first stamp, at offset 0, voids the old ones (see parse).
   */
  follow(log: Deno.FsFile): void {
    try {
      const st = log.statSync();
      this.#ino = st.ino ?? -1;
      this.#lastTime = -1;
      this.#end = st.size;
      this.#checked = Date.now();
      if (this.#size >= this.#collectAt) {
        this.#drop(logInodes(this.path));
        this.#collectAt = Math.max(64 * 1024, 2 * this.#size);
      }
    } catch { /* stamps go on under the old inode until the next one */ }
  }

  /** Rewrite the side file with only the stamps of the `live` inodes. */
  #drop(live: Set<number>): void {
    if (!this.#file) return;
    try {
      const all = readStamps(this.path);
      const keep = [...all].filter(([ino]) => live.has(ino));
      if (keep.length === all.size) return; // nothing to drop
      const text = keep.flatMap(([ino, list]) => list.map((s) => record(ino, s.offset, s.time)))
        .join("");
      this.#size = text.length;
      const tmp = `${this.path}.tmp`;
      Deno.writeTextFileSync(tmp, text, { mode: 0o640 });
      Deno.renameSync(tmp, this.path);
      const next = Deno.openSync(this.path, { read: true, append: true });
      this.#file.close();
      this.#file = next;
    } catch { /* the old stamps stay; readers take the newest of a file */ }
  }

  /** Stop stamping. */
  close(): void {
    try {
      this.#file?.close();
    } catch { /* closed */ }
    this.#file = undefined;
  }
}

/** The inodes of the log's files now: `LOG`, `LOG.N` (from the side file's path). */
function logInodes(times: string): Set<number> {
  const slash = times.lastIndexOf("/");
  const dir = slash < 0 ? "." : times.slice(0, slash) || "/";
  const base = times.slice(slash + 2, -".times".length);
  const out = new Set<number>();
  for (const e of Deno.readDirSync(dir)) {
    if (
      e.name !== base &&
      !(e.name.startsWith(`${base}.`) && /^\d+$/.test(e.name.slice(base.length + 1)))
    ) {
      continue;
    }
    try {
      const ino = Deno.statSync(`${dir}/${e.name}`).ino;
      if (ino !== null) out.add(ino);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Every stamp in the side file at `path` (the last 8 MiB of it at most), by inode. */
function readStamps(path: string): Map<number, LogStamp[]> {
  const out = new Map<number, LogStamp[]>();
  using f = Deno.openSync(path, { read: true });
  const size = f.statSync().size;
  const skip = size > READ_LIMIT ? Math.ceil((size - READ_LIMIT) / RECORD) * RECORD : 0;
  f.seekSync(skip, Deno.SeekMode.Start);
  const buf = new Uint8Array(size - skip);
  let off = 0;
  while (off < buf.length) {
    const n = f.readSync(buf.subarray(off));
    if (n === null || n === 0) break;
    off += n;
  }
  parse(decoder.decode(buf.subarray(0, off - (off % RECORD))), out);
  return out;
}

/**
 * The reader: times of lines of the log at `logPath`, from its side file;
 * {@linkcode LogTimesReader.refresh} reads what was stamped since.
 *
 * @example
 * ```ts
 * import { LogTimesReader } from "./log_times.ts";
 * const times = new LogTimesReader("/tmp/demo.log");
 * const ino = Deno.statSync("/tmp/demo.log").ino!;
 * console.log(times.timeOf(ino, 0)); // a Date, or undefined when nothing was stamped
 * ```
 */
export class LogTimesReader {
  readonly path: string;
  #stamps = new Map<number, LogStamp[]>();
  #ino: number | null = null;
  #read = 0;

  constructor(logPath: string) {
    this.path = timesPath(logPath);
    this.refresh();
  }

  /** Read the stamps added since (all of them again if the side file was rewritten). */
  refresh(): void {
    try {
      const st = Deno.statSync(this.path);
      if (st.ino !== this.#ino || st.size < this.#read) {
        this.#stamps = readStamps(this.path);
        this.#ino = st.ino;
        this.#read = st.size - (st.size % RECORD);
        return;
      }
      if (st.size - this.#read < RECORD) return;
      using f = Deno.openSync(this.path, { read: true });
      f.seekSync(this.#read, Deno.SeekMode.Start);
      const buf = new Uint8Array(st.size - this.#read);
      let off = 0;
      while (off < buf.length) {
        const n = f.readSync(buf.subarray(off));
        if (n === null || n === 0) break;
        off += n;
      }
      const whole = off - (off % RECORD);
      parse(decoder.decode(buf.subarray(0, whole)), this.#stamps);
      this.#read += whole;
    } catch { /* no side file: no times */ }
  }

  /** When the byte at `offset` of file `ino` was written; undefined when not stamped. */
  timeOf(ino: number | null, offset: number): Date | undefined {
    const list = ino === null ? undefined : this.#stamps.get(ino);
    if (!list || list.length === 0 || list[0].offset > offset) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (list[mid].offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return new Date(list[lo].time);
  }
}
