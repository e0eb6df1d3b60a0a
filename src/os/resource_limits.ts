/**
 * Resource limits, nice value and OOM score adjustment of a process: what
 * `--limit`, `--nice` and `--oom-score-adjust` set on a service's leader
 * while it waits at the start gate (so the command runs under them from its
 * first instruction, and its tree inherits them).
 *
 * Parsing is pure; applying goes through `prlimit(2)` and `setpriority(2)`
 * (FFI, see `libc.ts`) and `/proc/PID/oom_score_adj`.
 *
 * @module
 */

import { PidkitError, UsageError } from "./errors.ts";
import { errno, libc } from "./libc.ts";

/** The resources by name, with their `RLIMIT_*` numbers (Linux, every architecture). */
const RESOURCES: Readonly<Record<string, number>> = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
};

/** The resources measured in bytes: they take K, M and G (powers of 1024). */
const SIZED = new Set(["fsize", "data", "stack", "core", "rss", "memlock", "as", "msgqueue"]);

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `RLIM_INFINITY`. */
const INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * One limit: a number (bytes, seconds, a count, as the resource counts) or
 * `"unlimited"`.
 *
 * @example
 * ```ts
 * import type { LimitValue } from "./resource_limits.ts";
 * const v: LimitValue = "unlimited";
 * console.log(v);
 * ```
 */
export type LimitValue = number | "unlimited";

/**
 * The limits of resources by name (`nofile`, `core`, ...): soft and hard.
 *
 * @example
 * ```ts
 * import type { ResourceLimits } from "./resource_limits.ts";
 * const limits: ResourceLimits = { nofile: { soft: 4096, hard: 8192 } };
 * console.log(limits.nofile.soft);
 * ```
 */
export type ResourceLimits = Record<string, { soft: LimitValue; hard: LimitValue }>;

/**
 * What to set on a process: its limits, its nice value, its OOM score adjustment.
 *
 * @example
 * ```ts
 * import type { ProcessResources } from "./resource_limits.ts";
 * const r: ProcessResources = { limits: { core: { soft: 0, hard: 0 } }, nice: 5, oomScoreAdjust: 500 };
 * console.log(r.nice);
 * ```
 */
export interface ProcessResources {
  /** Resource limits (`prlimit(2)`). */
  limits?: ResourceLimits;
  /** The nice value, -20 to 19 (`setpriority(2)`). */
  nice?: number;
  /** `/proc/PID/oom_score_adj`, -1000 to 1000. */
  oomScoreAdjust?: number;
}

/** The names `--limit` knows, in `RLIMIT_*` order. */
export const RESOURCE_NAMES: readonly string[] = Object.keys(RESOURCES);

function parseValue(name: string, text: string, where: string): LimitValue {
  const t = text.trim();
  if (/^(unlimited|infinity)$/i.test(t)) return "unlimited";
  const m = SIZED.has(name) ? /^(\d+)\s*([KMG]?)$/i.exec(t) : /^(\d+)()$/.exec(t);
  const n = m ? Number(m[1]) * UNITS[m[2].toUpperCase()] : NaN;
  if (!m || !Number.isSafeInteger(n)) {
    const want = SIZED.has(name) ? "bytes, or with K, M, G" : "a whole number";
    throw new UsageError(`bad ${where} ${name} value '${text}' (use ${want}, or unlimited)`);
  }
  return n;
}

function above(a: LimitValue, b: LimitValue): boolean {
  return a === "unlimited" ? b !== "unlimited" : b !== "unlimited" && a > b;
}

/**
 * Parse one limit, `SOFT[:HARD]` text or a number; `SOFT` alone sets both
 * (as prlimit(1) and systemd's `LimitNOFILE=` do). Throws
 * {@linkcode UsageError} for an unknown resource, a bad value, or a soft
 * limit above the hard one.
 *
 * @example
 * ```ts
 * import { parseLimit } from "./resource_limits.ts";
 * console.log(parseLimit("core", "1M:unlimited")); // { soft: 1048576, hard: "unlimited" }
 * ```
 */
