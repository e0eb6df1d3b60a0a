/**
 * The sd_notify receiving end: a datagram Unix socket (`NOTIFY_SOCKET`)
 * with `SO_PASSCRED`, so every datagram arrives with the sender's PID, uid
 * and gid as the kernel vouches for them (SCM_CREDENTIALS).
 *
 * Built on FFI (`socket`, `bind`, `setsockopt`, `recvmsg` from
 * `libc.ts`), not `Deno.listenDatagram`: that needs `--unstable-net` for
 * Unix datagrams and reports no credentials, and without the sender's PID
 * the supervisor could not tell its service from any other local process
 * (docs/runtime_facts.md, "An sd_notify receiver through FFI").
 *
 * With `SO_PASSPIDFD` (Linux 6.5+) each datagram also brings a pidfd of
 * its sender. A sender that exited and was reaped before the datagram was
 * read (a `READY=1` from a helper such as `systemd-notify`, on a loaded
 * machine) is gone from /proc, but its pidfd still names the cgroup it was
 * in ({@linkcode NotifyDatagram.senderCgroupId}).
 *
 * @module
 */

import { errno, type Libc, libc } from "../../os/libc.ts";
import { PidkitError } from "../../os/errors.ts";
import { pidfdCgroupId } from "../../os/pidfd_info.ts";
import { MAX_SOCKET_PATH, sockaddrUn, SOCKET } from "../../os/socket_address.ts";

const { AF_UNIX, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_CLOEXEC, SOL_SOCKET } = SOCKET;
const SO_PASSCRED = 16;
const SO_RCVBUF = 8;
const SO_PASSPIDFD = 76;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const SCM_PIDFD = 4;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;

export { MAX_SOCKET_PATH };
/** The largest datagram accepted (as systemd): longer ones are dropped whole. */
export const MAX_NOTIFY_BYTES = 4096;

/** One datagram: the sender as the kernel reports it, and the text. */
export interface NotifyDatagram {
  /** Sender PID (0 when the kernel attached no credentials). */
  pid: number;
  /** Sender uid. */
  uid: number;
  /** Sender gid. */
  gid: number;
  /** The payload; empty when it was dropped as oversized. */
  text: string;
  /** The datagram was larger than {@linkcode MAX_NOTIFY_BYTES} and was dropped. */
  oversized: boolean;
  /**
   * The cgroup2 id of the sender, also when it has exited since it sent
   * (from the pidfd the kernel attached); `undefined` when the kernel does
   * not say. Valid only until the next `receive()`.
   */
  senderCgroupId(): bigint | undefined;
}

const ptr = (b: ArrayBufferView | ArrayBuffer) =>
  BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b as BufferSource)));

/**
 * A bound notify socket. {@linkcode NotifySocket.receive} takes the next
 * datagram without blocking; watch {@linkcode NotifySocket.fd} with a
 * poller to know when one is there.
 *
 * @example
 * ```ts
 * import { NotifySocket } from "./notify_socket.ts";
 * const socket = NotifySocket.bind("/tmp/demo.notify");
 * console.log(socket.receive()); // undefined: nothing sent yet
 * socket.close();
 * ```
 */
export class NotifySocket {
  /** The socket's path (the value of `NOTIFY_SOCKET`). */
  readonly path: string;
  /** The descriptor, for polling. */
  readonly fd: number;
  readonly #lib: Libc;
  readonly #data = new Uint8Array(MAX_NOTIFY_BYTES);
  readonly #control = new Uint8Array(256);
  readonly #iov = new BigUint64Array(2);
  readonly #msg = new BigUint64Array(7);
  readonly #msgBytes = new Uint8Array(this.#msg.buffer);
  readonly #decoder = new TextDecoder();
  /** The last datagram's sender pidfd (SCM_PIDFD), closed at the next receive. */
  #pidfd = -1;
  /** Counts datagrams, so an old datagram's `senderCgroupId` never reads a newer pidfd. */
  #received = 0;
  #closed = false;

  private constructor(lib: Libc, fd: number, path: string) {
    this.#lib = lib;
    this.fd = fd;
    this.path = path;
    this.#iov[0] = ptr(this.#data);
    this.#iov[1] = BigInt(this.#data.length);
    // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags
    this.#msg[2] = ptr(this.#iov);
    this.#msg[3] = 1n;
    this.#msg[4] = ptr(this.#control);
  }

