/**
 * One `poll(2)` over every descriptor a supervisor watches (notify sockets,
 * notification pipes), run on a worker thread through the `pollAsync` FFI
 * symbol so the event loop keeps going. One pending call serves all
 * descriptors; a wake pipe ends it when the set changes or on close.
 *
 * Why not one pending read per descriptor: each pending `FsFile.read` or
 * FFI call holds a thread of Deno's blocking pool; a supervisor of many
 * services would hold as many threads (docs/runtime_facts.md, "Output
 * that survives the death of its reader").
 *
 * @module
 */

import { type Libc, libc } from "./libc.ts";

const POLLIN = 0x1;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

/** What to do when a descriptor becomes readable (or reports an error/hang-up). */
export type ReadableHandler = () => void | Promise<void>;

/**
 * Watches descriptors for readability with one poll at a time.
 *
 * @example
 * ```ts
 * import { FdPoller } from "./fd_poller.ts";
 * const poller = FdPoller.create();
 * // poller?.watch(fd, () => console.log("readable"));
 * await poller?.close();
 * ```
 */
export class FdPoller {
  readonly #lib: Libc;
  readonly #handlers = new Map<number, ReadableHandler>();
  readonly #wakeRead: number;
  readonly #wakeWrite: number;
  #closed = false;
  #loop: Promise<void> | undefined;

  private constructor(lib: Libc, wakeRead: number, wakeWrite: number) {
    this.#lib = lib;
    this.#wakeRead = wakeRead;
    this.#wakeWrite = wakeWrite;
  }

  /** A poller, or `undefined` where FFI is unavailable. */
  static create(): FdPoller | undefined {
    const lib = libc();
    if (lib === undefined) return undefined;
    const fds = new Int32Array(2);
    if (lib.pipe2(fds, O_NONBLOCK | O_CLOEXEC) !== 0) return undefined;
    return new FdPoller(lib, fds[0], fds[1]);
  }

  /** Call `handler` whenever `fd` is readable (until {@linkcode FdPoller.unwatch}). */
  watch(fd: number, handler: ReadableHandler): void {
    this.#handlers.set(fd, handler);
    this.#wake();
    this.#loop ??= this.#run();
  }

  /** Stop watching `fd` (the caller closes it afterwards). */
  unwatch(fd: number): void {
    if (this.#handlers.delete(fd)) this.#wake();
  }

  /** End the poll loop and close the wake pipe. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await this.#loop;
    this.#lib.close(this.#wakeRead);
    this.#lib.close(this.#wakeWrite);
  }

  #wake(): void {
    this.#lib.write(this.#wakeWrite, new Uint8Array([1]), 1n);
  }

  async #run(): Promise<void> {
    const drain = new Uint8Array(64);
    while (!this.#closed) {
      if (this.#handlers.size === 0) {
        // Nothing to watch: end the loop (a pending poll would keep the
        // process alive); the next watch starts it again.
        this.#loop = undefined;
        return;
      }
      // A descriptor whose handler still runs is left out until it is done:
      // one slow handler (a log write to a slow disk) never holds up the others.
      const fds = [
        this.#wakeRead,
        ...[...this.#handlers.keys()].filter((fd) => !this.#busy.has(fd)),
      ];
      const set = new Uint8Array(8 * fds.length);
      const view = new DataView(set.buffer);
      fds.forEach((fd, i) => {
        view.setInt32(8 * i, fd, true);
        view.setInt16(8 * i + 4, POLLIN, true);
      });
      const n = await this.#lib.pollAsync(set, BigInt(fds.length), -1);
      if (this.#closed) return;
      if (n < 0) continue; // EINTR
      for (let i = 0; i < fds.length; i++) {
        const revents = view.getInt16(8 * i + 6, true);
        if (revents === 0) continue;
        if (i === 0) {
          while (this.#lib.read(this.#wakeRead, drain, BigInt(drain.length)) > 0) { /* drain */ }
          continue;
        }
        this.#dispatch(fds[i], revents);
      }
    }
  }

  #busy = new Set<number>();

  /** Run `fd`'s handler on its own; the fd is polled again once it is done. */
  #dispatch(fd: number, revents: number): void {
    const handler = this.#handlers.get(fd);
    if (handler === undefined) return;
    if (revents & POLLNVAL) {
      this.#handlers.delete(fd); // closed under us: never poll it again
      return;
    }
    const hungUp = (revents & (POLLERR | POLLHUP)) !== 0 && (revents & POLLIN) === 0;
    this.#busy.add(fd);
    void (async () => {
      try {
        await handler();
      } catch { /* a handler's failure must not end the loop */ }
      this.#busy.delete(fd);
      // Nothing more will ever come from a hung-up descriptor.
      if (hungUp && this.#handlers.get(fd) === handler) this.#handlers.delete(fd);
      if (!this.#closed) this.#wake();
    })();
  }
}
