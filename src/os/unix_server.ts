/**
 * A Unix stream socket server through libc, with the peer's credentials.
 *
 * Why not `Deno.listen({ transport: "unix" })`: a Deno connection exposes
 * no descriptor, so the kernel's word on who connected (`SO_PEERCRED`)
 * cannot be read; a control socket must know it. Accepting through libc
 * gives the descriptor. Every descriptor (the listener and each connection)
 * is non-blocking and watched by the process's one {@linkcode FdPoller}, so
 * a server of many clients holds no thread per connection.
 *
 * The protocol on top is line-based: a client sends one line, the server
 * answers with one line (see {@linkcode UnixConnection.readLine}).
 *
 * @module
 */

import { ERRNO, errno, type Libc, libc } from "./libc.ts";
import { MAX_SOCKET_PATH, sockaddrUn, SOCKET, socketAddress } from "./socket_address.ts";

export { MAX_SOCKET_PATH, socketAddress };
import type { FdPoller } from "./fd_poller.ts";
import { PidkitError } from "./errors.ts";
import { delay } from "./delay.ts";

const { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC, SOL_SOCKET } = SOCKET;
const SO_PEERCRED = 17;

/** Who is on the other end of a connection, as the kernel saw it at `connect`. */
export interface PeerCredentials {
  /** The peer's PID. */
  pid: number;
  /** Its effective user ID. */
  uid: number;
  /** Its effective group ID. */
  gid: number;
}

/**
 * One accepted connection: read the request line, write the answer, close.
 *
 * @example
 * ```ts
 * import type { UnixConnection } from "./unix_server.ts";
 * async function echo(conn: UnixConnection) {
 *   const line = await conn.readLine();
 *   if (line !== undefined) await conn.write(line + "\n");
 *   conn.close();
 * }
 * console.log(echo);
 * ```
 */
export class UnixConnection {
  readonly #lib: Libc;
  readonly #poller: FdPoller;
  readonly #fd: number;
  #closed = false;
  /** The peer, from `SO_PEERCRED`. */
  readonly peer: PeerCredentials;

  constructor(lib: Libc, poller: FdPoller, fd: number, peer: PeerCredentials) {
    this.#lib = lib;
    this.#poller = poller;
    this.#fd = fd;
    this.peer = peer;
  }

