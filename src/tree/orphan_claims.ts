/**
 * Which tree an orphan reparented to this process belongs to, when this
 * process is a child subreaper for the trees it spawned (the supervisor).
 *
 * The kernel reparents an orphan to the nearest subreaper ancestor and
 * keeps no trace of where it came from. A resident supervisor holds every
 * service of its run directory, so "a child of the supervisor" says nothing
 * about *which* service (0.2 counted it a member of every tree: stopping
 * one service killed every service started after it). An orphan is claimed
 * by a tree only when nothing else can be its origin:
 *
 * - it carries no marker (`PIDKIT_SERVICE`): with this tree's marker it is a
 *   member anyway, with another tree's it is that tree's;
 * - it is not a child this process spawned itself (another tree's leader);
 * - every orphan descends from a tree spawned here and started no earlier
 *   than that tree's leader, so when this tree is the only one still
 *   tracked (or still being spawned) whose leader started at or before the
 *   orphan, it is this tree's.
 *
 * Otherwise nobody claims it: pidkit never signals a process it cannot tie
 * to the tree (the group tier's documented limit).
 *
 * @module
 */

import { readEnviron } from "../os/proc.ts";
import type { ProcStat } from "../os/proc.ts";
import { isOwnChild, ownChildren } from "../os/orphan_reaper.ts";
import { readProcStat } from "../os/proc.ts";
import { markerIn } from "./marker.ts";

/** A tree's leader: PID and start time. */
export interface AdoptedLeader {
  /** Leader PID. */
  pid: number;
  /** Leader start time (clock ticks after boot). */
  startTime: number;
}

/** Trees this process adopts the orphans of, by `pid:startTime`, with their leader's start time. */
const adopted = new Map<string, number>();

const key = (t: AdoptedLeader) => `${t.pid}:${t.startTime}`;

/**
 * Register a tree this process is the child subreaper for (until
 * {@linkcode forgetAdopted}).
 *
 * @example
 * ```ts
 * import { forgetAdopted, trackAdopted } from "./orphan_claims.ts";
 * trackAdopted({ pid: 1234, startTime: 5678 });
 * forgetAdopted({ pid: 1234, startTime: 5678 });
 * ```
 */
export function trackAdopted(leader: AdoptedLeader): void {
  adopted.set(key(leader), leader.startTime);
}

/**
 * Stop claiming orphans for a tree (it is gone).
 *
 * @example
 * ```ts
 * import { forgetAdopted } from "./orphan_claims.ts";
 * forgetAdopted({ pid: 1234, startTime: 5678 });
 * ```
 */
export function forgetAdopted(leader: AdoptedLeader): void {
  adopted.delete(key(leader));
}

/**
 * Whether `orphan` (a live child of this process) belongs to the tree led by
 * `leader`, by the rule in the module doc.
 *
 * @example
 * ```ts
 * import { claimsOrphan } from "./orphan_claims.ts";
 * import { readProcStat } from "../os/proc.ts";
 * const st = readProcStat(Deno.pid)!;
 * console.log(claimsOrphan({ pid: 1, startTime: 0 }, st)); // false: not a tree of ours
 * ```
 */
export function claimsOrphan(leader: AdoptedLeader, orphan: ProcStat): boolean {
  if (orphan.ppid !== Deno.pid || isOwnChild(orphan.pid)) return false;
  if (!adopted.has(key(leader)) || orphan.startTime < leader.startTime) return false;
  for (const [k, startTime] of adopted) {
    if (k !== key(leader) && startTime <= orphan.startTime) return false;
  }
  // A leader spawned but not yet registered (or whose tree is not tracked).
  for (const pid of ownChildren()) {
    if (pid === leader.pid) continue;
    const st = readProcStat(pid);
    if (st !== undefined && st.startTime <= orphan.startTime) return false;
  }
  const environ = readEnviron(orphan.pid);
  return environ !== undefined && markerIn(environ) === undefined;
}
