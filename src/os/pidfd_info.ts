/**
 * What a pidfd still tells about its process after the process is gone:
 * the cgroup it was in (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, Linux
 * 6.15+, which records the cgroup id at exit). An sd_notify sender that
 * sent `READY=1` and was reaped by its shell before the supervisor read
 * the datagram is gone from /proc, but the pidfd the kernel attached to
 * the datagram (`SCM_PIDFD`, Linux 6.16+ for reaped senders) still says
 * which cgroup it was in: enough to vouch for it in the cgroup tier.
 *
 * @module
 */

import { libc } from "./libc.ts";

/** `_IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info)` with the 64-byte first version of the struct. */
const PIDFD_GET_INFO = 0xC040FF0Bn;
const PIDFD_INFO_CGROUPID = 4n;
const PIDFD_INFO_EXIT = 8n;

/**
 * The cgroup2 id (the inode number of the cgroup's directory) of the
 * process behind `pidfd`: its cgroup now, or the one it was in when it
 * exited (also once reaped). `undefined` when the kernel does not say
 * (older kernels, no FFI, a bad descriptor).
 *
 * @example
 * ```ts
 * import { pidfdCgroupId } from "./pidfd_info.ts";
 * // `pidfd` from SCM_PIDFD or pidfd_open(2); -1 is no descriptor:
 * console.log(pidfdCgroupId(-1)); // undefined
 * ```
 */
export function pidfdCgroupId(pidfd: number): bigint | undefined {
  const lib = libc();
  if (lib === undefined || pidfd < 0) return undefined;
  // struct pidfd_info: mask, cgroupid, then u32 fields; 72 bytes leave room for newer kernels.
  const info = new BigUint64Array(9);
  info[0] = PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT;
  if (lib.ioctl(pidfd, PIDFD_GET_INFO, new Uint8Array(info.buffer)) !== 0) return undefined;
  return (info[0] & PIDFD_INFO_CGROUPID) !== 0n ? info[1] : undefined;
}
