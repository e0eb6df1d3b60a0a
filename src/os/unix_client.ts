/**
 * The client side of a line protocol over a Unix stream socket, with a
 * deadline and no timer.
 *
 * Why not `Deno.connect` and a timer: a command's first `setTimeout` costs
 * it ~11-13 ms of Deno start-up (the timers load lazily), and a
 * `Deno.UnixConn` read cannot be given a time limit otherwise. Here the
 * socket is libc's, non-blocking, and the wait for an answer is one `poll`
 * with a timeout, run off the event loop (`nonblocking` FFI). Its own small
 * binding, not `libc.ts`'s: binding those ~30 symbols costs a command
 * ~6-9 ms, these seven ~1-2 ms (measured with `deno run` of each, 30 runs
 * interleaved).
 *
 * Without FFI (not Linux, or not allowed) it falls back to `Deno.connect`,
 * without a time limit.
 *
 * @module
 */

import { PidkitError } from "./errors.ts";
import { sockaddrUn, SOCKET } from "./socket_address.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let opened: Lib | null | undefined;

function lib(): Lib | undefined {
  if (opened !== undefined) return opened ?? undefined;
  opened = null;
  if (Deno.build.os !== "linux") return undefined;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      opened = Deno.dlopen(name, SYMBOLS).symbols;
      break;
    } catch { /* the next name; none: no FFI */ }
  }
  return opened ?? undefined;
}

const E = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EAGAIN: 11,
  EACCES: 13,
  ENOTSOCK: 88,
  ECONNREFUSED: 111,
} as const;
const POLLIN = 1;
const POLLOUT = 4;

/**
 * How a line exchange ended: `answer` (the first line that is not an
 * acknowledgement), `absent` (nothing listens at the path: no file, a
 * socket nobody listens on, or not a socket), `denied` (the socket's mode
 * keeps us out), `closed` (the server hung up before it answered), `late`
 * (the deadline passed first; `accepted` when the server had acknowledged
 * the request).
 *
 * @example
 * ```ts
 * import type { Exchange } from "./unix_client.ts";
 * const show = (e: Exchange) => e.kind === "answer" ? e.line : e.kind;
 * console.log(show({ kind: "absent" }));
 * ```
 */
export type Exchange =
  | { kind: "answer"; line: string }
  | { kind: "absent" }
  | { kind: "denied" }
  | { kind: "closed"; accepted: boolean }
  | { kind: "late"; accepted: boolean };

/**
 * Options of {@linkcode exchangeLine}.
 *
 * @example
 * ```ts
 * import type { ExchangeOptions } from "./unix_client.ts";
 * const o: ExchangeOptions = { deadline: Date.now() + 5000, ackDeadline: Date.now() + 1000 };
 * ```
 */
export interface ExchangeOptions {
  /** Give up at this time (ms since the epoch, as `Date.now()`). */
  deadline: number;
  /** Give up at this time unless an acknowledgement ({@linkcode ExchangeOptions.isAck}) came. */
  ackDeadline?: number;
  /** Whether a line is the server's acknowledgement (read on, not returned). */
  isAck?: (line: string) => boolean;
}

/**
 * Connect to the Unix stream socket at `path`, send `line` (a newline is
 * added) and wait, up to the deadline, for the answer line. Throws
 * {@linkcode PidkitError} only for the unexpected (say, too many open files).
 *
 * @example
 * ```ts
 * import { exchangeLine } from "./unix_client.ts";
 * const e = await exchangeLine("/tmp/pidkit-example/supervisor.sock", '{"op":"hello"}', {
 *   deadline: Date.now() + 2000,
 * });
 * console.log(e.kind);
 * ```
 */
