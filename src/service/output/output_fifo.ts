/**
 * A service's output through a FIFO of its own (`DIR/NAME.out`), so that the
 * service outlives its supervisor even when it writes.
 *
 * With a plain pipe, a supervisor that is SIGKILLed or OOM-killed takes every
 * service that writes output with it: the next write gets SIGPIPE. Here a
 * shim (`sh -c 'exec 1<>"$0" 2>&1; exec "$@"' FIFO CMD...`; the start gate's
 * own shell when there is a gate) opens the FIFO read-write as the service's
 * stdout and stderr, so the service itself
 * always counts as a reader: no SIGPIPE, ever. While no supervisor reads,
 * output stays in the pipe's buffer (raised to {@linkcode OUTPUT_PIPE_SIZE}
 * with `F_SETPIPE_SZ` for root, the kernel's 64 KiB for anyone else); beyond
 * that the service blocks in `write` until a supervisor reads again, and the
 * next supervisor continues exactly where the last one stopped
 * (docs/runtime_facts.md, "Output that survives the death of its reader").
 *
 * The supervisor side holds the FIFO open read-write and non-blocking and
 * reads it when its poller says so: one `poll` for every descriptor of the
 * process, no thread per service.
 *
 * Nothing read is lost or written twice when the supervisor is killed:
 * each chunk is first copied from the FIFO's head with `tee(2)` (which
 * leaves it in the FIFO) and handed over; the log sink looks at the copy
 * (where lines end, where to rotate) and stores each piece by moving it
 * from the FIFO into the log file with `splice(2)` (the handler's `move`):
 * written and taken out of the FIFO in one system call, so a supervisor
 * SIGKILLed at any moment, even descheduled on a loaded machine, has
 * either stored a byte or left it in the FIFO for the next one. Where
 * splice cannot be had (a log that is not a regular file, a kernel without
 * it), the piece is written from the copy and taken right after its
 * `write(2)` (the handler's `taken`); only a supervisor killed between
 * those two system calls writes that piece twice. Nothing is ever lost.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import type { FdPoller } from "../../os/fd_poller.ts";
import { cString, ERRNO, errno, libc } from "../../os/libc.ts";
import { delay } from "../../os/delay.ts";
import { behindOutputShim } from "../../tree/spawn_gated.ts";

/** The pipe buffer asked for: Linux's default `pipe-max-size` (1 MiB). */
export const OUTPUT_PIPE_SIZE = 1 << 20;

const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const SPLICE_F_NONBLOCK = 2;
const SEEK_END = 2;
const READ_CHUNK = 64 * 1024;
/** Read at most this much per wake-up, so one flooding service cannot hold the poller. */
const MAX_PER_WAKE = 4 * READ_CHUNK;
/** How long a flooding service's output waits after a full budget (see #onReadable). */
const FLOOD_PAUSE_MS = 5;
/**
 * Where every FIFO's taken bytes go (they were handed over already): one per
 * process, made on the first take. A take is synchronous and its bytes are
 * thrown away, so FIFOs can share it; one per FIFO cost 64 KiB per service
 * (12.5 MiB of a supervisor holding 200).
 */
let takenSink: Uint8Array<ArrayBuffer> | undefined;

/**
 * What the service's output is handed to, in order. It may call `taken(n)`
 * as each piece is safely stored (the next n bytes leave the FIFO then);
 * what it has not reported when it resolves is taken then. Or it may store
 * the next n bytes with `move(fd, n)`: they go from the FIFO to the end of
 * the file open at `fd` (opened without O_APPEND, which splice(2) refuses)
 * in one system call; it returns how many it moved (fewer, even 0, when it
 * cannot: the rest are still the handler's to write and report `taken`).
 */
export type OutputHandler = (
  bytes: Uint8Array,
  taken: (n: number) => void,
  move: (fd: number, n: number) => number,
) => void | Promise<void>;

/**
 * The supervisor's end of a service's output FIFO.
 *
 * @example
 * ```ts
 * import { FdPoller } from "../../os/fd_poller.ts";
 * import { OutputFifo } from "./output_fifo.ts";
 * const poller = FdPoller.create()!;
 * const out = await OutputFifo.open("/tmp/web.out", {
 *   poller,
 *   onOutput: (bytes) => console.log(new TextDecoder().decode(bytes)),
 * });
 * const argv = out.wrap(["sh", "-c", "echo hello"]); // spawn this
 * console.log(argv[0]); // "/bin/sh"
 * out.close();
 * await poller.close();
 * ```
 */
export class OutputFifo {
  /** The FIFO's path. */
  readonly path: string;
  /** The pipe's buffer size in bytes, as the kernel set it. */
  readonly bufferSize: number;
  readonly #fd: number;
  readonly #poller: FdPoller;
  readonly #onOutput: OutputHandler;
  /** The scratch pipe `tee` copies the FIFO's head into: [read end, write end]; none: plain reads. */
  #scratch: [number, number] | undefined;
  #closed = false;
  #paused = false;
  /** A read loop is running (close() then leaves the descriptors to it). */
  #reading = false;

