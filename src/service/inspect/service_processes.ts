/**
 * A service's processes from code: {@linkcode serviceProcesses}, the tree
 * `pidkit ps` prints, in its order and `--json` shape.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { inspectService, isRunningPhase, type ServicePhase } from "./inspect_service.ts";
import { resolveRunDir, validateName } from "../model/run_dir.ts";
import { heldTrees, kernelTree, ProcSnapshot, type TreeProcess } from "./proc_snapshot.ts";
import { readServiceRecordSync, type ServiceRecord } from "../model/service_record.ts";
import { newestMarkedTree } from "./marked_trees.ts";

/** One process of a service's tree (the `--json` shape of `pidkit ps`). */
export interface ServiceProcess {
  /** Its PID (as seen from here). */
  pid: number;
  /** Its parent's PID. */
  ppid: number;
  /** Its process group. */
  pgid: number;
  /** Its session. */
  sid: number;
  /** How deep in the tree: 0 for a root, 1 for its children, ... */
  depth: number;
  /** Resident memory in bytes. */
  rssBytes: number;
  /** CPU time used, user and system, in seconds. */
  cpuSeconds: number;
  /** CPU use over its life, percent of one core, to one decimal. */
  cpuPercent: number;
  /** Its command line (one element: a process title, such as `nginx: worker process`). */
  command: string[];
}

/** A service's process tree (the `--json` output of `pidkit ps`). */
export interface ServiceProcesses {
  /** The service. */
  name: string;
  /** Its phase. */
  state: ServicePhase;
  /** Its main PID (in its own PID namespace), or null. */
  pid: number | null;
  /** Its main PID as seen from here, or null when it cannot be told. */
  kernelPid: number | null;
  /** Whether its supervisor is in another PID namespace. */
  namespaced: boolean;
  /** Each process followed by its children (by pid), depth first. */
  processes: ServiceProcess[];
}

/** Options of {@linkcode serviceProcesses}. */
export interface ServiceProcessesOptions {
  /** The run directory (see {@linkcode resolveRunDir}). */
  dir?: string;
}

/**
 * The processes of service `name` now: every member of its tree, each
 * followed by its children, with memory, CPU and command line. Throws
 * {@linkcode PidkitError} when it is not running (or cannot be told).
 *
 * @example
 * ```ts
 * import { serviceProcesses } from "@pidkit/pidkit/service";
 *
 * try {
 *   const tree = await serviceProcesses("web");
 *   for (const p of tree.processes) console.log("  ".repeat(p.depth) + p.pid, p.command.join(" "));
 * } catch (err) {
 *   console.error((err as Error).message); // e.g. web is not running (stopped)
 * }
 * ```
 */
export async function serviceProcesses(
  name: string,
  options: ServiceProcessesOptions = {},
): Promise<ServiceProcesses> {
  validateName(name);
  const dir = resolveRunDir({ dir: options.dir });
  const info = await inspectService(dir, name);
  const live = isRunningPhase(info.phase);
  // A record that cannot be read (or names no tree) beside a live service:
  // its tree is found by its marker.
  const ref = info.record?.tree ?? info.marked ??
    (live ? newestMarkedTree(dir, name) : undefined);
  if (!live || ref === undefined) {
    if (info.phase === "unknown") throw new PidkitError(`cannot tell: ${info.error}`);
    if (live) {
      throw new PidkitError(
        `${name} is ${info.phase}, but no process of it is found (between two runs, or its ` +
          `record cannot be read${info.error ? `: ${info.error}` : ""})`,
      );
    }
    throw new PidkitError(`${name} is not running (${info.phase})`);
  }
  const snap = new ProcSnapshot();
  const here = kernelTree(info); // a supervisor in another PID namespace: its PIDs translated
  const held = heldTrees(info, () => dirRecords(dir), here.namespaced);
  const processes = ordered(snap.members(here.ref ?? ref, held)).map(([p, depth]) => ({
    pid: p.pid,
    ppid: p.ppid,
    pgid: p.pgid,
    sid: p.sid,
    depth,
    rssBytes: p.rssBytes,
    cpuSeconds: p.cpuSeconds,
    cpuPercent: Math.round(p.cpuPercent * 10) / 10,
    command: snap.command(p),
  }));
  return {
    name,
    state: info.phase,
    pid: info.pid ?? null,
    kernelPid: here.kernelPid ?? null,
    namespaced: here.namespaced,
    processes,
  };
}

/** Depth-first order: each process followed by its children (by pid); roots have no parent in the tree. */
function ordered(members: TreeProcess[]): [TreeProcess, number][] {
  const byPid = new Map(members.map((m) => [m.pid, m]));
  const kids = new Map<number, TreeProcess[]>();
  const roots: TreeProcess[] = [];
  for (const m of members) {
    if (byPid.has(m.ppid) && m.ppid !== m.pid) {
      const list = kids.get(m.ppid) ?? [];
      list.push(m);
      kids.set(m.ppid, list);
    } else roots.push(m);
  }
  const out: [TreeProcess, number][] = [];
  const walk = (p: TreeProcess, depth: number) => {
    out.push([p, depth]);
    for (const k of kids.get(p.pid) ?? []) walk(k, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}

/** Every readable record of run dir `dir` (what its supervisor holds), read only when needed. */
function* dirRecords(dir: string): Generator<ServiceRecord | undefined> {
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    try {
      yield readServiceRecordSync(`${dir}/${entry.name}`);
    } catch { /* unreadable or corrupt: says nothing of the supervisor's trees */ }
  }
}