  /**
   * Create the socket at `path` (a stale socket file there is replaced),
   * mode 0600, owned by `owner` when given. Throws {@linkcode PidkitError}
   * with a one-line reason.
   */
  static bind(path: string, owner: { uid?: number; gid?: number } = {}): NotifySocket {
    const lib = libc();
    if (lib === undefined) {
      throw new PidkitError("--ready-notify needs FFI on Linux (run Deno with -A)");
    }
    const sockaddr = sockaddrUn(path);
    if (sockaddr === undefined) {
      throw new PidkitError(
        `notify socket path ${path} is ${
          new TextEncoder().encode(path).length
        } bytes; sun_path takes ${MAX_SOCKET_PATH}`,
      );
    }
    removeStaleSocket(path);
    const fd = lib.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new PidkitError(`cannot create a notify socket: errno ${errno()}`);

    const fail = (what: string) => {
      const e = errno();
      lib.close(fd);
      return new PidkitError(`cannot ${what} notify socket ${path}: errno ${e}`);
    };
    if (lib.bind(fd, sockaddr.addr, sockaddr.length) !== 0) throw fail("bind");
    if (lib.setsockopt(fd, SOL_SOCKET, SO_PASSCRED, new Int32Array([1]), 4) !== 0) {
      throw fail("set SO_PASSCRED on");
    }
    // A pidfd of each sender (ignored where the kernel lacks it: then a
    // sender gone before its datagram is read cannot be vouched for).
    lib.setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, new Int32Array([1]), 4);
    // A larger queue absorbs bursts (a flood only costs the sender waits).
    lib.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([1 << 20]), 4);
    try {
      Deno.chmodSync(path, 0o600);
      if (owner.uid !== undefined) Deno.chownSync(path, owner.uid, owner.gid ?? null);
    } catch (err) {
      lib.close(fd);
      throw new PidkitError(`cannot set the owner of ${path}: ${(err as Error).message}`);
    }
    return new NotifySocket(lib, fd, path);
  }

  /** The next datagram, or `undefined` when none is queued. */
  receive(): NotifyDatagram | undefined {
    this.#closePidfd();
    if (this.#closed) return undefined;
    const msg = this.#msg;
    msg[5] = BigInt(this.#control.length); // the kernel rewrites it: reset each time
    msg[6] = 0n;
    const n = Number(
      this.#lib.recvmsg(this.fd, this.#msgBytes, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC),
    );
    if (n < 0) return undefined;
    const flags = Number(msg[6] & 0xffffffffn);
    const sender = this.#readControl(Number(msg[5]));
    const oversized = (flags & MSG_TRUNC) !== 0 || n > this.#data.length;
    const text = oversized ? "" : this.#decoder.decode(this.#data.subarray(0, n));
    const seq = ++this.#received;
    const senderCgroupId = () => seq === this.#received ? pidfdCgroupId(this.#pidfd) : undefined;
    return { ...sender, text, oversized, senderCgroupId };
  }

  #closePidfd(): void {
    if (this.#pidfd >= 0) this.#lib.close(this.#pidfd);
    this.#pidfd = -1;
  }

  /**
   * Credentials and the sender's pidfd from the control data; descriptors
   * someone passed (SCM_RIGHTS) are closed.
   */
  #readControl(length: number): { pid: number; uid: number; gid: number } {
    const view = new DataView(this.#control.buffer);
    const out = { pid: 0, uid: -1, gid: -1 };
    let off = 0;
    while (off + 16 <= length) {
      const len = Number(view.getBigUint64(off, true));
      if (len < 16 || off + len > length) break;
      const level = view.getInt32(off + 8, true);
      const type = view.getInt32(off + 12, true);
      if (level === SOL_SOCKET && type === SCM_CREDENTIALS && len >= 28) {
        out.pid = view.getInt32(off + 16, true);
        out.uid = view.getUint32(off + 20, true);
        out.gid = view.getUint32(off + 24, true);
      } else if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        for (let p = off + 16; p + 4 <= off + len; p += 4) this.#lib.close(view.getInt32(p, true));
      } else if (level === SOL_SOCKET && type === SCM_PIDFD && len >= 20) {
        this.#closePidfd(); // only one is expected
        this.#pidfd = view.getInt32(off + 16, true);
      }
      off += (len + 7) & ~7;
    }
    return out;
  }

  /** Close the socket and remove its file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closePidfd();
    this.#lib.close(this.fd);
    try {
      Deno.removeSync(this.path);
    } catch { /* already gone */ }
  }
}

/** Remove what a killed predecessor left at `path`, but only a socket. */
function removeStaleSocket(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new PidkitError(`${path} exists and is not a socket; remove it or use another --dir`);
  }
  Deno.removeSync(path);
}

