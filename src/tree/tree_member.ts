/**
 * Whether one given PID belongs to a process tree, without listing the
 * whole tree: what a notify message's sender (or a `MAINPID=`) must be.
 * The rule is the one membership rule (membership.ts) over the live
 * process table, read only as far as this one process needs.
 *
 * @module
 */

import { isMember, type ProcTable } from "./membership.ts";
import { orphanRegistry } from "./orphan_claims.ts";
import type { TreeRef } from "./process_tree.ts";
import { LiveProcTable } from "./proc_table.ts";

/**
 * Whether process `pid` is a member of the tree `ref` describes (a zombie
 * counts: a notify sender may have exited since it sent), over `table`
 * (the live `/proc` unless a test passes its own).
 *
 * @example
 * ```ts
 * import { isTreeMember } from "./tree_member.ts";
 * import type { TreeRef } from "./process_tree.ts";
 * const ref: TreeRef = { pid: 10, startTime: 5, pgid: 10, sid: 10, marker: "web:ab12cd34", tracking: "group" };
 * console.log(isTreeMember(ref, Deno.pid)); // false
 * ```
 */
export function isTreeMember(
  ref: TreeRef,
  pid: number,
  table: ProcTable = new LiveProcTable(),
): boolean {
  const orphans = { ...orphanRegistry(), subreaper: table.self }; // we are the subreaper, if any
  return isMember(table, ref, pid, { zombies: true, orphans });
}

/** How deep {@linkcode isTreeCgroupId} looks into a tree's sub-cgroups. */
const MAX_CGROUP_DEPTH = 8;

/**
 * Whether the cgroup2 id `id` (a cgroup directory's inode number, as a
 * pidfd reports it, also for a process gone since) is the cgroup of the
 * tree `ref` describes, or one below it. Always false for a tree not
 * tracked by cgroup: there a process that is gone cannot be placed.
 *
 * @example
 * ```ts
 * import { isTreeCgroupId } from "./tree_member.ts";
 * import type { TreeRef } from "./process_tree.ts";
 * const ref: TreeRef = { pid: 10, startTime: 5, pgid: 10, sid: 10, marker: "web:ab12cd34", tracking: "group" };
 * console.log(isTreeCgroupId(ref, 1234n)); // false: not a cgroup tree
 * ```
 */
export function isTreeCgroupId(ref: TreeRef, id: bigint): boolean {
  if (ref.tracking !== "cgroup" || ref.cgroupPath === undefined) return false;
  const visit = (dir: string, depth: number): boolean => {
    let ino: number | null;
    try {
      ino = Deno.statSync(dir).ino;
    } catch {
      return false;
    }
    if (ino !== null && BigInt(ino) === id) return true;
    if (depth >= MAX_CGROUP_DEPTH) return false;
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isDirectory && visit(`${dir}/${e.name}`, depth + 1)) return true;
      }
    } catch { /* removed meanwhile */ }
    return false;
  };
  return visit(ref.cgroupPath, 0);
}
