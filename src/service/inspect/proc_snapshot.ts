/**
 * One view of `/proc` shared by every service a command looks at: `list` of
 * hundreds of services reads each process's stat at most once, not once per
 * service, and computes each tree from the same pid -> stat table.
 *
 * @module
 */

import type { TreeRef } from "../../tree/process_tree.ts";
import {
  latestUnmarkedOrphan,
  type MembershipContext,
  MembershipIndex,
  type OrphanRegistry,
  type ProcTable,
  subreaperRegistry,
  type TreeLeader,
} from "../../tree/membership.ts";
import { LiveProcTable } from "../../tree/proc_table.ts";
import type { InspectMemo, ServiceInfo } from "./inspect_service.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { locatePid } from "../../os/pid_namespace.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  pageSize,
  type ProcStat,
  readCmdline,
  readUptimeSeconds,
} from "../../os/proc.ts";

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

/**
 * The supervisor that holds a tree and every tree it holds (from their
 * records): what `list` and `ps` need to claim the orphans it claims when
 * it stops or signals the tree.
 */
export interface HeldTrees {
  /** The supervisor (PID and start time). */
  supervisor: TreeLeader;
  /** The trees it holds, read only when needed. */
  trees: () => readonly (TreeLeader & { tracking: "cgroup" | "group" })[];
}

/** The live processes a command looks at, each read once, with the lookups trees need. */
export class ProcSnapshot {
  /** Seconds since boot when the snapshot was taken. */
  readonly uptime: number;
  readonly #table: ProcTable<ProcStat>;
  /** The process tree, built once for every group-tier tree asked. */
  readonly #index: MembershipIndex<ProcStat>;
  readonly #page = pageSize();
  /** By supervisor PID: the start time of its latest unmarked orphan. */
  readonly #orphans = new Map<number, number | undefined>();
  /** By supervisor PID: what it knows about its trees' orphans. */
  readonly #registries = new Map<number, OrphanRegistry>();
  #procs: Map<number, ProcStat> | undefined;

  /**
   * Take the snapshot (or take `table`, a process table a test built, and
   * `uptime`). Stat files are read when a tree needs them, each once: the
   * members of a cgroup-tracked tree come from its `cgroup.procs`, so `list`
   * of cgroup trees reads their processes' stat files, not every process's
   * on the host; a process-group tree scans `/proc`.
   */
  constructor(table?: ProcTable<ProcStat>, uptime?: number) {
    this.#table = table ?? new LiveProcTable();
    this.#index = new MembershipIndex(this.#table, { manyTrees: true });
    this.uptime = uptime ?? readUptimeSeconds();
  }

  /** Live processes (zombies excluded) by PID: every stat in `/proc`, read on first use. */
  get procs(): Map<number, ProcStat> {
    if (this.#procs) return this.#procs;
    const procs = new Map<number, ProcStat>();
    for (const pid of this.#table.pids()) {
      const st = this.#table.get(pid);
      if (st && !isDeadState(st.state)) procs.set(pid, st);
    }
    return this.#procs = procs;
  }

  /**
   * The live members of the tree `ref` names, by the one membership rule
   * (src/tree/membership.ts, the rule `attachTree` and `stop` use), in PID
   * order, with what `list` and `ps` show. With `held` (the supervisor
   * holding the tree, {@linkcode heldTrees}), the unmarked orphans that
   * supervisor would claim for the tree count too.
   */
  members(ref: TreeRef, held?: HeldTrees): TreeProcess[] {
    return this.#index.members(ref, this.#context(ref, held)).map((st) => this.describe(st));
  }

  /**
   * The orphans the supervisor holding `ref` would claim for it (group
   * tracking only): its registry, built only when it has an unmarked orphan
   * that started no earlier than the tree's leader.
   */
  #context(ref: TreeRef, held: HeldTrees | undefined): MembershipContext {
    if (held === undefined || ref.tracking !== "group") return {};
    const sup = held.supervisor;
    if (!this.#orphans.has(sup.pid)) {
      this.#orphans.set(sup.pid, latestUnmarkedOrphan(this.#table, sup.pid));
    }
    const latest = this.#orphans.get(sup.pid);
    if (latest === undefined || latest < ref.startTime) return {};
    let registry = this.#registries.get(sup.pid);
    if (registry === undefined) {
      registry = subreaperRegistry(this.#table, sup, held.trees());
      this.#registries.set(sup.pid, registry);
    }
    return { orphans: registry };
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

/**
 * The supervisor holding the service `info` describes and, read when
 * needed from `records` (the run dir's), every tree it holds: what
 * {@linkcode ProcSnapshot.members} needs to claim the orphans that
 * supervisor claims. `undefined` when no supervisor of this PID namespace
 * holds the service (an orphaned tree: nobody claims its orphans).
 */
export function heldTrees(
  info: ServiceInfo,
  records: () => Iterable<ServiceRecord | undefined>,
  namespaced: boolean,
): HeldTrees | undefined {
  const sup = info.record?.supervisor;
  // Only pidkit's own supervisors (0.3 records say which kind) adopt orphans by this rule.
  if (sup?.kind === undefined || namespaced || info.phase === "orphaned") return undefined;
  if (info.supervisorPid !== sup.pid) return undefined;
  return {
    supervisor: { pid: sup.pid, startTime: sup.startTime },
    trees: () => {
      const out: TreeRef[] = [];
      for (const r of records()) {
        if (r?.tree && r.supervisor?.pid === sup.pid && r.supervisor.startTime === sup.startTime) {
          out.push(r.tree);
        }
      }
      return out;
    },
  };
}
