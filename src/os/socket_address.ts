/**
 * A Unix socket path that fits `sun_path`, however deep its directory.
 * Apart from unix_server.ts so that a client (`pidkit start`) loads only this.
 *
 * @module
 */

import { cString, libc } from "./libc.ts";

/** sun_path is 108 bytes with its terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/** Linux socket constants shared by pidkit's sockets (notify, control). */
export const SOCKET = {
  AF_UNIX: 1,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
} as const;

/**
 * A `sockaddr_un` for `path` and its length, or `undefined` when the path
 * does not fit `sun_path`.
 *
 * @example
 * ```ts
 * import { sockaddrUn } from "./socket_address.ts";
 * console.log(sockaddrUn("/tmp/x.sock")?.length); // 14
 * ```
 */
export function sockaddrUn(
  path: string,
): { addr: Uint8Array<ArrayBuffer>; length: number } | undefined {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > MAX_SOCKET_PATH) return undefined;
  const addr = new Uint8Array(2 + MAX_SOCKET_PATH + 1);
  new DataView(addr.buffer).setUint16(0, SOCKET.AF_UNIX, true);
  addr.set(bytes, 2);
  return { addr, length: 2 + bytes.length + 1 };
}
const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

/**
 * A socket path that fits `sun_path`: `path` itself when it does, else the
 * same file reached through an `O_PATH` descriptor of its directory,
 * `/proc/self/fd/N/LEAF` (Linux resolves it like any path, for `bind` and
 * `connect` alike). Call `close` when done with it.
 *
 * @example
 * ```ts
 * import { socketAddress } from "./unix_server.ts";
 * const addr = socketAddress("/tmp/x/supervisor.sock");
 * console.log(addr.path);
 * addr.close();
 * ```
 */
export function socketAddress(path: string): { path: string; close(): void } {
  const fits = { path, close() {} };
  if (new TextEncoder().encode(path).length <= MAX_SOCKET_PATH) return fits;
  const lib = libc();
  const slash = path.lastIndexOf("/");
  if (lib === undefined || slash < 0) return fits; // it fails with a clear error later
  const fd = lib.open(cString(path.slice(0, slash) || "/"), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fits;
  return { path: `/proc/self/fd/${fd}${path.slice(slash)}`, close: () => void lib.close(fd) };
}
