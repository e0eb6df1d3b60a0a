/**
 * `--max-memory SIZE` (pm2's `max_memory_restart`): the resident memory of
 * the service's whole tree, measured as `pidkit list` measures it (the sum
 * of its members' RSS, src/service/inspect/proc_snapshot.ts), is sampled every
 * second; over the limit, the supervisor logs it and restarts the service
 * through its stop schedule.
 *
 * Where the tree's cgroup can have the memory controller (cgroup v2 with
 * `memory` in the parent's `cgroup.controllers`: a delegated subtree, or
 * root on a host whose hierarchy has it), `memory.max` is also set to the
 * limit, so the kernel enforces it between samples; an OOM kill it makes
 * (`oom_kill` in `memory.events`) is logged. Elsewhere (group tracking, or
 * a hierarchy without the memory controller, as on the machines pidkit is
 * tested on) only the sampled limit applies.
 *
 * @module
 */

import { ProcSnapshot, totals } from "../inspect/proc_snapshot.ts";
import type { PolicyTarget, ServicePolicy } from "../model/policy.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import { formatBytes } from "../../os/byte_size.ts";

/** How often the tree's memory is sampled (ms). */
export const MEMORY_SAMPLE_MS = 1000;

/** How a {@linkcode MemoryPolicy} measures and acts. */
export interface MemoryPolicyOptions {
  /** The limit in bytes (`--max-memory`). */
  maxBytes: number;
  /** Sample every this many ms (default {@linkcode MEMORY_SAMPLE_MS}). */
  sampleMs?: number;
  /** The tree's resident memory in bytes (default: as `list` measures it). */
  measure?: (ref: TreeRef) => number;
}

/**
 * The tree's resident memory as `pidkit list` shows it: the sum of the RSS
 * of its live members by the one membership rule.
 *
 * @example
 * ```ts
 * import { treeMemory } from "./memory_policy.ts";
 * import type { TreeRef } from "../../tree/process_tree.ts";
 * declare const ref: TreeRef;
 * console.log(treeMemory(ref));
 * ```
 */
export function treeMemory(ref: TreeRef): number {
  return totals(new ProcSnapshot().members(ref)).rssBytes;
}

/**
 * The memory limit of one service.
 *
 * @example
 * ```ts
 * import { MemoryPolicy } from "./memory_policy.ts";
 * import type { PolicyTarget } from "../model/policy.ts";
 * declare const target: PolicyTarget;
 * const policy = new MemoryPolicy(target, { maxBytes: 200 * 1024 * 1024 });
 * policy.start();
 * policy.close();
 * ```
 */
export class MemoryPolicy implements ServicePolicy {
  readonly name = "memory" as const;
  readonly #target: PolicyTarget;
  readonly #opts: MemoryPolicyOptions;
  #timer?: ReturnType<typeof setInterval>;
  #sampling = false;
  /** The cgroup whose memory.max is set, and its OOM kills seen so far. */
  #cgroup?: { path: string; oomKills: number };

  constructor(target: PolicyTarget, options: MemoryPolicyOptions) {
    this.#target = target;
    this.#opts = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.sample(), this.#opts.sampleMs ?? MEMORY_SAMPLE_MS);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** One sample: over the limit, a restart. */
  sample(): void {
    const t = this.#target;
    if (this.#sampling || !t.running()) return;
    const ref = t.tree();
    if (ref === undefined) return;
    this.#sampling = true;
    try {
      this.#kernelLimit(ref);
      const used = (this.#opts.measure ?? treeMemory)(ref);
      // The tree may have been restarted while it was measured.
      if (used <= this.#opts.maxBytes || t.tree()?.pid !== ref.pid || !t.running()) return;
      const reason = `${formatBytes(used)} over --max-memory ${formatBytes(this.#opts.maxBytes)}`;
      t.log(
        `${t.name}'s tree uses ${formatBytes(used)} (${used} bytes), over --max-memory ` +
          `${formatBytes(this.#opts.maxBytes)}: restarting it`,
      );
      t.restart({ policy: "memory", reason });
    } catch (err) {
      t.log(`cannot measure ${t.name}'s memory: ${(err as Error).message}`);
    } finally {
      this.#sampling = false;
    }
  }

  /**
   * `memory.max` on the tree's cgroup where the memory controller can be
   * had (once per tree), and the kernel's OOM kills since.
   */
  #kernelLimit(ref: TreeRef): void {
    const path = ref.tracking === "cgroup" ? ref.cgroupPath : undefined;
    if (path === undefined) return;
    if (this.#cgroup?.path !== path) {
      this.#cgroup = undefined;
      if (!setMemoryMax(path, this.#opts.maxBytes)) return;
      this.#cgroup = { path, oomKills: oomKills(path) };
      this.#target.log(`${path}/memory.max set to ${this.#opts.maxBytes} (--max-memory)`);
      return;
    }
    const kills = oomKills(path);
    if (kills > this.#cgroup.oomKills) {
      this.#target.log(
        `the kernel OOM-killed ${kills - this.#cgroup.oomKills} process(es) of ` +
          `${this.#target.name} at memory.max ${formatBytes(this.#opts.maxBytes)}`,
      );
      this.#cgroup.oomKills = kills;
    }
  }
}

/**
 * Whether the cgroup at `path` has (or can be given) the memory controller:
 * `memory` listed in its parent's `cgroup.controllers`.
 *
 * @example
 * ```ts
 * import { memoryControllerAt } from "./memory_policy.ts";
 * console.log(memoryControllerAt("/sys/fs/cgroup/pidkit/web-1"));
 * ```
 */
export function memoryControllerAt(path: string): boolean {
  const parent = path.replace(/\/[^/]+\/?$/, "");
  try {
    return Deno.readTextFileSync(`${parent}/cgroup.controllers`).split(/\s+/).includes("memory");
  } catch {
    return false;
  }
}

/** Enable the memory controller for `path` (in its parent) and set its memory.max; false: not here. */
function setMemoryMax(path: string, bytes: number): boolean {
  if (!memoryControllerAt(path)) return false;
  const parent = path.replace(/\/[^/]+\/?$/, "");
  try {
    Deno.writeTextFileSync(`${parent}/cgroup.subtree_control`, "+memory");
  } catch { /* enabled already, or not ours to enable: memory.max tells */ }
  try {
    Deno.writeTextFileSync(`${path}/memory.max`, String(bytes));
    return true;
  } catch {
    return false;
  }
}

/** `oom_kill` of the cgroup's `memory.events` (0 when unreadable). */
function oomKills(path: string): number {
  try {
    const m = /^oom_kill (\d+)$/m.exec(Deno.readTextFileSync(`${path}/memory.events`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
