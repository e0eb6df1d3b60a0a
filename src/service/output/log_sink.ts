/**
 * The supervisor's log sink: appends the service's output to the log file
 * with plain `write()` calls (never `FsFile.writable`, which holds up to
 * 64 KiB back), one write chain so chunks never interleave, and `reopen()`
 * for logrotate (SIGHUP).
 *
 * Output from a service's output FIFO is moved into the file with
 * splice(2) where it can be (`move`, see output_fifo.ts): written and taken
 * out of the FIFO in one system call, so a supervisor SIGKILLed while it
 * writes neither loses a piece nor leaves it for its successor to write
 * again. For that the sink holds the file open a second time, without
 * O_APPEND (which splice refuses), and each move goes to its end.
 *
 * The sink's own `[pidkit]` lines stand between whole lines of the
 * service: one that comes while the service's last line is unfinished waits
 * until that line ends, or {@linkcode LINE_WAIT_MS} at most (then the
 * service's line is ended for it, and its rest follows on a line of its
 * own). The service's bytes themselves are never held back: what the sink
 * was handed is in the file when `write` resolves.
 *
 * @module
 */

import {
  finishRotation,
  type LogPosition,
  type LogRotation,
  planWrites,
  rotateLogFiles,
} from "./log_rotation.ts";
import { LogTimes } from "./log_times.ts";
import { cString, libc } from "../../os/libc.ts";

const encoder = new TextEncoder();
const NL = 10;
const O_WRONLY = 0o1;
const O_CLOEXEC = 0o2000000;

/** Moves the next `n` bytes of the output to the end of the file at `fd`; how many (see output_fifo.ts). */
export type MoveInto = (fd: number, n: number) => number;

/** How long a `[pidkit]` line waits at most for the service's unfinished line to end. */
export const LINE_WAIT_MS = 500;

/** An append-only log file that can be reopened under the same path. */
export class LogSink {
  readonly path: string;
  #file: Deno.FsFile;
  /**
   * The same file open write-only without O_APPEND, for splice(2), opened
   * at the first move; -1: none (not a regular file, no FFI).
   */
  #fd: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  readonly #rotation: LogRotation | undefined;
  readonly #group: number | undefined;
  #at: LogPosition = { size: 0, lineLength: 0 };
  /** The service's output in the file ends in the middle of a line. */
  #midLine = false;
  /** `[pidkit]` lines waiting for the service's line to end, and who waits for each. */
  #held: { bytes: Uint8Array; done: () => void }[] = [];
  #heldTimer: ReturnType<typeof setTimeout> | undefined;
  /** When each piece was written (see log_times.ts); regular files only. */
  #times: LogTimes | undefined;
  /** Told after each rotation (the journal of events records it). */
  #onRotate: (() => void) | undefined;

  private constructor(path: string, file: Deno.FsFile, rotation?: LogRotation, group?: number) {
    this.path = path;
    this.#file = file;
    this.#rotation = rotation;
    this.#group = group;
  }

  /**
   * Open (create) `path` for appending, mode 0640 (a service's output is
   * not for every local user); rotated by size when `rotation` is given. A
   * file it creates is given group `group` (a `--user` service's primary
   * group, so its owner can read it), when we are root and the directory
   * is one nobody else can write (no one can swap the name in between). A
   * rotation that a killed supervisor left half done is finished first (see
   * `finishRotation`), and said so in the log. With `times`, each piece
   * written is stamped in the log's side file of times (log_times.ts): a
   * service's log, not the supervisor's journal. `onRotate` is called
   * after each rotation by size.
   */
  static async open(
    path: string,
    options: {
      rotation?: LogRotation;
      group?: number;
      times?: boolean;
      onRotate?: () => void;
    } = {},
  ): Promise<LogSink> {
    let finished = false;
    if (options.rotation) {
      try {
        finished = finishRotation(path);
      } catch { /* cannot: write on where the log is */ }
    }
    const file = await openLog(path, options.group);
    // Only a regular file is rotated (never /dev/null renamed).
    const regular = (await file.stat()).isFile;
    const rotation = options.rotation && regular ? options.rotation : undefined;
    const sink = new LogSink(path, file, rotation, options.group);
    sink.#onRotate = options.onRotate;
    if (!regular) sink.#fd = -1;
    if (regular) {
      if (options.times) sink.#times = LogTimes.open(path, file);
      sink.#at = await logPosition(path, file);
      // A service line left unfinished by the last supervisor goes on here.
      sink.#midLine = sink.#at.lineLength > 0;
    }
    if (finished) void sink.line(`finished a rotation of ${path} that a killed supervisor began`);
    return sink;
  }

