/**
 * CPU use of a process tree between two looks, as `pidkit top` shows it: a
 * pure function of two samples of the tree's processes' CPU times.
 *
 * @module
 */

import { CLOCK_TICKS_PER_SECOND } from "../../os/proc.ts";

/** One process's CPU time at a look: what {@linkcode treeCpuPercent} compares. */
export interface ProcessTicks {
  /** Process id. */
  pid: number;
  /** Start time after boot, clock ticks: with the PID, identifies the process. */
  startTime: number;
  /** User + system CPU time, clock ticks. */
  ticks: number;
}

/** A tree's processes at one look, by PID. */
export type TreeTicks = ReadonlyMap<number, ProcessTicks>;

/** When the two looks of {@linkcode treeCpuPercent} were taken. */
export interface CpuInterval {
  /** Seconds since boot at the earlier look. */
  fromSeconds: number;
  /** Seconds since boot at the later look. */
  toSeconds: number;
  /** Clock ticks per second (default 100, Linux's USER_HZ). */
  ticksPerSecond?: number;
}

/**
 * The CPU the tree used between two looks, in percent of one core (200
 * means two cores busy): for each process of the later look, its CPU time
 * less what it had at the earlier look (same PID and start time), or all of
 * it when it started after the earlier look; a process already running then
 * but not seen in the tree adds nothing (no baseline). Processes that ended
 * in between are not counted (their time is gone from `/proc`). `null`
 * without an earlier look or when no time passed.
 *
 * @example
 * ```ts
 * import { treeCpuPercent } from "./tree_cpu.ts";
 * const before = new Map([[10, { pid: 10, startTime: 500, ticks: 100 }]]);
 * const after = [{ pid: 10, startTime: 500, ticks: 150 }];
 * treeCpuPercent(before, after, { fromSeconds: 100, toSeconds: 101 }); // 50
 * ```
 */
export function treeCpuPercent(
  before: TreeTicks | undefined,
  after: Iterable<ProcessTicks>,
  interval: CpuInterval,
): number | null {
  const elapsed = interval.toSeconds - interval.fromSeconds;
  if (before === undefined || !(elapsed > 0)) return null;
  const hz = interval.ticksPerSecond ?? CLOCK_TICKS_PER_SECOND;
  const sinceTicks = interval.fromSeconds * hz;
  let used = 0;
  for (const p of after) {
    const was = before.get(p.pid);
    if (was !== undefined && was.startTime === p.startTime) used += Math.max(0, p.ticks - was.ticks);
    else if (p.startTime >= sinceTicks) used += p.ticks;
  }
  return (100 * used) / hz / elapsed;
}
