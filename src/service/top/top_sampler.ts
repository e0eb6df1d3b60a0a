/**
 * What `pidkit top` shows, one look at a time: every service of a run
 * directory with its tree's processes, memory (as `list` measures it) and
 * CPU use since the previous look.
 *
 * Built for being called every second with hundreds of services: one
 * `/proc` snapshot per look for every tree, records read again only when
 * they changed ({@linkcode RecordCache}), the run directory listed again
 * only when it changed.
 *
 * @module
 */

import {
  type InspectMemo,
  inspectService,
  isRunningPhase,
  type ServiceInfo,
  type ServicePhase,
} from "../inspect/inspect_service.ts";
import { resolveRunDir, serviceNames } from "../model/run_dir.ts";
import { heldTrees, kernelTree, ProcSnapshot, totals } from "../inspect/proc_snapshot.ts";
import { isStoppedProcess } from "../../os/proc.ts";
import { LiveProcTable, type MarkerCache } from "../../tree/proc_table.ts";
import { requireAllPermissions } from "../../os/permissions.ts";
import { RecordCache } from "../model/record_cache.ts";
import { type ProcessTicks, treeCpuPercent } from "./tree_cpu.ts";

/**
 * One service in a {@linkcode TopSample}.
 *
 * @example
 * ```ts
 * import type { TopService } from "./top_sampler.ts";
 * const busy = (s: TopService) => (s.cpuPercent ?? 0) > 50;
 * ```
 */
export interface TopService {
  /** The service name. */
  name: string;
  /** What it is doing. */
  state: ServicePhase;
  /** Whether its readiness conditions hold: `false` while starting or restarting, `null` when it does not run. */
  ready: boolean | null;
  /** The last `STATUS=` text it sent (sd_notify), while it runs. */
  statusText: string | null;
  /** Its main PID as the kernel numbers it here, while it runs. */
  pid: number | null;
  /** Live processes in its tree. */
  processes: number;
  /** Resident memory of the whole tree, bytes (the measure `list` uses). */
  memoryBytes: number;
  /** CPU of the whole tree since the previous look, percent of one core; `null` on the first look. */
  cpuPercent: number | null;
  /** Restarts since it was started. */
  restarts: number | null;
  /** How long its main process has run, ms. */
  uptimeMs: number | null;
}

/**
 * One look at a run directory: {@linkcode TopSampler.sample}.
 *
 * @example
 * ```ts
 * import type { TopSample } from "./top_sampler.ts";
 * const running = (s: TopSample) => s.services.filter((x) => x.pid !== null).length;
 * ```
 */
export interface TopSample {
  /** The run directory. */
  dir: string;
  /** Seconds since boot when it was taken. */
  uptimeSeconds: number;
  /** Its services, by name. */
  services: TopService[];
  /** Supervisors of running services that are stopped (SIGSTOP): they answer nothing. */
  stoppedSupervisors: number[];
}

/**
 * Options of {@linkcode TopSampler}.
 *
 * @example
 * ```ts
 * import type { TopSamplerOptions } from "./top_sampler.ts";
 * const options: TopSamplerOptions = { dir: "/tmp/pidkit-example" };
 * ```
 */
export interface TopSamplerOptions {
  /** The run directory (see `resolveRunDir`); never created. */
  dir?: string;
}

/** Look at the run directory's listing again at least this often (looks), even when its mtime says nothing changed. */
const RELIST_EVERY = 10;

/**
 * Looks at a run directory again and again, remembering what it needs from
 * one look to the next (each tree's CPU times, the records, the names).
 * Reads only. Needs `-A` (`/proc`).
 *
 * @example
 * ```ts
 * import { TopSampler } from "./top_sampler.ts";
 * const sampler = new TopSampler({ dir: "/tmp/pidkit-example" });
 * await sampler.sample(); // CPU is null on the first look
 * await new Promise((r) => setTimeout(r, 1000));
 * for (const s of (await sampler.sample()).services) console.log(s.name, s.cpuPercent);
 * ```
 */
