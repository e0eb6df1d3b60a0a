/**
 * Stopping the holder of a PID file pidkit did not write (`stop --pidfile`):
 * the lock holder as the kernel reports it (`/proc/locks`, right even for a
 * file written inside another PID namespace) and its descendants, each
 * identified by PID and start time so a reused PID is never signalled. The
 * PID written in the file is signalled only when it is one of those.
 *
 * @module
 */

import { waitForRelease } from "../pid_file.ts";
import { isProcessAlive, listPids, readProcStat } from "../proc.ts";
import { parseRetry } from "../retry.ts";

interface Target {
  pid: number;
  startTime: number;
}

/** The live process `pid` and its live descendants, from one scan of /proc. */
function family(root: Target): Target[] {
  if (!isProcessAlive(root.pid, root.startTime)) return [];
  const children = new Map<number, Target[]>();
  for (const pid of listPids()) {
    const st = readProcStat(pid);
    if (!st || st.state === "Z" || st.state === "X") continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid, startTime: st.startTime });
    children.set(st.ppid, list);
  }
  const out: Target[] = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i].pid) ?? []));
  return out;
}

/** Stop `holder` (and descendants) of `path` on `retry`; returns what happened. */
export async function stopForeign(
  path: string,
  holder: number,
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
  const st = readProcStat(holder);
  const root: Target = { pid: holder, startTime: st?.startTime ?? -1 };
  const known = new Map<number, Target>();
  const live = () => {
    for (const t of family(root)) if (!known.has(t.pid)) known.set(t.pid, t);
    return [...known.values()].filter((t) => isProcessAlive(t.pid, t.startTime));
  };
  const first = live();
  const note = recorded !== undefined && !first.some((t) => t.pid === recorded)
    ? `pid ${recorded} written in the file is not the lock holder or its descendant: not signalled`
    : undefined;
  const steps = parseRetry(retry);
  const t0 = performance.now();
  const sent: { signal: string; atMs: number; targets: number }[] = [];
  const forever = steps.findIndex((s) => s.forever);
  let i = 0;
  while (live().length > 0) {
    if (i >= steps.length) {
      if (forever < 0) break;
      i = forever + 1;
    }
    const step = steps[i++];
    if (step.signal) {
      let n = 0;
      for (const t of live()) {
        try {
          Deno.kill(t.pid, step.signal);
          n++;
        } catch { /* gone meanwhile */ }
      }
      sent.push({ signal: step.signal, atMs: performance.now() - t0, targets: n });
    } else if (step.timeoutMs !== undefined) {
      const deadline = performance.now() + step.timeoutMs;
      while (live().length > 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  const survivors = live().map((t) => t.pid);
  if (survivors.length === 0) await waitForRelease(path, { timeout: 5000 });
  return {
    pid: holder,
    lastSignal: sent.at(-1)?.signal,
    signalsSent: sent,
    durationMs: performance.now() - t0,
    survivors,
    ...(note ? { note } : {}),
  };
}
