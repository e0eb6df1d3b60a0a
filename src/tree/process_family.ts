/**
 * A process and its descendants, found by parentage: what pidkit stops when
 * it did not start the processes itself (the holder of a foreign PID file,
 * the main process of a daemon whose PID file has no lock, the main process
 * of a `--forking` service that left pidkit's session). Each process is
 * identified by PID and start time, and every signal goes through a pidfd
 * checked after opening (src/os/pidfd.ts), so a reused PID is never hit.
 *
 * @module
 */

import { delay } from "../os/delay.ts";
import { isProcessAlive, listPids, readProcStat } from "../os/proc.ts";
import { parseRetry, type RetryStep, runSchedule } from "./stop_schedule.ts";
import { wantsContinue } from "../os/signals.ts";
import { signalProcess } from "../os/pidfd.ts";
import { locatePid } from "../os/pid_namespace.ts";
import { supervisorLockOf } from "../os/supervisor_lock.ts";
import { PidkitError } from "../os/errors.ts";

/** A process identified by PID and start time. */
export interface Target {
  /** Process id. */
  pid: number;
  /** Start time in clock ticks after boot. */
  startTime: number;
}

/**
 * The live processes `roots` and their live descendants, from one scan of
 * /proc; a descendant for which `skip` says true is left out with its own
 * descendants.
 */
export function family(roots: Target[], skip?: (t: Target) => boolean): Target[] {
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
  for (let i = 0; i < out.length; i++) {
    for (const c of children.get(out[i].pid) ?? []) if (!skip?.(c)) out.push(c);
  }
  return out;
}

/**
 * A run directory's resident supervisor is never stopped as somebody's
 * process: it holds every service of its directory. Throws for a root that
 * is one (or that cannot be told apart from one).
 */
function refuseSupervisors(roots: Target[]): void {
  for (const r of roots) {
    const held = supervisorLockOf(r.pid);
    if (typeof held === "object") {
      throw new PidkitError(
        `pid ${r.pid} is the resident supervisor of ${held.dir}, not one service: ` +
          `nothing signalled (stop its services by name with --dir ${held.dir})`,
      );
    }
    if (held === "unknown" && isProcessAlive(r.pid, r.startTime)) {
      throw new PidkitError(
        `cannot tell whether pid ${r.pid} is a run directory's supervisor ` +
          `(its descriptors cannot be read): nothing signalled`,
      );
    }
  }
}

/** What a stop of processes pidkit did not start did. */
export interface ForeignStop {
  /** The first root. */
  pid: number;
  /** The last signal sent. */
  lastSignal?: string;
  /** Every signal sent, when, and to how many. */
  signalsSent: { signal: string; atMs: number; targets: number }[];
  /** How long it took, ms. */
  durationMs: number;
  /** PIDs alive when the schedule ran out. */
  survivors: number[];
  /** What else to tell. */
  note?: string;
}

/**
 * Stop `roots` (each identified by PID and start time) and their
 * descendants on `retry` (a schedule's text, or its steps already
 * parsed), every signal through a pidfd; returns once they are gone or the
 * schedule ran out. `recorded` is the PID a file names:
 * a note says so when it is none of them (it is not signalled).
 */
export async function stopRoots(
  roots: Target[],
  retry: string | RetryStep[],
  recorded?: number,
): Promise<ForeignStop> {
  refuseSupervisors(roots);
  const known = new Map<number, Target>();
  // Checked once per process: a supervisor below a root is left alone.
  const supervisors = new Map<string, boolean>();
  const isSupervisor = (t: Target) => {
    const key = `${t.pid}:${t.startTime}`;
    let yes = supervisors.get(key);
    if (yes === undefined) {
      yes = typeof supervisorLockOf(t.pid) === "object";
      supervisors.set(key, yes);
    }
    return yes;
  };
  const live = () => {
    for (const t of family(roots, isSupervisor)) if (!known.has(t.pid)) known.set(t.pid, t);
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
  const { sent } = await runSchedule(typeof retry === "string" ? parseRetry(retry) : retry, {
    send: (sig) => {
      let n = 0;
      for (const t of live()) {
        if (signalProcess(t, sig) !== "sent") continue;
        n++;
        if (wantsContinue(sig)) signalProcess(t, "SIGCONT");
      }
      return n;
    },
    waitGone: async (ms) => {
      const deadline = performance.now() + ms;
      while (live().length > 0) {
        if (performance.now() >= deadline) return false;
        await delay(10);
      }
      return true;
    },
    isGone: () => live().length === 0,
  });
  const survivors = live().map((t) => t.pid);
  return {
    pid: roots[0].pid,
    lastSignal: sent.at(-1)?.signal,
    signalsSent: sent,
    durationMs: performance.now() - t0,
    survivors,
    ...(note ? { note } : {}),
  };
}