  private constructor(
    path: string,
    fd: number,
    bufferSize: number,
    poller: FdPoller,
    onOutput: OutputHandler,
  ) {
    this.path = path;
    this.#fd = fd;
    this.bufferSize = bufferSize;
    this.#poller = poller;
    this.#onOutput = onOutput;
    this.#scratch = scratchPipe();
    poller.watch(fd, () => this.#onReadable());
  }

  /**
   * Open `path` for reading, creating the FIFO (mode 0600, owned by
   * `uid`/`gid` when given) when it is missing. An existing FIFO is reused:
   * it is how a new supervisor picks up a running service's output. Anything
   * else at the path (a file, a symlink, a FIFO of another user) is refused
   * and left as it is.
   */
  static async open(
    path: string,
    options: {
      poller: FdPoller;
      onOutput: OutputHandler;
      uid?: number;
      gid?: number;
      /** Create it owned by us all the same (the service's shim opens it as root). */
      keepOwner?: boolean;
    },
  ): Promise<OutputFifo> {
    const lib = libc();
    if (lib === undefined) throw new PidkitError("service output needs FFI on Linux (run with -A)");
    const existing = lstat(path);
    if (existing === undefined) {
      if (lib.mkfifo(cString(path), 0o600) !== 0) {
        throw new PidkitError(`cannot create the output FIFO ${path}`);
      }
      if (options.uid !== undefined && !options.keepOwner) {
        await Deno.chown(path, options.uid, options.gid ?? null);
      }
    } else {
      const problem = refusal(existing, options.uid ?? Deno.uid() ?? 0);
      if (problem) throw new PidkitError(`${path}: ${problem}; refusing to use it for output`);
    }
    // Read-write: never blocks in open, never sees EOF when a writer leaves.
    // Through libc, not node:fs (which costs a supervisor tens of ms to load).
    const fd = lib.open(cString(path), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw new PidkitError(`cannot open the output FIFO ${path} (errno ${errno()})`);
    // Only root: an unprivileged user's pipe buffers count against
    // /proc/sys/fs/pipe-user-pages-soft (64 MiB); 64 services at 1 MiB would
    // reach it, and past it every new pipe of that user, pidkit's or not, is
    // cut to a few KiB. Root (CAP_SYS_RESOURCE) is not counted.
    if (Deno.uid() === 0) lib.fcntl(fd, F_SETPIPE_SZ, BigInt(OUTPUT_PIPE_SIZE)); // EPERM: default
    const size = lib.fcntl(fd, F_GETPIPE_SZ, 0n);
    return new OutputFifo(path, fd, size, options.poller, options.onOutput);
  }

  /** `command` behind the shim that makes the FIFO its stdout and stderr. */
  wrap(command: string[]): string[] {
    // The start gate's shell does the shim's work when it spawns this (spawn_gated.ts).
    return behindOutputShim(this.path, command);
  }

  /** Hand over whatever is buffered now (after the service ended, before closing). */
  async drain(): Promise<void> {
    await this.#read(Infinity, true);
  }

  /**
   * Hand nothing over until {@linkcode OutputFifo.resume}: what the service
   * writes meanwhile waits in the FIFO. The supervisor pauses around a
   * spawn so that its `started` line comes before the service's output.
   */
  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.#poller.unwatch(this.#fd);
  }

  /** Hand output over again (see {@linkcode OutputFifo.pause}). */
  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#poller.watch(this.#fd, () => this.#onReadable());
  }

  async #onReadable(): Promise<void> {
    // A service that fills a whole budget is flooding: its descriptor stays
    // out of the poll for a moment (the poller skips it while this handler
    // runs), so one flood takes at most ~50 MiB/s of the supervisor's one
    // thread and every other service's start and stop go on. The flooder
    // blocks in write() meanwhile; nothing is lost.
    if (await this.#read(MAX_PER_WAKE) >= MAX_PER_WAKE) await delay(FLOOD_PAUSE_MS);
  }

