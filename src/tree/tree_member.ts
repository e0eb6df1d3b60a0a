/**
 * Whether one given PID belongs to a process tree, without listing the
 * whole tree: what a notify message's sender (or a `MAINPID=`) must be.
 *
 * The rule is the trackers' rule for one process: with cgroup tracking, it
 * sits in the tree's cgroup (or below it); with group tracking, it started
 * no earlier than the leader and is in the leader's process group or
 * session or carries the tree's marker in its environment.
 *
 * @module
 */

import { findCgroup2 } from "./cgroup.ts";
import { environHas, isDeadState, readCgroupV2Path, readProcStat } from "../os/proc.ts";
import type { ProcStat } from "../os/proc.ts";
import { claimsOrphan } from "./orphan_claims.ts";
import type { TreeRef } from "./process_tree.ts";
import { markerEntry } from "./marker.ts";

/**
 * Whether process `pid` is a live member of the tree `ref` describes.
 *
 * @example
 * ```ts
 * import { isTreeMember } from "./tree_member.ts";
 * import type { TreeRef } from "./process_tree.ts";
import { markerEntry } from "./marker.ts";
 * const ref: TreeRef = { pid: 10, startTime: 5, pgid: 10, sid: 10, marker: "web:ab12cd34", tracking: "group" };
 * console.log(isTreeMember(ref, Deno.pid)); // false
 * ```
 */
export function isTreeMember(ref: TreeRef, pid: number): boolean {
  if (!(pid > 0) || pid === Deno.pid) return false;
  const st = readProcStat(pid);
  if (st === undefined || isDeadState(st.state) && st.state !== "Z") return false;
  if (st.startTime < ref.startTime) return false;
  if (ref.tracking === "cgroup" && ref.cgroupPath !== undefined) {
    const rel = readCgroupV2Path(pid);
    const mount = cgroupMount();
    if (rel === undefined || mount === undefined) return false;
    const abs = rel === "/" ? mount : `${mount}${rel}`;
    return abs === ref.cgroupPath || abs.startsWith(`${ref.cgroupPath}/`);
  }
  // The group tier's rule (group_scanner.ts): the leader's group or session,
  // the marker, or -- for a descendant that cleared its environment and left
  // the session -- the parent chain up to a member, or to us when we are the
  // tree's subreaper and can tie the orphan to this tree alone
  // (orphan_claims.ts): a supervisor is the subreaper of every tree it holds.
  let cur: ProcStat | undefined = st;
  for (let depth = 0; cur !== undefined && depth < MAX_CHAIN; depth++) {
    if (cur.startTime < ref.startTime) return false;
    if (directMember(ref, cur)) return true;
    if (cur.ppid === Deno.pid) return claimsOrphan(ref, cur);
    cur = readProcStat(cur.ppid);
  }
  return false;
}

/** Ancestors looked at before giving up: trees are shallow, chains through init end at once. */
const MAX_CHAIN = 32;

/** In the leader's group or session, or carrying the tree's marker. */
function directMember(ref: TreeRef, st: ProcStat): boolean {
  // The leader's group and session ids cannot be reused while anyone is in them.
  if (st.pgid === ref.pgid || st.sid === ref.sid) return true;
  return environHas(st.pid, markerEntry(ref.marker));
}

let mountPoint: string | null | undefined;

function cgroupMount(): string | undefined {
  if (mountPoint === undefined) mountPoint = findCgroup2()?.mountPoint ?? null;
  return mountPoint ?? undefined;
}