export function parseLimit(
  name: string,
  value: string | number,
  where = "options.limits",
): { soft: LimitValue; hard: LimitValue } {
  if (!Object.hasOwn(RESOURCES, name)) {
    throw new UsageError(
      `bad ${where}: unknown resource '${name}' (use ${RESOURCE_NAMES.join(", ")})`,
    );
  }
  const text = String(value);
  const parts = text.split(":");
  if (parts.length > 2) {
    throw new UsageError(`bad ${where} ${name} value '${text}' (use SOFT or SOFT:HARD)`);
  }
  const soft = parseValue(name, parts[0], where);
  const hard = parts.length === 2 ? parseValue(name, parts[1], where) : soft;
  if (above(soft, hard)) {
    throw new UsageError(
      `bad ${where} ${name}: soft limit ${soft} is above the hard limit ${hard}`,
    );
  }
  return { soft, hard };
}

/**
 * Parse `RESOURCE=SOFT[:HARD]` strings (`--limit`, repeatable) or an object
 * of resource to `"SOFT[:HARD]"` or number. A resource given twice: the last wins.
 *
 * @example
 * ```ts
 * import { parseLimits } from "./resource_limits.ts";
 * console.log(parseLimits(["nofile=4096:8192", "core=0"]));
 * console.log(parseLimits({ nofile: 4096, as: "2G" }));
 * ```
 */
export function parseLimits(
  input: string[] | Record<string, string | number>,
  where = "options.limits",
): ResourceLimits {
  const out: ResourceLimits = {};
  const pairs: [string, string | number][] = Array.isArray(input)
    ? input.map((kv) => {
      const eq = String(kv).indexOf("=");
      if (eq <= 0) throw new UsageError(`bad ${where} '${kv}' (use RESOURCE=SOFT[:HARD])`);
      return [kv.slice(0, eq).trim().toLowerCase(), kv.slice(eq + 1)];
    })
    : Object.entries(input);
  for (const [name, value] of pairs) {
    if (typeof value !== "string" && typeof value !== "number") {
      throw new UsageError(`bad ${where} ${name}: use "SOFT[:HARD]" or a number`);
    }
    out[name] = parseLimit(name, value, where);
  }
  return out;
}

/**
 * Check `nice` (-20..19) and `oomScoreAdjust` (-1000..1000); text or
 * numbers. Throws {@linkcode UsageError} naming the option.
 *
 * @example
 * ```ts
 * import { parseBounded } from "./resource_limits.ts";
 * console.log(parseBounded("options.nice", "5", -20, 19)); // 5
 * ```
 */
export function parseBounded(
  where: string,
  value: string | number,
  min: number,
  max: number,
): number {
  const n = typeof value === "number"
    ? value
    : /^\s*[-+]?\d+\s*$/.test(value)
    ? Number(value)
    : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`bad ${where} '${value}' (use a whole number from ${min} to ${max})`);
  }
  return n;
}

/** The current (soft, hard) limit of `resource` of `pid` (0: this process); undefined without FFI. */
function currentLimit(pid: number, resource: number): [bigint, bigint] | undefined {
  const lib = libc();
  if (lib === undefined) return undefined;
  const old = new BigUint64Array(2);
  if (lib.prlimit(pid, resource, null, old) !== 0) return undefined;
  return [old[0], old[1]];
}

function asBig(v: LimitValue): bigint {
  return v === "unlimited" ? INFINITY : BigInt(v);
}

/** Field 19 of /proc/PID/stat: the nice value. */
function ownNice(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

/** `CAP_SYS_NICE` and `CAP_SYS_RESOURCE` (capability(7) numbers). */
const CAP_SYS_NICE = 23n;
const CAP_SYS_RESOURCE = 24n;

/** Whether this process has capability `cap` in its effective set (/proc/self/status). */
function hasCapability(cap: bigint): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
  return m !== null && ((BigInt(`0x${m[1]}`) >> cap) & 1n) === 1n;
}