  /** Read up to `limit` bytes (less when the FIFO runs empty); how many were read. */
  #read(limit: number, evenPaused = false): Promise<number> {
    // One loop at a time: two would copy the same head and hand it over twice.
    const run = this.#turn.then(() => this.#readNow(limit, evenPaused));
    this.#turn = run.then(() => {}, () => {});
    return run;
  }

  #turn: Promise<void> = Promise.resolve();

  async #readNow(limit: number, evenPaused: boolean): Promise<number> {
    if (this.#closed) return 0;
    this.#reading = true;
    let total = 0;
    try {
      while (!this.#closed && (evenPaused || !this.#paused) && total < limit) {
        const buf = new Uint8Array(READ_CHUNK);
        const n = this.#peek(buf);
        if (n <= 0) break; // EAGAIN: empty for now
        total += n;
        let left = n;
        const taken = (k: number) => {
          k = Math.min(k, left);
          left -= k;
          if (this.#scratch && k > 0) this.#take(k);
        };
        const move = (fd: number, k: number) => {
          // Plain reads: the bytes left the FIFO already; the handler writes them.
          if (!this.#scratch) return 0;
          const moved = this.#move(fd, Math.min(k, left));
          left -= moved;
          return moved;
        };
        await this.#onOutput(buf.subarray(0, n), taken, move);
        taken(left);
      }
    } finally {
      this.#reading = false;
      if (this.#closed) this.#closeFds();
    }
    return total;
  }

  /** The FIFO's head into `buf`: copied (tee) when it can be, else read. */
  #peek(buf: Uint8Array<ArrayBuffer>): number {
    const lib = libc()!;
    if (this.#scratch === undefined) return Number(lib.read(this.#fd, buf, BigInt(buf.length)));
    const [scratchRead, scratchWrite] = this.#scratch;
    const copied = Number(lib.tee(this.#fd, scratchWrite, BigInt(buf.length), SPLICE_F_NONBLOCK));
    if (copied < 0 && errno() !== ERRNO.EAGAIN) {
      // No tee here (a kernel or sandbox without it): plain reads from now on.
      for (const fd of this.#scratch) lib.close(fd);
      this.#scratch = undefined;
      return this.#peek(buf);
    }
    if (copied <= 0) return copied;
    let off = 0;
    while (off < copied) {
      const n = Number(lib.read(scratchRead, buf.subarray(off, copied), BigInt(copied - off)));
      if (n <= 0) break;
      off += n;
    }
    return off;
  }

  /** Take `n` bytes (already handed over) out of the FIFO. */
  #take(n: number): void {
    const lib = libc()!;
    const sink = takenSink ??= new Uint8Array(READ_CHUNK);
    while (n > 0) {
      const got = Number(lib.read(this.#fd, sink, BigInt(Math.min(n, sink.length))));
      if (got <= 0) return; // someone else read it (the service's own end is read-write)
      n -= got;
    }
  }

  /**
   * Move the FIFO's next `n` bytes to the end of the file at `fd` with
   * splice(2): each byte is written and taken out of the FIFO in one system
   * call (a SIGKILL between the two cannot be). How many it moved.
   */
  #move(fd: number, n: number): number {
    if (this.#noSplice || n <= 0) return 0;
    const lib = libc()!;
    if (Number(lib.lseek(fd, 0n, SEEK_END)) < 0) return 0;
    let moved = 0;
    while (moved < n) {
      const got = Number(lib.splice(this.#fd, null, fd, null, BigInt(n - moved), 0));
      if (got > 0) {
        moved += got;
        continue;
      }
      // Not for this kind of file or kernel: write from the copy from now on.
      const why = got < 0 ? errno() : 0;
      if (why === ERRNO.EINVAL || why === ERRNO.ENOSYS) this.#noSplice = true;
      break;
    }
    return moved;
  }

  /** splice(2) failed as unsupported once: the handler writes every piece. */
  #noSplice = false;

  /**
   * Stop reading and close the supervisor's end. The FIFO stays: the
   * service may still hold it, and the next supervisor reads on from it.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.unwatch(this.#fd);
    // A chunk being handed over is taken out of the FIFO first (or it
    // would be written again by the next reader); the loop closes then.
    if (!this.#reading) this.#closeFds();
  }

  #closeFds(): void {
    const lib = libc()!;
    lib.close(this.#fd);
    if (this.#scratch) { for (const fd of this.#scratch) lib.close(fd); }
  }

  /** Close and remove the FIFO (the service has ended). */
  async remove(): Promise<void> {
    this.close();
    await Deno.remove(this.path).catch(() => {});
  }
}

/** A non-blocking pipe for tee's copies (its default 64 KiB is one READ_CHUNK); none: plain reads. */
function scratchPipe(): [number, number] | undefined {
  const fds = new Int32Array(2);
  if (libc()!.pipe2(fds, O_NONBLOCK | O_CLOEXEC) !== 0) return undefined;
  return [fds[0], fds[1]];
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new PidkitError(`cannot inspect ${path}: ${(err as Error).message}`);
  }
}

function refusal(info: Deno.FileInfo, owner: number): string | undefined {
  if (info.isSymlink) return "is a symbolic link";
  if (!info.isFifo) return "exists and is not a FIFO";
  if (info.uid !== owner && info.uid !== (Deno.uid() ?? 0)) return `is owned by uid ${info.uid}`;
  return undefined;
}
