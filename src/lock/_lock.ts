/**
 * Locking: step 3 of the lock protocol (docs/pid_files.md, "The lock
 * protocol"): take the exclusive lock or find out who holds it, and wait
 * for a lock to be free.
 *
 * @module
 */

import { AlreadyRunningError, FileError } from "../os/errors.ts";
import { delay } from "../os/delay.ts";
import { procIsOurs } from "../os/pid_namespace.ts";
import { findLockHolders, isProcessAlive } from "../os/proc.ts";
import type { Held } from "./_open.ts";
import { readContent } from "./_record_io.ts";
import { decodePidRecord } from "./record.ts";

/** How long probes (shared locks) alone may keep a start from locking before it gives up. */
const SHARED_ONLY_BUDGET_MS = 2000;

/**
 * Step 3: lock exclusively, or find out who is in the way. Shared locks
 * alone are probes, here for microseconds: retry until they are gone. An
 * exclusive lock is an owner: fail, or wait for it until `deadline`.
 */
export async function lockExclusive(
  held: Held,
  path: string,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { file } = held;
  let sharedSince: number | undefined;
  let pause = 0;
  for (;;) {
    if (file.tryLockSync(true)) return;
    if (tryShared(file)) {
      // Nobody holds it exclusively: only probes (or other starters in this
      // very step). Spin a little, then yield, but never report "running".
      for (let i = 0; i < 64; i++) if (file.tryLockSync(true)) return;
      sharedSince ??= Date.now();
      if (Date.now() > Math.max(sharedSince + SHARED_ONLY_BUDGET_MS, deadline)) {
        throw new FileError(
          path,
          "io",
          `${path} is kept share-locked by other processes; cannot lock it, try again`,
        );
      }
      signal?.throwIfAborted();
      await delay(pause);
      pause = Math.min(pause + 0.25, 1);
      continue;
    }
    sharedSince = undefined;
    if (Date.now() >= deadline) {
      throw new AlreadyRunningError(path, await holderOf(held, path));
    }
    // Wait on this very file: if its holder releases it (unlinking it), the
    // lock we then get is on a dead file, which step 4 catches.
    await pollUntilFree(file, deadline, signal);
  }
}

/** Try a shared lock without blocking; drop it at once if taken. */
export function tryShared(file: Deno.FsFile): boolean {
  if (!file.tryLockSync(false)) return false;
  file.unlockSync();
  return true;
}

/** The PID of whoever holds `held` exclusively: from the file, else from /proc/locks. */
async function holderOf(held: Held, path: string): Promise<number | undefined> {
  // The holder writes right after locking, but on a loaded machine it may
  // not run for a while (32 racers on 2 cores kept it off the CPU for more
  // than 10 ms): look for up to 250 ms, asking the kernel as well, while the
  // lock is still held.
  const until = Date.now() + 250;
  for (let i = 0;; i++) {
    let bytes: Uint8Array;
    try {
      bytes = readContent(held.file, path);
    } catch {
      break;
    }
    if (bytes.length > 0) {
      try {
        return decodePidRecord(bytes, path).pid;
      } catch {
        break; // garbage under a lock: ask the kernel instead
      }
    }
    if (i >= 4) {
      const holder = liveHolder(held.dev, held.ino);
      if (holder !== undefined || Date.now() >= until || tryShared(held.file)) return holder;
    }
    await delay(2); // the holder is between lock and write
  }
  return liveHolder(held.dev, held.ino);
}

/** The live process holding an exclusive flock on dev/ino, if /proc can tell. */
export function liveHolder(dev: number, ino: number): number | undefined {
  // A /proc of another PID namespace numbers processes differently: no PID from it.
  if (!procIsOurs()) return undefined;
  // The kernel generates /proc/locks a page at a time, indexing into a list
  // that other processes' locks join and leave meanwhile: a line can be
  // skipped (or repeated). Seen under the parallel test suite: a live holder
  // missing from one read. A miss is read again, twice at most.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      for (const pid of findLockHolders(dev, ino, "WRITE")) if (isProcessAlive(pid)) return pid;
    } catch {
      return undefined; // no /proc (not Linux) or no permission to read it (Deno without -A)
    }
  }
  return undefined;
}

/** Poll a non-blocking shared lock until it is free (true) or `deadline` passes (false). */
export async function pollUntilFree(
  file: Deno.FsFile,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const start = Date.now();
  for (;;) {
    signal?.throwIfAborted();
    if (tryShared(file)) return true;
    const now = Date.now();
    if (now >= deadline) return false;
    const waited = now - start;
    const pause = waited < 1000 ? 1 : waited < 5000 ? 4 : 10;
    await delay(Math.min(pause, deadline - now), { signal });
  }
}