/**
 * Refuse, before anything starts, what this process may not set: a hard
 * limit above its own hard limit or an OOM score adjustment below its own
 * (both need `CAP_SYS_RESOURCE`), a nice value below its own beyond what
 * its `RLIMIT_NICE` allows (needs `CAP_SYS_NICE`). Root has both unless a
 * container took them away. Throws {@linkcode PidkitError} (exit 1).
 *
 * @example
 * ```ts
 * import { checkResourcePrivilege } from "./resource_limits.ts";
 * checkResourcePrivilege({ nice: 19 }); // fine for anyone
 * ```
 */
export function checkResourcePrivilege(r: ProcessResources): void {
  const needs = (cap: string) => Deno.uid() === 0 ? `needs ${cap}` : `needs root`;
  if (!hasCapability(CAP_SYS_RESOURCE)) {
    for (const [name, { hard }] of Object.entries(r.limits ?? {})) {
      const now = currentLimit(0, RESOURCES[name]);
      if (now !== undefined && asBig(hard) > now[1]) {
        const shown = now[1] === INFINITY ? "unlimited" : String(now[1]);
        throw new PidkitError(
          `options.limits ${name}: hard limit ${hard} is above the current hard limit ${shown} (raising it ${
            needs("CAP_SYS_RESOURCE")
          })`,
        );
      }
    }
    const own = Number(Deno.readTextFileSync("/proc/self/oom_score_adj").trim());
    if (r.oomScoreAdjust !== undefined && r.oomScoreAdjust < own) {
      throw new PidkitError(
        `options.oomScoreAdjust ${r.oomScoreAdjust} is below the current ${own} (lowering it ${
          needs("CAP_SYS_RESOURCE")
        })`,
      );
    }
  }
  if (r.nice !== undefined && r.nice < ownNice() && !hasCapability(CAP_SYS_NICE)) {
    const floor = currentLimit(0, RESOURCES.nice);
    const allowed = floor === undefined ? 20 : 20 - Number(floor[0] > 40n ? 40n : floor[0]);
    if (r.nice < allowed) {
      throw new PidkitError(
        `options.nice ${r.nice} is below the current nice value ${ownNice()} (lowering it ${
          needs("CAP_SYS_NICE")
        })`,
      );
    }
  }
}

/** Whether `r` sets anything. */
export function hasResources(r: ProcessResources): boolean {
  return Object.keys(r.limits ?? {}).length > 0 || r.nice !== undefined ||
    r.oomScoreAdjust !== undefined;
}

/**
 * Set `r` on process `pid` (a start gate's leader, before it runs the
 * command). Throws {@linkcode PidkitError} naming what the kernel refused.
 *
 * @example
 * ```ts
 * import { applyResources } from "./resource_limits.ts";
 * applyResources(Deno.pid, { limits: { core: { soft: 0, hard: "unlimited" } } });
 * ```
 */
export function applyResources(pid: number, r: ProcessResources): void {
  if (!hasResources(r)) return;
  const lib = libc();
  if (lib === undefined) {
    throw new PidkitError("resource limits, nice and oom score adjust need FFI (--allow-ffi)");
  }
  for (const [name, { soft, hard }] of Object.entries(r.limits ?? {})) {
    const limit = new BigUint64Array([asBig(soft), asBig(hard)]);
    if (lib.prlimit(pid, RESOURCES[name], limit, null) !== 0) {
      throw new PidkitError(`cannot set limit ${name}=${soft}:${hard}: ${why(errno())}`);
    }
  }
  if (r.nice !== undefined && lib.setpriority(0, /* PRIO_PROCESS */ pid, r.nice) !== 0) {
    throw new PidkitError(`cannot set nice ${r.nice}: ${why(errno())}`);
  }
  if (r.oomScoreAdjust !== undefined) {
    try {
      Deno.writeTextFileSync(`/proc/${pid}/oom_score_adj`, `${r.oomScoreAdjust}\n`);
    } catch (err) {
      const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
      throw new PidkitError(`cannot set oom_score_adj ${r.oomScoreAdjust}: ${msg}`);
    }
  }
}

function why(code: number): string {
  if (code === 1) return "not permitted (needs root)";
  if (code === 22) return "invalid value (above the kernel's maximum?)";
  if (code === 3) return "the process is gone";
  return `errno ${code}`;
}
