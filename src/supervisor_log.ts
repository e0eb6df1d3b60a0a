/**
 * The supervisor's log sink: appends the service's output to the log file
 * with plain `write()` calls (never `FsFile.writable`, which holds up to
 * 64 KiB back), one write chain so chunks never interleave, and `reopen()`
 * for logrotate (SIGHUP).
 *
 * @module
 */

const encoder = new TextEncoder();

/** An append-only log file that can be reopened under the same path. */
export class LogSink {
  readonly path: string;
  #file: Deno.FsFile;
  #chain: Promise<void> = Promise.resolve();

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Open (create) `path` for appending, mode 0644. */
  static async open(path: string): Promise<LogSink> {
    return new LogSink(path, await openLog(path));
  }

  /** Append `bytes`; resolves once they are in the file. Errors are dropped. */
  write(bytes: Uint8Array): Promise<void> {
    this.#chain = this.#chain.then(() => writeAll(this.#file, bytes)).catch(() => {});
    return this.#chain;
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