/** One `KEY=VALUE` assignment of a notify message. */
export interface NotifyField {
  /** The key, e.g. `READY`. */
  key: string;
  /** The value, e.g. `1`. */
  value: string;
}

/**
 * The assignments of a notify datagram: newline-separated `KEY=VALUE`
 * lines; lines without `=`, with an empty or malformed key, or with a NUL
 * byte are skipped (as sd_notify's receivers do).
 *
 * @example
 * ```ts
 * import { parseNotify } from "./notify_socket.ts";
 * parseNotify("READY=1\nSTATUS=up"); // [{ key: "READY", value: "1" }, { key: "STATUS", value: "up" }]
 * ```
 */
export function parseNotify(text: string): NotifyField[] {
  const out: NotifyField[] = [];
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0 || line.includes("\0")) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) continue;
    out.push({ key, value: line.slice(eq + 1) });
  }
  return out;
}

/** The directory under which notify sockets too long for their run dir go, per uid. */
export const NOTIFY_SHORT_ROOT = "/tmp";

/**
 * Where the notify socket of service `name` in run dir `dir` lives:
 * `DIR/NAME.notify`, or, when that is too long for `sun_path` or
 * `outOfReach` (a `--user` service that cannot search the run dir),
 * `/tmp/pidkit-n-UID/HASH/notify`: UID the supervisor's, HASH the first 24
 * hex digits of the SHA-256 of the run dir and name. The same service gets
 * the same path every time, so a supervisor that adopts it rebinds where
 * the service still sends (`fallback` is then true and the caller makes the
 * directories with {@linkcode prepareNotifyDir}).
 *
 * @example
 * ```ts
 * import { notifySocketPath } from "./notify_socket.ts";
 * const { path } = await notifySocketPath("/run/pidkit", "web"); // "/run/pidkit/web.notify"
 * ```
 */
export async function notifySocketPath(
  dir: string,
  name: string,
  options: { outOfReach?: boolean } = {},
): Promise<{ path: string; fallback: boolean }> {
  const preferred = `${dir}/${name}.notify`;
  if (!options.outOfReach && new TextEncoder().encode(preferred).length <= MAX_SOCKET_PATH) {
    return { path: preferred, fallback: false };
  }
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${dir}\0${name}`)),
  );
  const hash = [...digest.subarray(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { path: `${shortRoot()}/${hash}/notify`, fallback: true };
}

/** `/tmp/pidkit-n-UID`: the supervisor's own directory of short notify paths. */
function shortRoot(): string {
  return `${NOTIFY_SHORT_ROOT}/pidkit-n-${Deno.uid() ?? 0}`;
}

/**
 * Make the directories of a short notify path (see
 * {@linkcode notifySocketPath}): `/tmp/pidkit-n-UID` mode 0711 (others may
 * pass, not list) and the service's own `HASH` directory mode 0700, owned
 * by the service's user when given. Both are reused when they are already
 * there and safe: a real directory (no symlink), owned by us (the service's
 * own: by us or its user), writable by no one else; anything else is
 * refused with a {@linkcode PidkitError} naming it, and left alone.
 *
 * @example
 * ```ts
 * import { notifySocketPath, prepareNotifyDir } from "./notify_socket.ts";
 * const where = await notifySocketPath("/run/pidkit", "web");
 * if (where.fallback) prepareNotifyDir(where.path);
 * ```
 */
export function prepareNotifyDir(path: string, user?: { uid: number; gid: number }): string {
  const own = Deno.uid() ?? 0;
  const root = path.slice(0, path.lastIndexOf("/", path.lastIndexOf("/") - 1));
  const dir = path.slice(0, path.lastIndexOf("/"));
  safeDir(root, 0o711, [own]);
  safeDir(dir, 0o700, user ? [own, user.uid] : [own]);
  if (user) Deno.chownSync(dir, user.uid, user.gid);
  return dir;
}

function safeDir(path: string, mode: number, owners: number[]): void {
  try {
    Deno.mkdirSync(path, { mode });
    Deno.chmodSync(path, mode); // the umask may have taken bits
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw new PidkitError(`cannot make ${path} for the notify socket: ${(err as Error).message}`);
    }
  }
  const st = Deno.lstatSync(path);
  const problem = st.isSymlink
    ? "is a symbolic link"
    : !st.isDirectory
    ? "is not a directory"
    : !owners.includes(st.uid ?? -1)
    ? `is owned by uid ${st.uid}`
    : ((st.mode ?? 0) & 0o022) !== 0
    ? "is writable by others"
    : undefined;
  if (problem) {
    throw new PidkitError(
      `${path} ${problem}; refusing to put a notify socket there (remove it and start again)`,
    );
  }
}
