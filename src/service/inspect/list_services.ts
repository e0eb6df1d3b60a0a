/**
 * Every service of a run directory with its tree's totals, as data: what
 * `pidkit list --json` prints. `/proc` is scanned once for all services.
 *
 * @module
 */

import { type InspectMemo, inspectService, isRunningPhase, nextRunOf } from "./inspect_service.ts";
import { resolveRunDir, serviceNames } from "../model/run_dir.ts";
import { heldTrees, kernelTree, ProcSnapshot, totals } from "./proc_snapshot.ts";
import { isStoppedProcess } from "../../os/proc.ts";
import { LiveProcTable, type MarkerCache } from "../../tree/proc_table.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { requireAllPermissions } from "../../os/permissions.ts";

/**
 * One service of {@linkcode listServices} (every key always present; `null` when not known).
 *
 * @example
 * ```ts
 * import { listServices, type ServiceListEntry } from "@pidkit/pidkit/service";
 * const big: ServiceListEntry[] = (await listServices()).services
 *   .filter((s) => s.memoryBytes > 512 * 1024 * 1024);
 * console.log(big.map((s) => s.name));
 * ```
 */
export interface ServiceListEntry {
  /** The service name. */
  name: string;
  /** What it is doing (a {@linkcode ServicePhase}). */
  state: string;
  /** The service's main PID, while it runs. */
  pid: number | null;
  /** `pid` as the kernel numbers it here (differs for a supervisor in another PID namespace). */
  kernelPid: number | null;
  /** `pid` is a PID of the supervisor's (nested) PID namespace. */
  namespaced: boolean;
  /** How long the main process has run, ms. */
  uptimeMs: number | null;
  /** Restarts since the service was started. */
  restarts: number | null;
  /** Live processes in its tree. */
  processes: number;
  /** Resident memory of the whole tree, bytes. */
  memoryBytes: number;
  /** The tree's CPU time over the wall time since its oldest live process started, percent. */
  cpuPercent: number;
  /** The service command. */
  command: string[] | null;
  /** The last `STATUS=` text the service sent over sd_notify. */
  statusText: string | null;
  /** The declaration file it was started from by `pidkit up`; `null`: started by hand. */
  file: string | null;
  /** A schedule's next tick (see `ServiceStatus.nextRun`); `null` without one. */
  nextRun: { at: string; inMs: number; action: "start" | "restart" } | null;
}

/**
 * What {@linkcode listServices} returns: the run directory and its services, sorted by name.
 *
 * @example
 * ```ts
 * import { listServices, type ServiceList } from "@pidkit/pidkit/service";
 * const list: ServiceList = await listServices({ dir: "/tmp/pidkit-example" });
 * console.log(list.dir, list.services.length);
 * ```
 */
export interface ServiceList {
  /** The run directory. */
  dir: string;
  /** Its services, sorted by name. */
  services: ServiceListEntry[];
  /**
   * Supervisors of running services that are stopped (SIGSTOP, say): they
   * answer no command until they get SIGCONT.
   */
  stoppedSupervisors: number[];
}

/**
 * Options of {@linkcode listServices}.
 *
 * @example
 * ```ts
 * import type { ListServicesOptions } from "@pidkit/pidkit/service";
 * const options: ListServicesOptions = { dir: "/tmp/pidkit-example" };
 * ```
 */
export interface ListServicesOptions {
  /** The run directory; default as {@linkcode resolveRunDir} finds it. Never created. */
  dir?: string;
}

/**
 * Every service of the run directory (each name with a `.pid` or `.json`
 * file), sorted by name, with its state, PID, uptime, restarts and its
 * tree's process count, memory and CPU. A missing run directory has none.
 * Reads only. Throws {@linkcode PidFileError} for a run dir that cannot be
 * read. Needs `-A` (`/proc`).
 *
 * @example
 * ```ts
 * import { listServices } from "@pidkit/pidkit/service";
 *
 * const { dir, services } = await listServices({ dir: "/tmp/pidkit-example" });
 * for (const s of services) console.log(dir, s.name, s.state, s.pid, s.memoryBytes);
 * ```
 */
export async function listServices(options: ListServicesOptions = {}): Promise<ServiceList> {
  return (await listServiceDetails(options)).list;
}

/**
 * What the metrics need beyond a {@linkcode ServiceListEntry}: the tree's
 * CPU time as a counter and the record's numbers, per service (same order).
 *
 * @example
 * ```ts
 * import type { ServiceDetail } from "./list_services.ts";
 * const detail: ServiceDetail = { cpuSeconds: 1.5, startedAt: null, lastExit: null };
 * console.log(detail.cpuSeconds);
 * ```
 */
