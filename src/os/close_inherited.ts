/**
 * Descriptors a process inherited without close-on-exec stay open in it and
 * pass on to every program it starts (`Deno.Command` does not close them).
 * A supervisor that kept the write end of its caller's pipe open would hold
 * up the caller's pipeline for as long as it lives
 * (`( pidkit start s -- sleep 300 ) 5>&1 | cat` never returned), and its
 * services would get whatever the shell that ran `pidkit` had open.
 *
 * Every descriptor Deno opens for itself (its event loop, caches, files,
 * sockets) is opened close-on-exec; so at a process's entry, a descriptor
 * above 2 without close-on-exec is one it inherited.
 *
 * @module
 */

import { libc } from "./libc.ts";

const F_GETFD = 1;
const FD_CLOEXEC = 1;

/**
 * Close every open descriptor above 2 that the process inherited (those
 * without close-on-exec; call it first thing, before the process opens any
 * descriptor of its own without close-on-exec). `keep` are left open (a
 * descriptor the caller hands on on purpose). Returns the descriptors
 * closed; none where FFI or /proc is unavailable.
 *
 * @example
 * ```ts
 * import { closeInherited } from "./close_inherited.ts";
 * console.log(closeInherited()); // e.g. [5, 7]
 * ```
 */
export function closeInherited(keep: readonly number[] = []): number[] {
  const lib = libc();
  if (lib === undefined) return [];
  let fds: number[];
  try {
    fds = [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name))
      .filter((n) => n > 2 && !keep.includes(n));
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const fd of fds) {
    const flags = lib.fcntl(fd, F_GETFD, 0n);
    // -1: the descriptor readDir itself used, closed since.
    if (flags < 0 || (flags & FD_CLOEXEC) !== 0) continue;
    if (lib.close(fd) === 0) closed.push(fd);
  }
  return closed;
}
