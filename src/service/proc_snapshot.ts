/**
 * One scan of `/proc` shared by every service a command looks at: `list` of
 * hundreds of services reads each process's stat once, not once per
 * service, and computes each tree from the same pid -> stat map.
 *
 * @module
 */

import { isInCgroup2 } from "../tree/cgroup.ts";
import type { TreeRef } from "../tree/process_tree.ts";
import { markerIn } from "../tree/marker.ts";
import type { InspectMemo, ServiceInfo } from "./inspect_service.ts";
import { locatePid } from "../os/pid_namespace.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  listPids,
  pageSize,
  type ProcStat,
  readCmdline,
  readEnviron,
  readProcStat,
  readUptimeSeconds,
} from "../os/proc.ts";

/** A live process of a tree with what `list` and `ps` show. */
export interface TreeProcess extends ProcStat {
  /** Resident memory in bytes. */
  rssBytes: number;
  /** User + system CPU time in seconds. */
  cpuSeconds: number;
  /** Seconds since the process started. */
  ageSeconds: number;
  /** Average CPU use since the process started, in percent of one core. */
  cpuPercent: number;
}

/** Every live process at one moment, with the lookups trees need. */
export class ProcSnapshot {
  /** Live processes (zombies excluded) by PID. */
  readonly procs: Map<number, ProcStat> = new Map();
  /** Seconds since boot when the snapshot was taken. */
  readonly uptime: number;
  readonly #children = new Map<number, number[]>();
  readonly #markers = new Map<number, string | undefined>();
  readonly #page = pageSize();

  /** Scan `/proc` now. */
  constructor() {
    for (const pid of listPids()) {
      const st = readProcStat(pid);
      if (!st || isDeadState(st.state)) continue;
      this.procs.set(pid, st);
      const siblings = this.#children.get(st.ppid);
      if (siblings) siblings.push(pid);
      else this.#children.set(st.ppid, [pid]);
    }
    this.uptime = readUptimeSeconds();
  }

  /** The `PIDKIT_SERVICE` value of a process, read once per snapshot. */
  #marker(pid: number): string | undefined {
    if (!this.#markers.has(pid)) {
      let value: string | undefined;
      try {
        const environ = readEnviron(pid);
        value = environ === undefined ? undefined : markerIn(environ);
      } catch { /* gone or unreadable */ }
      this.#markers.set(pid, value);
    }
    return this.#markers.get(pid);
  }

  /**
   * The live members of the tree `ref` names: the cgroup's processes when
   * it is cgroup-tracked; otherwise the process group, the session, their
   * descendants, and every process carrying the tree's marker (the same
   * rule as `attachTree`). Processes that started before the tree's leader
   * cannot belong to it, so they are left out.
   */
  members(ref: TreeRef): TreeProcess[] {
    const found = new Set<number>();
    // Only a real cgroup: the path comes from a state file (see checkTreeRef).
    if (ref.tracking === "cgroup" && ref.cgroupPath && isInCgroup2(ref.cgroupPath)) {
      try {
        const text = Deno.readTextFileSync(`${ref.cgroupPath}/cgroup.procs`);
        for (const line of text.split("\n")) if (line) found.add(Number(line));
      } catch { /* cgroup gone: fall back to the group scan below */ }
    }
    if (found.size === 0) {
      // A leader PID now used by another process means the old group and
      // session are empty (the kernel does not reuse a PID still naming a
      // group or session): only the marker can find members then.
      const leader = this.procs.get(ref.pid);
      if (!leader || leader.startTime === ref.startTime) {
        for (const [pid, st] of this.procs) {
          if (st.pgid === ref.pgid || st.sid === ref.sid) found.add(pid);
        }
      }
      for (const pid of [...found]) this.#addDescendants(pid, found);
      for (const pid of this.procs.keys()) {
        if (!found.has(pid) && this.#marker(pid) === ref.marker) found.add(pid);
      }
    }
    const out: TreeProcess[] = [];
    for (const pid of found) {
      const st = this.procs.get(pid);
      if (!st || st.startTime < ref.startTime) continue;
      out.push(this.describe(st));
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  #addDescendants(pid: number, into: Set<number>): void {
    for (const child of this.#children.get(pid) ?? []) {
      if (into.has(child)) continue;
      into.add(child);
      this.#addDescendants(child, into);
    }
  }

  /** Memory and CPU figures of one process. */
  describe(st: ProcStat): TreeProcess {
    const cpuSeconds = (st.utime + st.stime) / CLOCK_TICKS_PER_SECOND;
    const ageSeconds = Math.max(0, this.uptime - st.startTime / CLOCK_TICKS_PER_SECOND);
    return {
      ...st,
      rssBytes: st.rssPages * this.#page,
      cpuSeconds,
      ageSeconds,
      cpuPercent: ageSeconds > 0 ? (100 * cpuSeconds) / ageSeconds : 0,
    };
  }

  /**
   * The command line of a process (`[comm]` when it has none, e.g. a kernel
   * thread), without the NUL padding a process title leaves (nginx and
   * postgres write theirs over argv: `nginx: worker process` and then
   * empty strings to the end of the old arguments).
   */
  command(st: ProcStat): string[] {
    const argv = readCmdline(st.pid) ?? [];
    while (argv.length > 1 && argv.at(-1) === "") argv.pop();
    return argv.length > 0 ? argv : [`[${st.comm}]`];
  }
}

/** Totals over a tree, as `list` shows them. */
export interface TreeTotals {
  /** Live processes. */
  processes: number;
  /** Sum of resident memory in bytes. */
  rssBytes: number;
  /**
   * CPU time of the live members divided by the wall time since the tree's
   * oldest live member started, in percent of one core.
   */
  cpuPercent: number;
}

/** Sum a tree's members. */
export function totals(members: TreeProcess[]): TreeTotals {
  let rssBytes = 0;
  let cpu = 0;
  let age = 0;
  for (const m of members) {
    rssBytes += m.rssBytes;
    cpu += m.cpuSeconds;
    age = Math.max(age, m.ageSeconds);
  }
  return { processes: members.length, rssBytes, cpuPercent: age > 0 ? (100 * cpu) / age : 0 };
}

/**
 * The tree of a service as the kernel numbers it here. A supervisor in
 * another PID namespace (a container) recorded its namespace's PIDs; the
 * leader is found through the lock holder (`locatePid`) and, since it leads
 * its own group and session, its PID here is also the tree's group and
 * session id here.
 */
export function kernelTree(
  info: ServiceInfo,
  memo?: InspectMemo,
): { ref: TreeRef | undefined; kernelPid: number | undefined; namespaced: boolean } {
  const ref = info.record?.tree;
  if (info.pid === undefined || info.probe?.status !== "running") {
    return { ref, kernelPid: info.pid, namespaced: false };
  }
  const holder = info.probe.holderPid;
  if (holder !== undefined && memo?.sameNamespace.get(holder) === true) {
    return { ref, kernelPid: info.pid, namespaced: false };
  }
  const where = locatePid(info.pid, holder);
  if (holder !== undefined && !where.namespaced) memo?.sameNamespace.set(holder, true);
  const k = where.kernelPid;
  if (!where.namespaced || ref === undefined || ref.pid !== info.pid || k === undefined) {
    return { ref, kernelPid: k, namespaced: where.namespaced };
  }
  return { ref: { ...ref, pid: k, pgid: k, sid: k }, kernelPid: k, namespaced: true };
}
