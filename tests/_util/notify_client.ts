/**
 * The sending side of sd_notify for tests: one datagram to a Unix socket
 * path, from this process (so from outside any service's tree).
 *
 * @module
 */
import { libc } from "../../src/os/libc.ts";

/** Send `payload` to the datagram socket at `path`; false when it could not be sent. */
export function sendDatagram(path: string, payload: Uint8Array): boolean {
  const lib = libc()!;
  const fd = lib.socket(1, /* AF_UNIX */ 2 | 0o4000 | 0o2000000, /* DGRAM|NONBLOCK|CLOEXEC */ 0);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, 1, true);
  const bytes = new TextEncoder().encode(path);
  addr.set(bytes, 2);
  const n = lib.sendto(
    fd,
    payload as Uint8Array<ArrayBuffer>,
    BigInt(payload.length),
    0,
    addr,
    bytes.length + 3,
  );
  lib.close(fd);
  return n >= 0n;
}