  /**
   * The first line the peer sends (without its newline); `undefined` when it
   * closes first or sends more than `maxBytes` without one.
   */
  readLine(maxBytes = 1 << 20): Promise<string | undefined> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(16384);
    return new Promise((resolve) => {
      const done = (line: string | undefined) => {
        this.#poller.unwatch(this.#fd);
        resolve(line);
      };
      const onReadable = () => {
        for (;;) {
          if (this.#closed) return done(undefined);
          const n = Number(this.#lib.read(this.#fd, buf, BigInt(buf.length)));
          if (n < 0) {
            const e = errno();
            if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return;
            return done(undefined);
          }
          if (n === 0) return done(undefined);
          const nl = buf.subarray(0, n).indexOf(10);
          chunks.push(buf.slice(0, nl >= 0 ? nl : n));
          size += n;
          if (nl >= 0) {
            const all = new Uint8Array(chunks.reduce((t, c) => t + c.length, 0));
            let off = 0;
            for (const c of chunks) all.set(c, (off += c.length) - c.length);
            return done(new TextDecoder().decode(all));
          }
          if (size > maxBytes) return done(undefined);
        }
      };
      this.#poller.watch(this.#fd, onReadable);
    });
  }

  /**
   * Whether the peer has closed its end (after its request line it sends
   * nothing more, so a read that finds the end of the stream means it is
   * gone; one that would block means it waits). Call after
   * {@linkcode UnixConnection.readLine}.
   */
  peerGone(): boolean {
    if (this.#closed) return true;
    const n = Number(this.#lib.read(this.#fd, new Uint8Array(1), 1n));
    if (n === 0) return true;
    if (n > 0) return false; // more than one line: not ours to judge here
    const e = errno();
    return e !== ERRNO.EAGAIN && e !== ERRNO.EINTR; // reset by the peer
  }

  /** Write `text` whole; false when the peer went away. */
  async write(text: string): Promise<boolean> {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length && !this.#closed) {
      const chunk = bytes.subarray(off);
      const n = Number(this.#lib.write(this.#fd, chunk, BigInt(chunk.length)));
      if (n > 0) {
        off += n;
        continue;
      }
      const e = errno();
      if (e !== ERRNO.EAGAIN && e !== ERRNO.EINTR) return false;
      await delay(2); // the peer reads slowly: answers are small, this is rare
    }
    return off === bytes.length;
  }

  /** Close the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.unwatch(this.#fd);
    this.#lib.close(this.#fd);
  }
}

/**
 * A listening Unix stream socket at a path, mode 0600, watched by a poller.
 *
 * @example
 * ```ts
 * import { FdPoller } from "./fd_poller.ts";
 * import { UnixServer } from "./unix_server.ts";
 * const poller = FdPoller.create()!;
 * const server = UnixServer.listen("/tmp/demo.sock", poller, (conn) => conn.close());
 * server.close();
 * await poller.close();
 * ```
 */
export class UnixServer {
  readonly #lib: Libc;
  readonly #poller: FdPoller;
  readonly #fd: number;
  readonly #onConnection: (conn: UnixConnection) => void;
  #closed = false;
  /** The socket's path. */
  readonly path: string;
  #address?: { path: string; close(): void };
  /** The socket file's identity once bound: `dev:ino`. */
  #identity?: string;

  private constructor(
    lib: Libc,
    poller: FdPoller,
    fd: number,
    path: string,
    onConnection: (conn: UnixConnection) => void,
  ) {
    this.#lib = lib;
    this.#poller = poller;
    this.#fd = fd;
    this.path = path;
    this.#onConnection = onConnection;
  }

  /**
   * Listen at `path` (a stale socket file there is replaced: the caller
   * holds the lock that says no one else listens there). Throws
   * {@linkcode PidkitError} with a one-line reason.
   */
  static listen(
    path: string,
    poller: FdPoller,
    onConnection: (conn: UnixConnection) => void,
  ): UnixServer {
    const lib = libc();
    if (lib === undefined) throw new PidkitError("a control socket needs FFI on Linux (-A)");
    const address = socketAddress(path);
    try {
      const server = UnixServer.#listen(lib, address.path, poller, onConnection);
      server.#address = address;
      return server;
    } catch (err) {
      address.close();
      throw err;
    }
  }

  static #listen(
    lib: Libc,
    path: string,
    poller: FdPoller,
    onConnection: (conn: UnixConnection) => void,
  ): UnixServer {
    const sockaddr = sockaddrUn(path);
    if (sockaddr === undefined) {
      throw new PidkitError(
        `control socket path ${path} is too long for sun_path (${MAX_SOCKET_PATH} bytes)`,
      );
    }
    try {
      if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
    } catch { /* absent */ }
    const fd = lib.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new PidkitError(`cannot create a control socket: errno ${errno()}`);
    const fail = (what: string) => {
      const e = errno();
      lib.close(fd);
      return new PidkitError(`cannot ${what} control socket ${path}: errno ${e}`);
    };
    if (lib.bind(fd, sockaddr.addr, sockaddr.length) !== 0) throw fail("bind");
    // Before listen: until then a connect is refused, so no one gets in
    // through the umask's mode. The peer's uid is checked as well.
    try {
      Deno.chmodSync(path, 0o600);
    } catch {
      throw fail("set the mode of");
    }
    if (lib.listen(fd, 512) !== 0) throw fail("listen on");
    const server = new UnixServer(lib, poller, fd, path, onConnection);
    server.#identity = identityOf(path);
    poller.watch(fd, () => server.#acceptAll());
    return server;
  }

  #acceptAll(): void {
    for (;;) {
      const conn = this.#accept();
      if (conn === undefined) return;
      this.#onConnection(conn);
    }
  }

  #accept(): UnixConnection | undefined {
    if (this.#closed) return undefined;
    const fd = this.#lib.accept4(this.#fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return undefined; // EAGAIN: none left (or the peer gave up first)
    const cred = new Int32Array(3);
    const len = new Uint32Array([12]);
    if (this.#lib.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) {
      this.#lib.close(fd);
      return this.#accept();
    }
    return new UnixConnection(this.#lib, this.#poller, fd, {
      pid: cred[0],
      uid: cred[1],
      gid: cred[2],
    });
  }

  /**
   * Whether the path still names this server's socket (not removed, not
   * replaced by another file). One `lstat`.
   */
  bound(): boolean {
    return this.#identity !== undefined && identityOf(this.path) === this.#identity;
  }

  /**
   * Stop listening: remove the path first if it is still ours (a new client
   * finds no socket, not a dead one), answer every connection already
   * queued with `answer`, close.
   */
  async close(answer?: string): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.bound()) Deno.removeSync(this.path);
    } catch { /* gone */ }
    this.#poller.unwatch(this.#fd);
    for (;;) {
      const conn = this.#accept();
      if (conn === undefined) break;
      if (answer !== undefined) await conn.write(answer);
      conn.close();
    }
    this.#closed = true;
    this.#lib.close(this.#fd);
    this.#address?.close();
  }
}

/** `dev:ino` of the file at `path` (not followed), `undefined` when there is none. */
function identityOf(path: string): string | undefined {
  try {
    const st = Deno.lstatSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
