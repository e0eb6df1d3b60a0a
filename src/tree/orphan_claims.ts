/**
 * Which tree an orphan reparented to this process belongs to, when this
 * process is a child subreaper for the trees it spawned (the supervisor).
 *
 * The kernel reparents an orphan to the nearest subreaper ancestor and
 * keeps no trace of where it came from. A resident supervisor holds every
 * service of its run directory, so "a child of the supervisor" says nothing
 * about *which* service (0.2 counted it a member of every tree: stopping
 * one service killed every service started after it). This module keeps
 * the trees this process adopts the orphans of; the rule that claims an
 * orphan for one of them is `claimsOrphan` in membership.ts (the one
 * membership rule).
 *
 * @module
 */

import { ownChildren } from "../os/orphan_reaper.ts";
import type { OrphanRegistry, TreeLeader } from "./membership.ts";

/** A tree's leader: PID and start time. */
export type AdoptedLeader = TreeLeader;

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
 * The trees this process adopts the orphans of and the children it spawned
 * itself, now: what `claimsOrphan` (membership.ts) decides with.
 *
 * @example
 * ```ts
 * import { orphanRegistry } from "./orphan_claims.ts";
 * console.log(orphanRegistry().adopted.length);
 * ```
 */
export function orphanRegistry(): OrphanRegistry {
  const trees: TreeLeader[] = [];
  for (const [k, startTime] of adopted) trees.push({ pid: Number(k.split(":")[0]), startTime });
  return { subreaper: Deno.pid, adopted: trees, ownChildren: ownChildren() };
}
