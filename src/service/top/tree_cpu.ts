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
  /**
   * CPU time, clock ticks: its own (user + system) and that of its children
   * that ended and were waited for (`/proc/PID/stat` fields 14 to 17), so a
   * shell's short-lived commands count too.
   */
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
 * means two cores busy). The tree's CPU time is the sum over its processes
 * of their own time and their waited-for children's: a member that ends
 * moves its time into its parent's, so the sum only grows with the CPU
 * used. So: the later sum less the earlier one, where a process of the
 * later look that already ran at the earlier look but was not seen in the
 * tree adds nothing (no baseline), and a process that started since counts
 * whole. A member waited for by a process outside the tree (the leader, by
 * its supervisor) takes its time away: the result never goes below 0.
 * `null` without an earlier look or when no time passed.
 *
 * @example
 * ```ts
 * import { treeCpuPercent } from "./tree_cpu.ts";
 * const before = new Map([[10, { pid: 10, startTime: 500, ticks: 100 }]]);
 * const after = new Map([[10, { pid: 10, startTime: 500, ticks: 150 }]]);
 * treeCpuPercent(before, after, { fromSeconds: 100, toSeconds: 101 }); // 50
 * ```
 */
export function treeCpuPercent(
  before: TreeTicks | undefined,
  after: TreeTicks,
  interval: CpuInterval,
): number | null {
  const elapsed = interval.toSeconds - interval.fromSeconds;
  if (before === undefined || !(elapsed > 0)) return null;
  const hz = interval.ticksPerSecond ?? CLOCK_TICKS_PER_SECOND;
  const sinceTicks = interval.fromSeconds * hz;
  let used = 0;
  for (const p of after.values()) {
    const was = before.get(p.pid);
    if (was !== undefined && was.startTime === p.startTime) used += p.ticks - was.ticks;
    else if (p.startTime >= sinceTicks) used += p.ticks;
  }
  for (const was of before.values()) {
    // Gone: its time is now in its parent's (counted above), less what it had already used.
    if (after.get(was.pid)?.startTime !== was.startTime) used -= was.ticks;
  }
  return (100 * Math.max(0, used)) / hz / elapsed;
}
