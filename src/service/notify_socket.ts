/**
 * The sd_notify receiving end: a datagram Unix socket (`NOTIFY_SOCKET`)
 * with `SO_PASSCRED`, so every datagram arrives with the sender's PID, uid
 * and gid as the kernel vouches for them (SCM_CREDENTIALS).
 *
 * Built on FFI (`socket`, `bind`, `setsockopt`, `recvmsg` from
 * `libc.ts`), not `Deno.listenDatagram`: that needs `--unstable-net` for
 * Unix datagrams and reports no credentials, and without the sender's PID
 * the supervisor could not tell its service from any other local process
 * (deno-runtime-facts section 19).
 *
 * @module
 */

import { errno, type Libc, libc } from "../os/libc.ts";
import { PidkitError } from "../os/errors.ts";
import { MAX_SOCKET_PATH, sockaddrUn, SOCKET } from "../os/socket_address.ts";

const { AF_UNIX, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_CLOEXEC, SOL_SOCKET } = SOCKET;
const SO_PASSCRED = 16;
const SO_RCVBUF = 8;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
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
    return { ...sender, text, oversized };
  }

  /** Credentials from the control data; descriptors someone passed (SCM_RIGHTS) are closed. */
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
      }
      off += (len + 7) & ~7;
    }
    return out;
  }

  /** Close the socket and remove its file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
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

/**
 * Where the notify socket of service `name` in run dir `dir` lives:
 * `DIR/NAME.notify`, or, when that is too long for `sun_path`, a short
 * path in a fresh private directory under /tmp (`fallback` is then true and
 * the caller says where it went).
 *
 * @example
 * ```ts
 * import { notifySocketPath } from "./notify_socket.ts";
 * const { path } = notifySocketPath("/run/pidkit", "web"); // "/run/pidkit/web.notify"
 * ```
 */
export function notifySocketPath(
  dir: string,
  name: string,
): { path: string; fallback: boolean } {
  const preferred = `${dir}/${name}.notify`;
  if (new TextEncoder().encode(preferred).length <= MAX_SOCKET_PATH) {
    return { path: preferred, fallback: false };
  }
  const short = Deno.makeTempDirSync({ dir: "/tmp", prefix: "pidkit-n-" });
  return { path: `${short}/notify`, fallback: true };
}
