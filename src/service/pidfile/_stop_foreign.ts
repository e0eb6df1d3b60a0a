/**
 * Stopping the holder of a PID file pidkit did not write (`stop --pidfile`):
 * the lock holder as the kernel reports it (`/proc/locks`, right even for a
 * file written inside another PID namespace) and its descendants, each
 * identified by PID and start time so a reused PID is never signalled. The
 * PID written in the file is signalled only when it is one of those.
 * Also the main process of a daemon whose PID file has no lock (verified
 * by the ladder of `unlocked_pid_file.ts`) and its descendants. Every
 * signal goes through a pidfd opened before the start time is checked
 * again (`src/os/pidfd.ts`).
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { waitForRelease } from "../../lock/probe.ts";
import { hasFileOpen, listPids, readProcStat } from "../../os/proc.ts";
import { type ForeignStop, stopRoots, type Target } from "../../tree/process_family.ts";
import { delay } from "../../os/delay.ts";
import type { RetryStep } from "../../tree/stop_schedule.ts";

export { stopRoots } from "../../tree/process_family.ts";

/**
 * The processes that really hold `path`: the reported lock holder when it
 * has the file open; else (the process that took the lock died, leaving it
 * to a child that inherited the descriptor, and its PID may since name a
 * stranger) every process that keeps the file open across two looks
 * `STEADY_MS` apart -- a probe opens it for microseconds and must never be
 * mistaken for a holder. Start times are read before each check, so a PID
 * reused later does not match.
 */
async function holders(path: string, reported: number | undefined): Promise<Target[]> {
  const { dev, ino } = await Deno.stat(path);
  const check = (pid: number): Target | undefined => {
    const st = readProcStat(pid);
    return st && hasFileOpen(pid, dev, ino!) ? { pid, startTime: st.startTime } : undefined;
  };
  const direct = reported === undefined ? undefined : check(reported);
  if (direct) return [direct];
  const scan = () =>
    listPids().map(check).filter((t): t is Target => t !== undefined && t.pid !== Deno.pid);
  const first = scan();
  if (first.length === 0) return [];
  await delay(STEADY_MS);
  const second = scan();
  return first.filter((a) => second.some((b) => b.pid === a.pid && b.startTime === a.startTime));
}

const STEADY_MS = 100;

/** Stop `holder` (and descendants) of `path` on `retry`; returns what happened. */
export async function stopForeign(
  path: string,
  holder: number | undefined,
  recorded: number | undefined,
  retry: string | RetryStep[],
): Promise<ForeignStop> {
  const roots = await holders(path, holder);
  if (roots.length === 0) {
    throw new PidkitError(
      `${path}: no process has it open any more; nothing signalled`,
    );
  }
  const outcome = await stopRoots(roots, retry, recorded);
  if (outcome.survivors.length === 0) await waitForRelease(path, { timeout: 5000 });
  return outcome;
}
