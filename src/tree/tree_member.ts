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
