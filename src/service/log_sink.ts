/**
 * The supervisor's log sink: appends the service's output to the log file
 * with plain `write()` calls (never `FsFile.writable`, which holds up to
 * 64 KiB back), one write chain so chunks never interleave, and `reopen()`
 * for logrotate (SIGHUP).
 *
 * @module
 */

import { type LogPosition, type LogRotation, planWrites, rotateLogFiles } from "./log_rotation.ts";

const encoder = new TextEncoder();

/** An append-only log file that can be reopened under the same path. */
export class LogSink {
  readonly path: string;
  #file: Deno.FsFile;
  #chain: Promise<void> = Promise.resolve();
  readonly #rotation: LogRotation | undefined;
  #at: LogPosition = { size: 0, lineLength: 0 };

  private constructor(path: string, file: Deno.FsFile, rotation?: LogRotation) {
    this.path = path;
    this.#file = file;
    this.#rotation = rotation;
  }

  /** Open (create) `path` for appending, mode 0644; rotated by size when `rotation` is given. */
  static async open(path: string, options: { rotation?: LogRotation } = {}): Promise<LogSink> {
    const file = await openLog(path);
    // Only a regular file is rotated (never /dev/null renamed).
    const rotation = options.rotation && (await file.stat()).isFile ? options.rotation : undefined;
    const sink = new LogSink(path, file, rotation);
    if (rotation) sink.#at = await logPosition(file);
    return sink;
  }

  /** Append `bytes`; resolves once they are in the file. Errors are dropped. */
  write(bytes: Uint8Array): Promise<void> {
    this.#chain = this.#chain.then(() =>
      this.#rotation ? this.#writeRotating(bytes, this.#rotation) : writeAll(this.#file, bytes)
    ).catch(() => {});
    return this.#chain;
  }

  async #writeRotating(bytes: Uint8Array, rotation: LogRotation): Promise<void> {
    for (const step of planWrites(bytes, this.#at, rotation.maxBytes)) {
      if (step.rotateBefore) await this.#rotate(rotation.keep);
      try {
        await writeAll(this.#file, step.bytes);
      } catch { /* a full disk drops output; it never stops the service */ }
    }
  }

  async #rotate(keep: number): Promise<void> {
    try {
      await rotateLogFiles(this.path, keep);
    } catch { /* cannot move it: go on in the same file, try again at the next cut */ }
    try {
      const next = await openLog(this.path);
      this.#file.close();
      this.#file = next;
      // #at already says where the new file will stand: planWrites moved it.
    } catch { /* keep writing where we were */ }
  }

  /** Append one `[pidkit] TIME text` line. */
  line(text: string): Promise<void> {
    return this.write(encoder.encode(`[pidkit] ${new Date().toISOString()} ${text}\n`));
  }

  /** Close the file and open the path again (after logrotate moved it). */
  reopen(): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      const next = await openLog(this.path);
      const old = this.#file;
      this.#file = next;
      old.close();
      if (this.#rotation) this.#at = await logPosition(next);
    }).catch(() => {});
    return this.#chain;
  }

  /** Write out what is queued, then close. */
  async close(): Promise<void> {
    await this.#chain;
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }
}

/**
 * Open `path` for appending. Only a regular file (created if missing) or a
 * character device such as /dev/null: opening a FIFO for writing blocks
 * until someone reads it, which would hang the supervisor and `start`.
 */
async function openLog(path: string): Promise<Deno.FsFile> {
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
  return await Deno.open(path, { append: true, create: true, mode: 0o644 });
}

/** Where an open log stands (its size; its last line assumed complete). */
async function logPosition(file: Deno.FsFile): Promise<LogPosition> {
  const { size } = await file.stat();
  return { size, lineLength: 0 };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Copy `stream` into `sink` chunk by chunk until it ends. */
export async function pump(stream: ReadableStream<Uint8Array>, sink: LogSink): Promise<void> {
  try {
    for await (const chunk of stream) await sink.write(chunk);
  } catch { /* the pipe broke: the service is gone */ }
}

/** Copy `stream` to one of our own standard streams (`run` without `--log`). */
export async function pumpTo(
  stream: ReadableStream<Uint8Array>,
  out: typeof Deno.stdout | typeof Deno.stderr,
): Promise<void> {
  try {
    for await (const chunk of stream) {
      let off = 0;
      while (off < chunk.length) off += await out.write(chunk.subarray(off));
    }
  } catch { /* our stdout went away */ }
}

/** The last `n` lines of the file at `path` (reads at most the last 16 KiB). */
export async function tailLines(path: string, n: number): Promise<string[]> {
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
    return lines.slice(-n);
  } catch {
    return [];
  }
}
