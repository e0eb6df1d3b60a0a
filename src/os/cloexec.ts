/**
 * Descriptors a process inherited without close-on-exec pass on to every
 * program it starts (`Deno.Command` does not close them). A background
 * supervisor marks them all close-on-exec at start-up, so a service gets
 * its stdin, stdout and stderr (and a `--ready-fd`) and nothing that the
 * shell which ran `pidkit start` happened to have open.
 *
 * @module
 */

import { libc } from "./libc.ts";

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/**
 * Set close-on-exec on every open descriptor above 2. Returns how many
 * were changed; 0 where FFI or /proc is unavailable.
 *
 * @example
 * ```ts
 * import { closeInheritedOnExec } from "./cloexec.ts";
 * console.log(closeInheritedOnExec()); // e.g. 0
 * ```
 */
export function closeInheritedOnExec(): number {
  const lib = libc();
  if (lib === undefined) return 0;
  let fds: number[];
  try {
    fds = [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name)).filter((n) => n > 2);
  } catch {
    return 0;
  }
  let changed = 0;
  for (const fd of fds) {
    const flags = lib.fcntl(fd, F_GETFD, 0n);
    if (flags < 0 || (flags & FD_CLOEXEC) !== 0) continue;
    if (lib.fcntl(fd, F_SETFD, BigInt(flags | FD_CLOEXEC)) === 0) changed++;
  }
  return changed;
}
