/**
 * The launch options of the policies (`--cron`, `--cron-restart`, `--tz`,
 * `--cron-catch-up`, `--watch`, `--watch-ignore`, `--watch-delay`,
 * `--max-memory`), checked without loading anything and without touching
 * the file system but to see that watched paths exist.
 *
 * @module
 */

import { UsageError } from "../../os/errors.ts";
import { parseDuration } from "../../os/duration.ts";
import { absolutePath } from "../../os/paths.ts";
import { checkCronExpression } from "./cron_expression.ts";

/**
 * The policy fields of a service's options, as recorded (see
 * `ServiceOptions`).
 *
 * @example
 * ```ts
 * import type { PolicyOptions } from "./policy_options.ts";
 * const options: PolicyOptions = { cron: "0 3 * * *", tz: "UTC" };
 * console.log(options.cron);
 * ```
 */
export interface PolicyOptions {
  /** Start the service at each tick when it is not running (`--cron`). */
  cron?: string;
  /** Restart the running service at each tick (`--cron-restart`). */
  cronRestart?: string;
  /** The IANA time zone of the schedule (`--tz`); local time without it. */
  tz?: string;
  /** Act once at once for ticks missed while no supervisor ran (`--cron-catch-up`). */
  cronCatchUp?: boolean;
  /** Restart when a file under one of these paths changes (`--watch`; absolute). */
  watch?: string[];
  /** Globs of paths not watched (`--watch-ignore`; `.git` and `node_modules` always). */
  watchIgnore?: string[];
  /** How long changes are gathered before the restart (`--watch-delay`; default 200 ms). */
  watchDelayMs?: number;
  /** Restart when the tree's resident memory is above this many bytes (`--max-memory`). */
  maxMemoryBytes?: number;
}

/** The policy options as launch options give them (text or numbers). */
export interface PolicyLaunchOptions {
  /** `--cron EXPR`. */
  cron?: string;
  /** `--cron-restart EXPR`. */
  cronRestart?: string;
  /** `--tz ZONE`. */
  tz?: string;
  /** `--cron-catch-up`. */
  cronCatchUp?: boolean;
  /** `--watch PATH` (repeatable). */
  watch?: string | string[];
  /** `--watch-ignore GLOB` (repeatable). */
  watchIgnore?: string | string[];
  /** `--watch-delay DURATION` (or ms). */
  watchDelay?: string | number;
  /** `--max-memory SIZE` (or bytes). */
  maxMemory?: string | number;
}

/** The default `--watch-delay`. */
export const DEFAULT_WATCH_DELAY_MS = 200;

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * Check the policy options and return them as recorded (absent fields
 * stay absent). Throws {@linkcode UsageError} naming the option:
 * `bad options.cron '61 * * * *': minute field '61': 61 is out of range
 * 0-59`, `options.watch /nope: no such file or directory`,
 * `bad options.maxMemory '0': ...`.
 *
 * @example
 * ```ts
 * import { parsePolicyOptions } from "./policy_options.ts";
 * console.log(parsePolicyOptions({ maxMemory: "200M" }).maxMemoryBytes); // 209715200
 * ```
 */
export function parsePolicyOptions(
  o: PolicyLaunchOptions,
  context: { restart?: string } = {},
): PolicyOptions {
  const out: PolicyOptions = {};
  if (o.cron !== undefined) out.cron = checkCronExpression(o.cron, "options.cron");
  if (o.cronRestart !== undefined) {
    out.cronRestart = checkCronExpression(o.cronRestart, "options.cronRestart");
  }
  if (out.cron !== undefined && out.cronRestart !== undefined) {
    throw new UsageError(
      "options.cron (a task started at each tick) and options.cronRestart (a service " +
        "restarted at each tick) exclude each other",
    );
  }
  if (out.cron !== undefined && context.restart === "always") {
    throw new UsageError(
      "options.cron starts a task that runs to completion; options.restart always never " +
        "lets it complete (use on-failure or no)",
    );
  }
  const scheduled = out.cron !== undefined || out.cronRestart !== undefined;
  if (o.tz !== undefined) {
    if (!scheduled) throw new UsageError("options.tz needs options.cron or options.cronRestart");
    out.tz = checkTimeZone(o.tz);
  }
  if (o.cronCatchUp === true) {
    if (!scheduled) {
      throw new UsageError("options.cronCatchUp needs options.cron or options.cronRestart");
    }
    out.cronCatchUp = true;
  }
  Object.assign(out, parseWatchOptions(o));
  if (o.maxMemory !== undefined) out.maxMemoryBytes = parseMemorySize(o.maxMemory);
  return out;
}

/** An IANA zone name as `Intl` knows it; UsageError otherwise. */
function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return tz;
  } catch {
    throw new UsageError(
      `bad options.tz '${tz}' (use an IANA time zone such as UTC or Europe/Berlin)`,
    );
  }
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function parseWatchOptions(o: PolicyLaunchOptions): PolicyOptions {
  const paths = list(o.watch);
  const ignore = list(o.watchIgnore);
  if (paths.length === 0) {
    if (ignore.length > 0) throw new UsageError("options.watchIgnore needs options.watch");
    if (o.watchDelay !== undefined) throw new UsageError("options.watchDelay needs options.watch");
    return {};
  }
  const watch = paths.map((p) => {
    if (p === "") throw new UsageError("options.watch needs a path");
    const abs = absolutePath(p);
    try {
      Deno.statSync(abs);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? "no such file or directory"
        : (err as Error).message;
      throw new UsageError(`options.watch ${abs}: ${why}`);
    }
    return abs;
  });
  for (const g of ignore) if (g === "") throw new UsageError("options.watchIgnore needs a glob");
  let delay = DEFAULT_WATCH_DELAY_MS;
  if (o.watchDelay !== undefined) {
    const text = typeof o.watchDelay === "number" ? `${o.watchDelay}ms` : o.watchDelay;
    try {
      delay = parseDuration(text);
    } catch {
      throw new UsageError(`bad options.watchDelay '${o.watchDelay}' (use e.g. 200ms, 1s)`);
    }
  }
  return {
    watch,
    ...(ignore.length > 0 ? { watchIgnore: ignore } : {}),
    watchDelayMs: delay,
  };
}

/** `--max-memory`: `512M`, `1.5G`, `800K` or a number of bytes; more than 0. */
function parseMemorySize(v: string | number): number {
  const text = String(v).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text);
  const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()]) : NaN;
  if (!m || !Number.isSafeInteger(bytes)) {
    throw new UsageError(`bad options.maxMemory '${v}' (use a size such as 200M or 1G)`);
  }
  if (bytes <= 0) {
    throw new UsageError(`bad options.maxMemory '${v}': must be more than 0 (e.g. 200M)`);
  }
  return bytes;
}
