/**
 * Stopping the holder of a PID file pidkit did not write (`stop --pidfile`):
 * the lock holder as the kernel reports it (`/proc/locks`, right even for a
 * file written inside another PID namespace) and its descendants, each
 * identified by PID and start time so a reused PID is never signalled. The
 * PID written in the file is signalled only when it is one of those.
 *
 * @module
 */

import { PidkitError } from "../errors.ts";
import { locatePid } from "../pid_namespace.ts";
import { waitForRelease } from "../pid_file.ts";
import { hasFileOpen, isProcessAlive, listPids, readProcStat } from "../proc.ts";
import { parseRetry, runSchedule } from "../retry.ts";
import { wantsContinue } from "../signals.ts";

interface Target {
  pid: number;
  startTime: number;
}

/** The live processes `roots` and their live descendants, from one scan of /proc. */
function family(roots: Target[]): Target[] {
  const out = roots.filter((r) => isProcessAlive(r.pid, r.startTime));
  if (out.length === 0) return [];
  const children = new Map<number, Target[]>();
  for (const pid of listPids()) {
    const st = readProcStat(pid);
    if (!st || st.state === "Z" || st.state === "X") continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid, startTime: st.startTime });
    children.set(st.ppid, list);
  }
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i].pid) ?? []));
  return out;
}

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
  await new Promise((r) => setTimeout(r, STEADY_MS));
  const second = scan();
  return first.filter((a) => second.some((b) => b.pid === a.pid && b.startTime === a.startTime));
}

const STEADY_MS = 100;

/** Stop `holder` (and descendants) of `path` on `retry`; returns what happened. */
export async function stopForeign(
  path: string,
  holder: number | undefined,
  recorded: number | undefined,
  retry: string,
): Promise<{
  pid: number;
  lastSignal?: string;
  signalsSent: { signal: string; atMs: number; targets: number }[];
  durationMs: number;
  survivors: number[];
  note?: string;
}> {
  const roots = await holders(path, holder);
  if (roots.length === 0) {
    throw new PidkitError(
      `${path}: no process has it open any more; nothing signalled`,
    );
  }
  const known = new Map<number, Target>();
  const live = () => {
    for (const t of family(roots)) if (!known.has(t.pid)) known.set(t.pid, t);
    return [...known.values()].filter((t) => isProcessAlive(t.pid, t.startTime));
  };
  const first = live();
  // A holder in another PID namespace wrote its own number there (pid 1 of a container).
  const here = recorded === undefined ? undefined : locatePid(recorded, roots[0].pid).kernelPid;
  const note = recorded !== undefined && !first.some((t) => t.pid === recorded || t.pid === here)
    ? `pid ${recorded} written in the file is not the lock holder or its descendant: not signalled`
    : here !== undefined && here !== recorded
    ? `pid ${recorded} written in the file is pid ${here} here (another PID namespace)`
    : undefined;
  const t0 = performance.now();
  const { sent } = await runSchedule(parseRetry(retry), {
    send: (sig) => {
      let n = 0;
      for (const t of live()) {
        try {
          Deno.kill(t.pid, sig);
          n++;
          if (wantsContinue(sig)) Deno.kill(t.pid, "SIGCONT");
        } catch { /* gone meanwhile */ }
      }
      return n;
    },
    waitGone: async (ms) => {
      const deadline = performance.now() + ms;
      while (live().length > 0) {
        if (performance.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      return true;
    },
    isGone: () => live().length === 0,
  });
  const survivors = live().map((t) => t.pid);
  if (survivors.length === 0) await waitForRelease(path, { timeout: 5000 });
  return {
    pid: roots[0].pid,
    lastSignal: sent.at(-1)?.signal,
    signalsSent: sent,
    durationMs: performance.now() - t0,
    survivors,
    ...(note ? { note } : {}),
  };
}
