/**
 * Trees found by their marker, whatever the records say.
 *
 * The lock on `NAME.pid` says whether a supervisor holds a service; the
 * record (`NAME.json`) says which tree it ran. A record can be stale (a
 * full disk kept it from being written), corrupt, or gone (the run
 * directory was removed): a tree that lives must still be found before
 * anything starts a second instance of its name. Every process a service
 * supervisor starts carries `PIDKIT_SERVICE=<name>:<nonce>` (the marker,
 * src/tree/marker.ts) and `PIDKIT_RUN_DIR=<run dir>` ({@linkcode RUN_DIR_VAR}),
 * so a scan of `/proc` finds the live trees of a name of a run directory
 * without any file.
 *
 * @module
 */

import {
  environHas,
  isDeadState,
  listPids,
  readCgroupV2Path,
  readEnviron,
  readProcStat,
} from "../../os/proc.ts";
import { findCgroup2 } from "../../tree/cgroup.ts";
import { isTreeCgroup, MARKER_VAR, markerEntry, parseMarker } from "../../tree/marker.ts";
import type { TreeRef } from "../../tree/process_tree.ts";

/**
 * The environment variable that carries, beside the marker, the run
 * directory of the service a process belongs to (absolute, as the
 * supervisor was given it).
 */
export const RUN_DIR_VAR = "PIDKIT_RUN_DIR";

/** A live process of a marked tree. */
export interface MarkedMember {
  /** Its PID. */
  pid: number;
  /** Its start time (clock ticks after boot). */
  startTime: number;
  /** Its session. */
  sid: number;
}

/**
 * The tree reference of the members of one marker (one spawn): the leader
 * is the member that leads its own session; when it is gone, the session
 * the earliest member still sits in names it. Tracking is `cgroup` when the
 * leader sits in the marker's own cgroup.
 *
 * @example
 * ```ts
 * import { refFromMembers } from "./marked_trees.ts";
 * const ref = refFromMembers("web:1f2e3d4c5b6a", [{ pid: 4242, startTime: 100, sid: 4242 }]);
 * console.log(ref.pid, ref.tracking);
 * ```
 */
export function refFromMembers(marker: string, members: MarkedMember[]): TreeRef {
  const sorted = [...members].sort((a, b) => a.startTime - b.startTime);
  const leader = sorted.find((m) => m.sid === m.pid) ?? sorted[0];
  const id = leader.sid;
  const ref: TreeRef = {
    pid: id,
    startTime: leader.pid === id ? leader.startTime : sorted[0].startTime,
    pgid: id,
    sid: id,
    marker,
    tracking: "group",
  };
  const cg = findCgroup2();
  const path = readCgroupV2Path(leader.pid);
  if (cg && path !== undefined && isTreeCgroup(path, marker)) {
    ref.tracking = "cgroup";
    ref.cgroupPath = `${cg.mountPoint}${path}`;
  }
  return ref;
}

/**
 * Every live tree of run directory `dir` (of service `name` only, when
 * given), found by its processes' environment: service name to one
 * reference per marker. Processes this process cannot read (another user's)
 * are not seen; this process itself never counts (a supervisor launched
 * from inside a service inherits that service's marker).
 *
 * @example
 * ```ts
 * import { scanMarkedTrees } from "./marked_trees.ts";
 * for (const [name, refs] of scanMarkedTrees("/run/pidkit")) {
 *   console.log(name, refs.map((r) => r.pid));
 * }
 * ```
 */
export function scanMarkedTrees(dir: string, name?: string): Map<string, TreeRef[]> {
  const markerPrefix = `${MARKER_VAR}=${name === undefined ? "" : `${name}:`}`;
  const dirEntry = `${RUN_DIR_VAR}=${dir}`;
  const byMarker = markedMembers((pid) => {
    let environ: string[] | undefined;
    try {
      environ = readEnviron(pid);
    } catch {
      return undefined; // not ours to read, or gone
    }
    if (environ === undefined || !environ.includes(dirEntry)) return undefined;
    const marker = environ.find((e) => e.startsWith(markerPrefix))?.slice(MARKER_VAR.length + 1);
    return marker !== undefined && parseMarker(marker) !== undefined ? marker : undefined;
  });
  const trees = new Map<string, TreeRef[]>();
  for (const [marker, members] of byMarker) {
    const owner = parseMarker(marker)!.name;
    trees.set(owner, [...(trees.get(owner) ?? []), refFromMembers(marker, members)]);
  }
  return trees;
}

/**
 * The newest live tree of `name` in `dir` found by its marker (one
 * {@linkcode scanMarkedTrees}), if any.
 *
 * @example
 * ```ts
 * import { newestMarkedTree } from "./marked_trees.ts";
 * console.log(newestMarkedTree("/run/pidkit", "web")?.pid);
 * ```
 */
export function newestMarkedTree(dir: string, name: string): TreeRef | undefined {
  const trees = scanMarkedTrees(dir, name).get(name) ?? [];
  return trees.sort((a, b) => b.startTime - a.startTime)[0];
}

/**
 * The one scan of `/proc` by marker: every live process but this one whose
 * marker `markerOf` names (from its environment), grouped by marker.
 */
function markedMembers(markerOf: (pid: number) => string | undefined): Map<string, MarkedMember[]> {
  const byMarker = new Map<string, MarkedMember[]>();
  for (const pid of listPids()) {
    if (pid === Deno.pid) continue;
    const marker = markerOf(pid);
    if (marker === undefined) continue;
    const st = readProcStat(pid);
    if (st === undefined || isDeadState(st.state)) continue;
    const list = byMarker.get(marker) ?? [];
    list.push({ pid, startTime: st.startTime, sid: st.sid });
    byMarker.set(marker, list);
  }
  return byMarker;
}

/**
 * The live tree whose processes carry `PIDKIT_SERVICE=<marker>` (whatever
 * their run directory), as a reference stop can attach to, or `undefined`
 * when none is alive. The marker's nonce was chosen by the supervisor for
 * this one spawn, so every process carrying it belongs to that tree.
 *
 * @example
 * ```ts
 * import { treeOfMarker } from "./marked_trees.ts";
 * console.log(treeOfMarker("web:1f2e3d4c5b6a")?.pid); // undefined: no such tree
 * ```
 */
export function treeOfMarker(marker: string): TreeRef | undefined {
  if (parseMarker(marker) === undefined) return undefined;
  const entry = markerEntry(marker);
  const members = markedMembers((pid) => environHas(pid, entry) ? marker : undefined).get(marker);
  return members === undefined ? undefined : refFromMembers(marker, members);
}