  /**
   * Append the service's `bytes`; resolves once they are in the file.
   * Errors are dropped. `written(n)` is called as each piece is in the file
   * (right after its `write(2)`, in the same turn: the output FIFO takes the
   * piece out of the pipe then, so a supervisor killed during a rotation
   * neither loses nor repeats it); n adds up to `bytes.length`. With
   * `move` (an output FIFO's), each piece is moved into the file from
   * where `bytes` were copied (the same bytes), as far as it can be, and
   * only the rest is written from `bytes` and reported to `written`.
   */
  write(bytes: Uint8Array, written?: (n: number) => void, move?: MoveInto): Promise<void> {
    return this.#queue(() => this.#writeService(bytes, written, move));
  }

  #queue(step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(step).catch(() => {});
    return this.#chain;
  }

  async #writeService(
    bytes: Uint8Array,
    written?: (n: number) => void,
    move?: MoveInto,
  ): Promise<void> {
    if (bytes.length === 0) return;
    if (this.#held.length > 0 && !this.#midLine) await this.#putHeld();
    if (this.#held.length > 0 && this.#midLine) {
      const nl = bytes.indexOf(NL);
      if (nl < 0) return await this.#put(bytes, written, move);
      await this.#put(bytes.subarray(0, nl + 1), written, move);
      this.#midLine = false;
      await this.#putHeld();
      bytes = bytes.subarray(nl + 1);
      if (bytes.length === 0) return;
    }
    await this.#put(bytes, written, move);
    this.#midLine = bytes[bytes.length - 1] !== NL;
  }

  /** Bytes into the file (rotating where due); `written` as in {@linkcode LogSink.write}. */
  async #put(bytes: Uint8Array, written?: (n: number) => void, move?: MoveInto): Promise<void> {
    if (this.#rotation) return await this.#writeRotating(bytes, this.#rotation, written, move);
    this.#store(bytes, written, move);
  }

  /** One piece into the current file: moved where it can be, else written and reported. */
  #store(bytes: Uint8Array, written?: (n: number) => void, move?: MoveInto): void {
    let moved = 0;
    try {
      this.#times?.stamp(this.#file, bytes.length);
      if (move && (this.#fd ??= rawFd(this.path, this.#file)) >= 0) {
        moved = move(this.#fd, bytes.length);
      }
      if (moved < bytes.length) writeAll(this.#file, bytes.subarray(moved));
    } catch { /* a full disk drops output; it never stops the service */ }
    written?.(bytes.length - moved);
  }

  async #putHeld(): Promise<void> {
    clearTimeout(this.#heldTimer);
    this.#heldTimer = undefined;
    const held = this.#held;
    this.#held = [];
    for (const h of held) {
      await this.#put(h.bytes).catch(() => {});
      h.done();
    }
  }

  /** End the service's unfinished line (if any) and write the held lines. */
  async #breakLine(): Promise<void> {
    if (this.#midLine) {
      await this.#put(new Uint8Array([NL]));
      this.#midLine = false;
    }
    await this.#putHeld();
  }

  async #writeRotating(
    bytes: Uint8Array,
    rotation: LogRotation,
    written?: (n: number) => void,
    move?: MoveInto,
  ): Promise<void> {
    for (const step of planWrites(bytes, this.#at, rotation.maxBytes)) {
      if (step.rotateBefore) await this.#rotate(rotation.keep);
      this.#store(step.bytes, written, move);
    }
  }

  async #rotate(keep: number): Promise<void> {
    // Until the new file is in place this one keeps every byte: it is
    // PATH or, once linked there, PATH.1 (rotateLogFiles is crash-safe).
    try {
      rotateLogFiles(this.path, keep);
      this.#onRotate?.();
    } catch { /* cannot move it: go on in the same file, try again at the next cut */ }
    try {
      const next = await openLog(this.path, this.#group);
      this.#file.close();
      this.#file = next;
      this.#followFd();
      this.#times?.follow(next);
      // #at already says where the new file will stand: planWrites moved it.
    } catch { /* keep writing where we were */ }
  }

  /**
   * Append one `[pidkit] TIME text` line, between two lines of the
   * service's output (see the module doc); resolves once it is written.
   */
  line(text: string): Promise<void> {
    const bytes = encoder.encode(`[pidkit] ${new Date().toISOString()} ${text}\n`);
    return new Promise<void>((done) => {
      void this.#queue(async () => {
        if (!this.#midLine && this.#held.length === 0) {
          try {
            await this.#put(bytes);
          } finally {
            done();
          }
          return;
        }
        this.#held.push({ bytes, done });
        if (this.#heldTimer === undefined) {
          const timer = setTimeout(() => {
            this.#heldTimer = undefined;
            void this.#queue(async () => {
              if (this.#held.length > 0) await this.#breakLine();
            });
          }, LINE_WAIT_MS);
          this.#heldTimer = timer;
        }
      });
    });
  }

  /**
   * The service's output has ended for now (its tree is gone and its
   * output drained): end its unfinished line, so the next line starts
   * on a line of its own.
   */
  endOfOutput(): Promise<void> {
    return this.#queue(() => this.#breakLine());
  }

  /** Close the file and open the path again (after logrotate moved it). */
  reopen(): Promise<void> {
    return this.#queue(async () => {
      const next = await openLog(this.path, this.#group);
      const old = this.#file;
      this.#file = next;
      old.close();
      this.#followFd();
      this.#times?.follow(next);
      this.#at = await logPosition(this.path, next);
    });
  }

  /** Write out what is queued (held lines too), then close. */
  async close(): Promise<void> {
    await this.#queue(() => this.#breakLine());
    this.#times?.close();
    try {
      this.#file.close();
    } catch { /* already closed */ }
    this.#closeFd();
  }

  /** The raw descriptor follows the file to a new one (after a rotation or reopen). */
  #followFd(): void {
    if (this.#fd === undefined || this.#fd < 0) return;
    this.#closeFd();
    this.#fd = rawFd(this.path, this.#file);
  }

  #closeFd(): void {
    if (this.#fd !== undefined && this.#fd >= 0) libc()?.close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * `path` opened write-only without O_APPEND (for splice(2)), when it is
 * still the file `file` is (else moves would go elsewhere); -1 without FFI
 * or when it cannot be opened.
 */
function rawFd(path: string, file: Deno.FsFile): number {
  const lib = libc();
  if (lib === undefined) return -1;
  const fd = lib.open(cString(path), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  try {
    if (Deno.statSync(path).ino === file.statSync().ino) return fd;
  } catch { /* gone meanwhile */ }
  lib.close(fd);
  return -1;
}

/**
 * Open `path` for appending. Only a regular file (created if missing) or a
 * character device such as /dev/null: opening a FIFO for writing blocks
 * until someone reads it, which would hang the supervisor and `start`.
 */
async function openLog(path: string, group?: number): Promise<Deno.FsFile> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (info && !info.isFile && !info.isCharDevice) {
    const kind = info.isFifo
      ? "a FIFO"
      : info.isDirectory
      ? "a directory"
      : info.isSocket
      ? "a socket"
      : "not a regular file";
    throw new Error(`it is ${kind}; a log must be a regular file (or /dev/null)`);
  }
  if (info === undefined) {
    try {
      const file = await Deno.open(path, { append: true, createNew: true, mode: LOG_MODE });
      if (group !== undefined) await giveGroup(path, group);
      return file;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  // An existing log keeps its mode and group (0.2 made them 0644: chmod 640).
  return await Deno.open(path, { append: true, create: true, mode: LOG_MODE });
}

/** The mode of a log pidkit creates: the owner writes, its group reads. */
const LOG_MODE = 0o640;

/** chgrp a log we just created, when no one but us (or root) can write its directory. */
async function giveGroup(path: string, group: number): Promise<void> {
  if (Deno.uid() !== 0) return;
  try {
    const dir = await Deno.stat(path.slice(0, path.lastIndexOf("/")) || "/");
    if ((dir.uid !== 0 && dir.uid !== Deno.uid()) || ((dir.mode ?? 0) & 0o022) !== 0) return;
    await Deno.chown(path, null, group);
  } catch { /* the log stays the supervisor's group's */ }
}

/**
 * Where an open log stands: its size and the length of its unfinished last
 * line (read from `path`, the last 64 KiB at most; a longer one counts as
 * that long).
 */
async function logPosition(path: string, file: Deno.FsFile): Promise<LogPosition> {
  const { size } = await file.stat();
  if (size === 0) return { size, lineLength: 0 };
  try {
    using reader = await Deno.open(path, { read: true });
    const start = Math.max(0, size - 64 * 1024);
    await reader.seek(start, Deno.SeekMode.Start);
    const tail = new Uint8Array(size - start);
    let got = 0;
    while (got < tail.length) {
      const n = await reader.read(tail.subarray(got));
      if (n === null) break;
      got += n;
    }
    const nl = tail.subarray(0, got).lastIndexOf(NL);
    return { size, lineLength: nl < 0 ? got : got - nl - 1 };
  } catch {
    return { size, lineLength: 0 }; // cannot read it back (write-only): assume whole lines
  }
}

/**
 * Write all of `bytes`, synchronously: where a piece cannot be moved by
 * splice(2), the output FIFO takes what was written out of the pipe in the
 * same turn (see LogSink.write), so a supervisor killed at any moment has
 * either written a piece and taken it, or neither (the moment between the
 * two system calls aside). A write to the page cache costs about as little
 * as handing it to a thread.
 */
function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/** Copy `stream` into `sink` chunk by chunk until it ends. */
export async function pump(stream: ReadableStream<Uint8Array>, sink: LogSink): Promise<void> {
  try {
    for await (const chunk of stream) await sink.write(chunk);
  } catch { /* the pipe broke: the service is gone */ }
}

/** Options of {@linkcode tailLines}. */
export interface TailOptions {
  /** Begin at the last line for which this is true, when one is among those read. */
  since?: (line: string) => boolean;
}

/**
 * The last `n` lines of the file at `path` (reads at most the last 16 KiB),
 * from the last line `since` accepts on when one is given and found.
 *
 * @example
 * ```ts
 * import { tailLines } from "./log_sink.ts";
 * const lines = await tailLines("/run/pidkit/web.log", 10, { since: (l) => l.startsWith("[pidkit] ") });
 * console.log(lines.join("\n"));
 * ```
 */
export async function tailLines(
  path: string,
  n: number,
  opts: TailOptions = {},
): Promise<string[]> {
  try {
    using file = await Deno.open(path, { read: true });
    const size = (await file.stat()).size;
    const start = Math.max(0, size - 16_384);
    await file.seek(start, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - start);
    let off = 0;
    while (off < buf.length) {
      const r = await file.read(buf.subarray(off));
      if (r === null) break;
      off += r;
    }
    const lines = new TextDecoder().decode(buf.subarray(0, off)).split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (start > 0) lines.shift(); // probably cut in the middle
    const since = opts.since ? lines.findLastIndex(opts.since) : -1;
    return lines.slice(Math.max(since, 0)).slice(-n);
  } catch {
    return [];
  }
}
