/**
 * The sending side of sd_notify: one datagram to `$NOTIFY_SOCKET`, as a
 * service tells systemd (or any supervisor speaking the protocol) that it
 * is ready (`READY=1`), what it is doing (`STATUS=...`) or that it stops
 * (`STOPPING=1`). A path or an abstract address (`@name`). Through the
 * libc binding; without FFI, or without `NOTIFY_SOCKET`, nothing is sent.
 *
 * @module
 */

import { libc } from "./libc.ts";
import { MAX_SOCKET_PATH, sockaddrUn, SOCKET, socketAddress } from "./socket_address.ts";

/**
 * Send `state` (`KEY=VALUE` lines) to the notify socket `socket` (default
 * `$NOTIFY_SOCKET`). Returns whether it was sent: `false` with no socket
 * named, no FFI, or an error (never thrown: telling systemd is best
 * effort, as libsystemd's sd_notify).
 *
 * @example
 * ```ts
 * import { sdNotify } from "./sd_notify.ts";
 * sdNotify("STATUS=3 of 3 services ready\nREADY=1");
 * ```
 */
export function sdNotify(
  state: string,
  socket: string | undefined = Deno.env.get("NOTIFY_SOCKET"),
): boolean {
  if (socket === undefined || socket === "") return false;
  const lib = libc();
  if (lib === undefined) return false;
  const target = notifyAddress(socket);
  if (target === undefined) return false;
  const fd = lib.socket(SOCKET.AF_UNIX, SOCKET.SOCK_DGRAM | SOCKET.SOCK_CLOEXEC, 0);
  if (fd < 0) {
    target.close();
    return false;
  }
  try {
    const bytes = new TextEncoder().encode(state);
    const sent = lib.sendto(fd, bytes, BigInt(bytes.length), 0, target.addr, target.length);
    return sent >= 0n;
  } finally {
    lib.close(fd);
    target.close();
  }
}

/** The `sockaddr_un` of a `NOTIFY_SOCKET` value: a path (any length), or `@abstract`. */
function notifyAddress(
  socket: string,
): { addr: Uint8Array<ArrayBuffer>; length: number; close(): void } | undefined {
  if (socket.startsWith("@")) {
    const name = new TextEncoder().encode(socket.slice(1));
    if (name.length + 1 > MAX_SOCKET_PATH) return undefined;
    const addr = new Uint8Array(2 + MAX_SOCKET_PATH + 1);
    new DataView(addr.buffer).setUint16(0, SOCKET.AF_UNIX, true);
    addr.set(name, 3); // sun_path[0] = NUL: the abstract namespace, no terminating NUL
    return { addr, length: 3 + name.length, close() {} };
  }
  if (!socket.startsWith("/")) return undefined;
  const short = socketAddress(socket);
  const sockaddr = sockaddrUn(short.path);
  if (sockaddr === undefined) {
    short.close();
    return undefined;
  }
  return { ...sockaddr, close: () => short.close() };
}
