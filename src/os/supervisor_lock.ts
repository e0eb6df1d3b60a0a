/**
 * Whether a process is a run directory's resident supervisor: it holds the
 * exclusive lock on `DIR/supervisor.lock` for its whole life. Such a process
 * holds every service of its directory, so a command about one service (a
 * stop through a PID file, a record that cannot be read) must never signal
 * it. Told by the kernel: the process has a file named `supervisor.lock`
 * open (`/proc/PID/fd`) and holds an exclusive flock it took through that
 * very descriptor (`/proc/PID/fdinfo/N`). Not `/proc/locks`: the kernel
 * generates it a page at a time, and a line can be skipped while other
 * locks come and go (seen under the parallel suite: a supervisor taken for
 * an ordinary holder).
 *
 * @module
 */

import { findOpenFd } from "./proc.ts";

/** The name of the file a run directory's supervisor keeps locked. */
export const SUPERVISOR_LOCK_NAME = "supervisor.lock";

/**
 * What {@linkcode supervisorLockOf} found: the run directory the process is
 * the supervisor of; `"none"` (not a supervisor, or gone); `"unknown"`
 * (its descriptors cannot be read: another user's process).
 */
export type SupervisorLockCheck = { dir: string } | "none" | "unknown";

/**
 * Whether process `pid` holds a run directory's `supervisor.lock`.
 *
 * @example
 * ```ts
 * import { supervisorLockOf } from "./supervisor_lock.ts";
 * const found = supervisorLockOf(Deno.pid);
 * if (typeof found === "object") console.log(`supervisor of ${found.dir}`);
 * ```
 */
export function supervisorLockOf(pid: number): SupervisorLockCheck {
  const suffix = `/${SUPERVISOR_LOCK_NAME}`;
  let dir: string | undefined;
  const { found, error } = findOpenFd(pid, (fd) => {
    const link = fd.link();
    if (link === undefined) return false;
    const path = link.endsWith(" (deleted)") ? link.slice(0, -" (deleted)".length) : link;
    if (!path.endsWith(suffix)) return false;
    const held = fd.locks().some((l) =>
      l.kind === "FLOCK" && l.mode === "WRITE" && !l.waiting && l.pid === pid
    );
    if (!held) return false;
    dir = path.slice(0, -suffix.length) || "/";
    return true;
  });
  if (found !== undefined && dir !== undefined) return { dir };
  return error === "unreadable" ? "unknown" : "none";
}