export interface ServiceDetail {
  /** User + system CPU seconds of the tree's live processes. */
  cpuSeconds: number;
  /** When the current tree started (ISO), while it runs. */
  startedAt: string | null;
  /** How it last ended, as its record says. */
  lastExit: { code: number | null; signal: string | null } | null;
}

/**
 * Options of {@linkcode listServiceDetails}: besides the directory, what a
 * caller that looks again and again (the HTTP server) keeps between looks.
 * Each gives what a fresh read would give.
 *
 * @example
 * ```ts
 * import type { ListLookOptions } from "./list_services.ts";
 * const options: ListLookOptions = { dir: "/tmp/pidkit-example", markers: new Map() };
 * ```
 */
export interface ListLookOptions extends ListServicesOptions {
  /** The service names of the directory (default: read now, `serviceNames`). */
  names?: (dir: string) => Promise<string[]>;
  /** Reads a state file, as `readServiceRecordSync` would (default: that). */
  readRecord?: (path: string) => ServiceRecord | undefined;
  /** Markers read in earlier looks, by PID and start time (kept to the live processes after this look). */
  markers?: MarkerCache;
}

/**
 * {@linkcode listServices} and, per service (same order), its
 * {@linkcode ServiceDetail}: one look at the run directory and `/proc` for
 * both `list --json` and the metrics.
 *
 * @example
 * ```ts
 * import { listServiceDetails } from "./list_services.ts";
 * const { list, details } = await listServiceDetails({ dir: "/tmp/pidkit-example" });
 * console.log(list.services.length === details.length);
 * ```
 */
export async function listServiceDetails(
  options: ListLookOptions = {},
): Promise<{ list: ServiceList; details: ServiceDetail[] }> {
  requireAllPermissions("listServices");
  const dir = resolveRunDir({ dir: options.dir });
  const names = await (options.names ?? serviceNames)(dir);
  // One supervisor answers for every service of the dir: look at it once.
  const memo: InspectMemo = {
    alive: new Map(),
    sameNamespace: new Map(),
    ...(options.readRecord ? { readRecord: options.readRecord } : {}),
  };
  const infos = await Promise.all(names.map((n) => inspectService(dir, n, memo)));
  const table = new LiveProcTable({ markers: options.markers });
  const snap = new ProcSnapshot(table);
  const details: ServiceDetail[] = [];
  const services: ServiceListEntry[] = infos.map((info) => {
    const live = info.record?.tree !== undefined && isRunningPhase(info.phase);
    // A supervisor in another PID namespace recorded its namespace's PIDs.
    const { ref, kernelPid, namespaced } = kernelTree(info, memo);
    const held = heldTrees(info, () => infos.map((i) => i.record), namespaced);
    const members = live && ref ? snap.members(ref, held) : [];
    const t = totals(members);
    const leader = members.find((m) => m.pid === kernelPid);
    const exit = info.record?.lastExit;
    details.push({
      cpuSeconds: members.reduce((sum, m) => sum + m.cpuSeconds, 0),
      startedAt: live ? info.record?.serviceStartedAt ?? null : null,
      lastExit: exit ? { code: exit.code, signal: exit.signal } : null,
    });
    return {
      name: info.name,
      state: info.phase,
      // A daemon's own unlocked NAME.pid (no pidkit state) has no tree, but a verified PID.
      pid: live || info.verdict?.status === "running" ? info.pid ?? null : null,
      kernelPid: live ? kernelPid ?? null : info.verdict?.status === "running" ? info.pid! : null,
      namespaced: live && namespaced,
      uptimeMs: leader ? Math.round(leader.ageSeconds * 1000) : null,
      restarts: info.record?.restarts ?? null,
      processes: t.processes,
      memoryBytes: t.rssBytes,
      cpuPercent: Math.round(t.cpuPercent * 10) / 10,
      command: info.record?.command ?? null,
      statusText: live ? info.record?.statusText ?? null : null,
      file: info.record?.origin?.file ?? null,
      nextRun: nextRunOf(info),
    };
  });
  // Only the group tier reads markers (the cgroup tier lists no PID of /proc).
  if (options.markers !== undefined && options.markers.size > 0) {
    LiveProcTable.prune(options.markers, table.pids());
  }
  const supervisors = new Set(
    infos.filter((i) => isRunningPhase(i.phase) && i.supervisorPid !== undefined)
      .map((i) => i.supervisorPid!),
  );
  return {
    list: { dir, services, stoppedSupervisors: [...supervisors].filter(isStoppedProcess) },
    details,
  };
}
