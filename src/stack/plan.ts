/**
 * The plan of `up`: what to start, restart, leave and stop so that what
 * runs matches a resolved declaration. Pure: plain data in (the resolved
 * declaration and what runs now), plain data out; nothing is read or
 * started here.
 *
 * Ownership decides what may be touched: a running service belongs to a
 * declaration file when it was started by an `up` of that file (its
 * `origin`). Services started by hand (`pidkit start`, no origin) and those
 * of other files are never restarted or stopped; a declared name taken by
 * one of them is a `conflict`.
 *
 * @module
 */

import { type HashedSpec, specChanges } from "./service_hash.ts";
import { dependencyClosure, startLevels, stopOrder } from "./order.ts";
import type { ResolvedService, ResolvedStack } from "./resolve.ts";

/**
 * A service that runs (or ran) in the run directory, as `up` finds it.
 *
 * @example
 * ```ts
 * import type { CurrentService } from "./plan.ts";
 * const web: CurrentService = {
 *   name: "web",
 *   running: true,
 *   origin: { file: "/srv/app/pidkit.jsonc", hash: "3f2a..." },
 * };
 * console.log(web.name);
 * ```
 */
export interface CurrentService {
  /** Its name in the run directory. */
  name: string;
  /** Whether it runs now. */
  running: boolean;
  /** The declaration it was started from; absent: started by hand. */
  origin?: {
    /** The declaration file's absolute path. */
    file: string;
    /** The hash of the resolved service it was started with. */
    hash: string;
    /** That resolved service's command and options, to name what changed. */
    spec?: HashedSpec;
  };
}

/**
 * What `up` does with one service:
 * `start` (declared, not running), `restart` (its declaration changed),
 * `leave` (unchanged), `stop` (an earlier `up` of this file started it and
 * the file no longer declares it), `skip` (declared with `autostart:
 * false`, not running, and no autostart service depends on it), `conflict` (its name is taken by a service started
 * by hand or by another file; never touched).
 *
 * @example
 * ```ts
 * import type { PlanAction } from "./plan.ts";
 * const action: PlanAction = "restart";
 * console.log(action);
 * ```
 */
export type PlanAction = "start" | "restart" | "leave" | "stop" | "skip" | "conflict";

/**
 * One step of a plan.
 *
 * @example
 * ```ts
 * import type { PlanStep } from "./plan.ts";
 * const step: PlanStep = { name: "web", action: "restart", reason: "changed: env (PORT)", changes: ["env (PORT)"] };
 * console.log(step.reason);
 * ```
 */
export interface PlanStep {
  /** The service's name in the run directory. */
  name: string;
  /** What to do. */
  action: PlanAction;
  /** Why, in a few words (`changed: cmd, env (PORT)`, `no longer declared`). */
  reason: string;
  /** For `restart`: what changed, in the file's terms (empty when unknown). */
  changes?: string[];
}

/**
 * A plan: one step per service concerned, `levels` (the start and restart
 * steps grouped by dependency level: each level after the one before it is
 * ready) and `stops` (the stop steps, in the order to run them).
 *
 * @example
 * ```ts
 * import type { StackPlan } from "./plan.ts";
 * const plan: StackPlan = { steps: [], levels: [], stops: [], changes: false };
 * console.log(plan.changes); // false: nothing to do
 * ```
 */
export interface StackPlan {
  /** Every step, declared services first in declaration order, then the stops. */
  steps: PlanStep[];
  /** Names to start or restart, by dependency level. */
  levels: string[][];
  /** Names to stop, in order (highest instance first). */
  stops: string[];
  /** Whether anything is to be started, restarted or stopped. */
  changes: boolean;
}

/**
 * Options of {@linkcode planStack}.
 *
 * @example
 * ```ts
 * import type { PlanOptions } from "./plan.ts";
 * const options: PlanOptions = { names: ["web"] };
 * console.log(options);
 * ```
 */
export interface PlanOptions {
  /**
   * Only these services (declared or instance names) and what they depend
   * on; they start even with `autostart: false`, and nothing undeclared is
   * stopped. Unknown names are the caller's to refuse first (see
   * {@linkcode dependencyClosure}).
   */
  names?: readonly string[];
}

/**
 * Plan `up` of `stack` given what runs now (`current`: the run directory's
 * services, whatever started them).
 *
 * @example
 * ```ts
 * import { planStack } from "./plan.ts";
 * import { resolveStack } from "./resolve.ts";
 * import { validateStack } from "./validate.ts";
 * const stack = await resolveStack(
 *   validateStack({ services: { db: { cmd: "db" }, web: { cmd: "web", dependsOn: ["db"] } } }, "/srv/pidkit.json"),
 * );
 * const plan = planStack(stack, []);
 * console.log(plan.levels); // [["db"], ["web"]]
 * ```
 */
export function planStack(
  stack: ResolvedStack,
  current: readonly CurrentService[],
  options: PlanOptions = {},
): StackPlan {
  const now = new Map(current.map((c) => [c.name, c]));
  const named = options.names === undefined
    ? undefined
    : new Set(dependencyClosure(stack.services, options.names).names);
  // what starts: the names given, else the autostart services; with what they depend on
  // (an autostart: false service that one of them needs starts too, as systemd's Requires=)
  const wanted = named ?? new Set(
    dependencyClosure(stack.services, stack.services.filter((s) => s.autostart).map((s) => s.name))
      .names,
  );
  const selected = stack.services.filter((s) => !named || named.has(s.name));
  const steps = selected.map((s) => stepFor(s, now.get(s.name), stack.file, wanted.has(s.name)));
  const moving = new Set(
    steps.filter((s) => s.action === "start" || s.action === "restart").map((s) => s.name),
  );
  const levels = startLevels(stack.services)
    .map((level) => level.filter((name) => moving.has(name)))
    .filter((level) => level.length > 0);
  const stops = named ? [] : removed(stack, current);
  for (const name of stops) steps.push({ name, action: "stop", reason: "no longer declared" });
  return { steps, levels, stops, changes: moving.size > 0 || stops.length > 0 };
}

function stepFor(
  s: ResolvedService,
  now: CurrentService | undefined,
  file: string | undefined,
  wanted: boolean,
): PlanStep {
  const step = (action: PlanAction, reason: string): PlanStep => ({ name: s.name, action, reason });
  if (now?.running && (now.origin === undefined || now.origin.file !== file)) {
    return step(
      "conflict",
      now.origin === undefined
        ? "the name is taken by a service started by hand"
        : `the name is taken by a service of ${now.origin.file}`,
    );
  }
  if (!now?.running) {
    if (!wanted) return step("skip", "autostart is false");
    return step("start", "not running");
  }
  if (now.origin!.hash === s.hash) return step("leave", "unchanged");
  const changes = now.origin!.spec ? specChanges(now.origin!.spec, s) : [];
  return {
    ...step("restart", changes.length > 0 ? `changed: ${changes.join(", ")}` : "changed"),
    changes,
  };
}

/** Running services an `up` of this file started that it no longer declares, highest instance first. */
function removed(stack: ResolvedStack, current: readonly CurrentService[]): string[] {
  const declared = new Set(stack.services.map((s) => s.name));
  const gone = current.filter((c) =>
    c.running && stack.file !== undefined && c.origin?.file === stack.file && !declared.has(c.name)
  );
  return stopOrder(gone.map((c) => {
    const m = /^(.*)\.([1-9]\d*)$/.exec(c.name);
    return m
      ? { name: c.name, declared: m[1], instance: Number(m[2]), dependsOn: [] }
      : { name: c.name, declared: c.name, dependsOn: [] };
  }));
}
