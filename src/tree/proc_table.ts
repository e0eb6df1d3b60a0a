/**
 * The live process table: `/proc` read lazily for the membership rule
 * (membership.ts), each process's stat at most once per table, its marker
 * at most once per process (cached by PID and start time, and shareable
 * between tables so a long wait reads each environment once).
 *
 * @module
 */

import { cgroupPids } from "./cgroup.ts";
import { findCgroup2, isInCgroup2 } from "./cgroup.ts";
import { MARKER_VAR } from "./marker.ts";
import type { ProcTable } from "./membership.ts";
import {
  environValue,
  listPids,
  type ProcStat,
  readCgroupV2Path,
  readProcStat,
} from "../os/proc.ts";

/** Markers read so far, by PID, valid for the recorded start time. */
export type MarkerCache = Map<number, { startTime: number; marker: string | undefined | null }>;

/** Where a {@linkcode LiveProcTable} starts from. */
export interface LiveProcTableOptions {
  /** Markers already read (shared across tables of one scanner). */
  markers?: MarkerCache;
  /** Read every process's stat now (a snapshot), rather than on demand. */
  eager?: boolean;
}

/**
 * `/proc` as a {@linkcode ProcTable}: a moment's view, read on demand.
 *
 * @example
 * ```ts
 * import { LiveProcTable } from "./proc_table.ts";
 * const table = new LiveProcTable();
 * console.log(table.get(Deno.pid)?.startTime);
 * ```
 */
export class LiveProcTable implements ProcTable<ProcStat> {
  /** This process. */
  readonly self: number = Deno.pid;
  readonly #stats = new Map<number, ProcStat | null>();
  readonly #markers: MarkerCache;
  #pids: number[] | undefined;

  /** A table of `/proc` now; `options.eager` reads every stat at once. */
  constructor(options: LiveProcTableOptions = {}) {
    this.#markers = options.markers ?? new Map();
    if (options.eager) { for (const pid of this.pids()) this.get(pid); }
  }

  /** Every PID in `/proc`, listed once per table. */
  pids(): number[] {
    this.#pids ??= listPids();
    return this.#pids;
  }

  /** The stat of `pid`, read once per table. */
  get(pid: number): ProcStat | undefined {
    let st = this.#stats.get(pid);
    if (st === undefined) {
      st = readProcStat(pid) ?? null;
      this.#stats.set(pid, st);
    }
    return st ?? undefined;
  }

  /** The marker of `pid` (`null`: environment unreadable), read once per process. */
  marker(pid: number): string | undefined | null {
    const st = this.get(pid);
    if (st === undefined) return null;
    const cached = this.#markers.get(pid);
    if (cached?.startTime === st.startTime) return cached.marker;
    const marker = environValue(pid, MARKER_VAR);
    this.#markers.set(pid, { startTime: st.startTime, marker });
    return marker;
  }

  /** Forget markers of PIDs no longer in `alive`. */
  static prune(markers: MarkerCache, alive: Iterable<number>): void {
    const keep = new Set(alive);
    for (const pid of markers.keys()) if (!keep.has(pid)) markers.delete(pid);
  }

  /** The PIDs in `cgroup.procs` of `path` (only a real cgroup2 directory: the path may come from a state file). */
  cgroupPids(path: string): number[] {
    return isInCgroup2(path) ? cgroupPids(path) : [];
  }

  /** The absolute cgroup2 directory of `pid`. */
  cgroup(pid: number): string | undefined {
    const rel = readCgroupV2Path(pid);
    const mount = cgroupMount();
    if (rel === undefined || mount === undefined) return undefined;
    return rel === "/" ? mount : `${mount}${rel}`;
  }
}

let mountPoint: string | null | undefined;

function cgroupMount(): string | undefined {
  if (mountPoint === undefined) mountPoint = findCgroup2()?.mountPoint ?? null;
  return mountPoint ?? undefined;
}