export async function exchangeLine(
  path: string,
  line: string,
  options: ExchangeOptions,
): Promise<Exchange> {
  const c = lib();
  if (c === undefined) return await exchangeWithoutFfi(path, line, options);
  const address = sockaddrUn(path);
  if (address === undefined) throw new PidkitError(`socket path ${path} is too long`);
  const fd = c.socket(
    SOCKET.AF_UNIX,
    SOCKET.SOCK_STREAM | SOCKET.SOCK_NONBLOCK | SOCKET.SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) throw new PidkitError(`cannot create a socket: errno ${errnoOf(c)}`);
  try {
    if (c.connect(fd, address.addr, address.length) !== 0) {
      const e = errnoOf(c);
      if (e === E.ENOENT || e === E.ECONNREFUSED || e === E.ENOTSOCK) return { kind: "absent" };
      if (e === E.EACCES || e === E.EPERM) return { kind: "denied" };
      // A full listen queue: the server accepts nothing (frozen, or flooded).
      if (e === E.EAGAIN) return { kind: "late", accepted: false };
      throw new PidkitError(`cannot connect to ${path}: errno ${e}`);
    }
    return await talk(c, fd, line, options);
  } finally {
    c.close(fd);
  }
}

async function talk(c: Lib, fd: number, line: string, options: ExchangeOptions): Promise<Exchange> {
  let accepted = options.isAck === undefined || options.ackDeadline === undefined;
  const until = () =>
    accepted ? options.deadline : Math.min(options.deadline, options.ackDeadline!);
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  /** Wait until `events` or the deadline; false once it passed. */
  const wait = async (events: number): Promise<boolean> => {
    for (;;) {
      const left = until() - Date.now();
      if (left <= 0) return false;
      view.setInt16(4, events, true);
      view.setInt16(6, 0, true);
      if (await c.poll(pfd, 1n, Math.min(left, 2 ** 31 - 1)) > 0) return true;
    }
  };
  const out = new TextEncoder().encode(line + "\n");
  for (let off = 0; off < out.length;) {
    const n = Number(c.write(fd, out.subarray(off), BigInt(out.length - off)));
    if (n > 0) {
      off += n;
      continue;
    }
    const e = errnoOf(c);
    if (e !== E.EAGAIN && e !== E.EINTR) return { kind: "closed", accepted };
    if (!await wait(POLLOUT)) return { kind: "late", accepted };
  }
  const decoder = new TextDecoder();
  const buf = new Uint8Array(65536);
  let text = "";
  for (;;) {
    const n = Number(c.read(fd, buf, BigInt(buf.length)));
    if (n === 0) return { kind: "closed", accepted };
    if (n < 0) {
      const e = errnoOf(c);
      if (e !== E.EAGAIN && e !== E.EINTR) return { kind: "closed", accepted };
      if (!await wait(POLLIN)) return { kind: "late", accepted };
      continue;
    }
    text += decoder.decode(buf.subarray(0, n), { stream: true });
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
      const got = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (options.isAck?.(got)) accepted = true;
      else return { kind: "answer", line: got };
    }
  }
}

function errnoOf(c: Lib): number {
  const where = c.__errno_location();
  return where === null ? 0 : new Deno.UnsafePointerView(where).getInt32();
}

/** `Deno.connect`, no time limit: where FFI is not available. */
async function exchangeWithoutFfi(
  path: string,
  line: string,
  options: ExchangeOptions,
): Promise<Exchange> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused) {
      return { kind: "absent" };
    }
    if (err instanceof Deno.errors.PermissionDenied) return { kind: "denied" };
    throw new PidkitError(`cannot connect to ${path}: ${(err as Error).message}`);
  }
  let accepted = false;
  try {
    const bytes = new TextEncoder().encode(line + "\n");
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    const decoder = new TextDecoder();
    const buf = new Uint8Array(65536);
    let text = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return { kind: "closed", accepted };
      text += decoder.decode(buf.subarray(0, n), { stream: true });
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
        const got = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (options.isAck?.(got)) accepted = true;
        else return { kind: "answer", line: got };
      }
    }
  } catch {
    return { kind: "closed", accepted }; // reset by a server that died
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}
