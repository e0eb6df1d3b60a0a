/**
 * inotify(7) through FFI, read by the supervisor's one poll loop
 * ({@linkcode FdPoller}): directories watched one by one (the caller
 * decides which, so an ignored `node_modules` costs no watch at all).
 *
 * Why not `Deno.watchFs`: with a service's output FIFO in a watched
 * directory, its watcher thread (`notify-rs inotify`) was found blocked in
 * `open(2)` of the FIFO (kernel stack `fifo_open`, `wait_for_partner`: an
 * open for reading waits for a writer), and the supervisor's event loop
 * stopped with it (`pidkit stop` hung in 3 of 6 runs of a restart-twice-
 * then-stop loop on Deno 2.9.6; the exact trigger was not isolated). Here
 * nothing is ever opened but the inotify descriptor.
 *
 * @module
 */

import { cString, libc } from "./libc.ts";
import type { FdPoller } from "./fd_poller.ts";

const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const IN_MODIFY = 0x2;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400;
const IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x1000000;
const IN_DONT_FOLLOW = 0x2000000;
const IN_EXCL_UNLINK = 0x4000000;
const IN_Q_OVERFLOW = 0x4000;
/** The event is about a directory. */
export const IN_ISDIR = 0x40000000;

const WATCH_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |
  IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

/** One change: the path (directory + name), and whether it is a directory. */
export interface InotifyChange {
  /** The changed path (absolute when the watched directory was). */
  path: string;
  /** The path is a directory (made, moved, removed). */
  isDir: boolean;
  /** It came into being here (created, or moved in). */
  created: boolean;
  /** The kernel dropped events (queue overflow): anything may have changed. */
  overflow?: boolean;
}

/**
 * An inotify descriptor and its watched directories.
 *
 * @example
 * ```ts
 * import { FdPoller } from "./fd_poller.ts";
 * import { Inotify } from "./inotify.ts";
 * const poller = FdPoller.create()!;
 * const watch = Inotify.open(poller, (c) => console.log(c.path));
 * watch?.add("/tmp");
 * watch?.close();
 * await poller.close();
 * ```
 */
export class Inotify {
  readonly #fd: number;
  readonly #poller: FdPoller;
  readonly #onChange: (change: InotifyChange) => void;
  readonly #dirs = new Map<number, string>();
  readonly #buf = new Uint8Array(64 * 1024);
  #closed = false;

  private constructor(fd: number, poller: FdPoller, onChange: (c: InotifyChange) => void) {
    this.#fd = fd;
    this.#poller = poller;
    this.#onChange = onChange;
    poller.watch(fd, () => this.#read());
  }

  /** A new inotify instance read by `poller`; undefined without FFI or inotify. */
  static open(poller: FdPoller, onChange: (change: InotifyChange) => void): Inotify | undefined {
    const fd = libc()?.inotify_init1(IN_NONBLOCK | IN_CLOEXEC) ?? -1;
    return fd < 0 ? undefined : new Inotify(fd, poller, onChange);
  }

  /** Watch directory `dir` (not its subdirectories); false when it cannot be watched. */
  add(dir: string): boolean {
    if (this.#closed) return false;
    const wd = libc()!.inotify_add_watch(this.#fd, cString(dir), WATCH_MASK);
    if (wd < 0) return false;
    this.#dirs.set(wd, dir);
    return true;
  }

  /** How many directories are watched. */
  get size(): number {
    return this.#dirs.size;
  }

  /** Stop watching; the descriptor is closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.unwatch(this.#fd);
    libc()!.close(this.#fd);
  }

  #read(): void {
    const lib = libc()!;
    const view = new DataView(this.#buf.buffer);
    const decoder = new TextDecoder();
    while (!this.#closed) {
      const n = Number(lib.read(this.#fd, this.#buf, BigInt(this.#buf.length)));
      if (n <= 0) return; // EAGAIN: all read
      // struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; }
      for (let at = 0; at + 16 <= n;) {
        const wd = view.getInt32(at, true);
        const mask = view.getUint32(at + 4, true);
        const len = view.getUint32(at + 12, true);
        const raw = this.#buf.subarray(at + 16, at + 16 + len);
        const end = raw.indexOf(0);
        const name = decoder.decode(end < 0 ? raw : raw.subarray(0, end));
        at += 16 + len;
        if (mask & IN_Q_OVERFLOW) {
          this.#onChange({ path: "", isDir: false, created: false, overflow: true });
          continue;
        }
        const dir = this.#dirs.get(wd);
        if (dir === undefined) continue;
        if (mask & IN_IGNORED) { // its directory is gone
          this.#dirs.delete(wd);
          continue;
        }
        if (mask & IN_DELETE_SELF) continue; // the parent's watch reports it
        this.#onChange({
          path: name ? `${dir}/${name}` : dir,
          isDir: (mask & IN_ISDIR) !== 0,
          created: (mask & (IN_CREATE | IN_MOVED_TO)) !== 0,
        });
      }
    }
  }
}