export class TopSampler {
  /** The run directory. */
  readonly dir: string;
  readonly #records = new RecordCache();
  #names: string[] = [];
  #dirStamp = "";
  #looks = 0;
  #ticks = new Map<string, Map<number, ProcessTicks>>();
  #uptime: number | undefined;
  /** Markers read in earlier looks (by PID and start time): each process's environment once. */
  readonly #markers: MarkerCache = new Map();

  /** A sampler of `options.dir` (default as `resolveRunDir` finds it). */
  constructor(options: TopSamplerOptions = {}) {
    requireAllPermissions("TopSampler");
    this.dir = resolveRunDir({ dir: options.dir });
  }

  /** Look now. */
  async sample(): Promise<TopSample> {
    const names = await this.#listNames();
    const memo: InspectMemo = {
      alive: new Map(),
      sameNamespace: new Map(),
      readRecord: (path) => this.#records.read(path),
    };
    const infos: ServiceInfo[] = [];
    for (const name of names) infos.push(await inspectService(this.dir, name, memo));
    this.#records.prune();
    const table = new LiveProcTable({ markers: this.#markers });
    const snap = new ProcSnapshot(table);
    const ticks = new Map<string, Map<number, ProcessTicks>>();
    const interval = { fromSeconds: this.#uptime ?? 0, toSeconds: snap.uptime };
    const services = infos.map((info): TopService => {
      const live = info.record?.tree !== undefined && isRunningPhase(info.phase);
      const { ref, kernelPid, namespaced } = kernelTree(info, memo);
      const held = heldTrees(info, () => infos.map((i) => i.record), namespaced);
      const members = live && ref ? snap.members(ref, held) : [];
      const now = new Map<number, ProcessTicks>();
      for (const m of members) {
        const ticks = m.utime + m.stime + (m.cutime ?? 0) + (m.cstime ?? 0);
        now.set(m.pid, { pid: m.pid, startTime: m.startTime, ticks });
      }
      ticks.set(info.name, now);
      const before = this.#uptime === undefined ? undefined : this.#ticks.get(info.name) ?? EMPTY;
      const t = totals(members);
      const leader = members.find((m) => m.pid === kernelPid);
      const running = live || info.verdict?.status === "running";
      return {
        name: info.name,
        state: info.phase,
        ready: readiness(info.phase),
        statusText: live ? info.record?.statusText ?? null : null,
        pid: running ? (live ? kernelPid : info.pid) ?? null : null,
        processes: t.processes,
        memoryBytes: t.rssBytes,
        cpuPercent: live ? treeCpuPercent(before, now, interval) : null,
        restarts: info.record?.restarts ?? null,
        uptimeMs: leader ? Math.round(leader.ageSeconds * 1000) : null,
      };
    });
    this.#ticks = ticks;
    this.#uptime = snap.uptime;
    LiveProcTable.prune(this.#markers, table.pids());
    const supervisors = new Set<number>();
    for (const i of infos) {
      if (isRunningPhase(i.phase) && i.supervisorPid !== undefined) {
        supervisors.add(i.supervisorPid);
      }
    }
    return {
      dir: this.dir,
      uptimeSeconds: snap.uptime,
      services,
      stoppedSupervisors: [...supervisors].filter(isStoppedProcess),
    };
  }

  /** The service names, listed again when the directory changed (and every few looks anyway). */
  async #listNames(): Promise<string[]> {
    let stamp = "";
    try {
      const st = Deno.statSync(this.dir);
      stamp = `${st.ino}:${st.mtime?.getTime()}`;
    } catch { /* listed below: serviceNames words the error */ }
    if (stamp === "" || stamp !== this.#dirStamp || ++this.#looks % RELIST_EVERY === 0) {
      this.#names = await serviceNames(this.dir);
      this.#dirStamp = stamp;
    }
    return this.#names;
  }
}

const EMPTY: ReadonlyMap<number, ProcessTicks> = new Map();

/** Ready once started (its readiness conditions held); `null` when no supervisor runs it. */
function readiness(phase: ServicePhase): boolean | null {
  if (phase === "starting" || phase === "restarting") return false;
  return phase === "running" || phase === "reloading" || phase === "stopping" ? true : null;
}
