/**
 * The policies of one service, opened by its supervisor once it holds the
 * service and closed when it lets it go, and the {@linkcode PolicyTarget}
 * they act through: the supervisor's restart in place and its start of a
 * scheduled task, nothing more. Each module of a policy is loaded only
 * when a service has that policy.
 *
 * @module
 */

import type { ServiceEventSink } from "../model/service_event.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import type { PolicyName, PolicyTarget, ServicePolicy } from "../model/policy.ts";
import { DEFAULT_WATCH_DELAY_MS, type PolicyOptions } from "../model/policy_options.ts";
import { messageLine, PidkitError, UsageError } from "../../os/errors.ts";
import type { FdPoller } from "../../os/fd_poller.ts";
import type { StartResult } from "../control/supervisor_protocol.ts";

/**
 * What a supervisor offers its policies (the per-service machine,
 * machine/service_machine.ts, implements it):
 * its record, its running tree, a restart in place and a start of a
 * scheduled task between runs.
 */
export interface PolicyHost {
  readonly cfg: { name: string; options: PolicyOptions };
  readonly state: ServiceRecord;
  readonly tree?: { ref: TreeRef };
  readonly stopping: boolean;
  readonly restartRequest?: unknown;
  readonly log?: { line(text: string): Promise<void> };
  /** Where lifecycle events go (the host's sink: machine/host.ts). */
  readonly events?: ServiceEventSink;
  /** Its host: the supervisor's poll loop (inotify is read through it; none without FFI). */
  readonly host?: { readonly poller?: FdPoller };
  /** A tick's reason to start the task waiting for it (see {@linkcode awaitTick}). */
  tickStart?: string;
  save(change: Partial<ServiceRecord>): Promise<void>;
  /**
   * Restart the running tree in place, through its stop schedule; `policy`:
   * the restart counts in the record's `restarts` (not toward the crash-loop bound).
   */
  requestRestart(
    request: { requestedBy: number; reason?: string; policy: PolicyName },
  ): Promise<unknown>;
  /** Wake the supervision loop up (a tick's start). */
  wake(): void;
}

/**
 * The phases a policy may restart a service in: not `starting`, whose
 * start someone may still wait for (a restart in place would answer the
 * restart instead, and `start` would never hear).
 */
const RUNNING = new Set(["running", "reloading"]);

/**
 * The {@linkcode PolicyTarget} of `host`: what a policy may do to it.
 *
 * @example
 * ```ts
 * import { policyTarget, type PolicyHost } from "./service_policies.ts";
 * declare const host: PolicyHost;
 * const target = policyTarget(host);
 * if (target.running()) target.restart({ policy: "watch", reason: "app.ts changed" });
 * ```
 */
export function policyTarget(host: PolicyHost): PolicyTarget {
  const acted = (policy: PolicyName, action: "restart" | "start", reason: string) => {
    const at = new Date().toISOString();
    void host.save({ policyAction: { at, policy, action, reason } });
    host.events?.({
      service: host.cfg.name,
      kind: "policy",
      reason: `${policy}: ${action}: ${reason}`,
      ...(host.tree ? { pid: host.tree.ref.pid } : {}),
    });
  };
  return {
    name: host.cfg.name,
    events: host.events,
    running: () =>
      host.tree !== undefined && !host.stopping && host.restartRequest === undefined &&
      RUNNING.has(host.state.phase),
    tree: () => host.tree?.ref,
    restart({ policy, reason }) {
      if (host.tree === undefined || host.stopping || host.restartRequest !== undefined) return;
      acted(policy, "restart", reason);
      void host.requestRestart({ requestedBy: Deno.pid, reason: `${policy}: ${reason}`, policy });
    },
    start({ policy, reason }) {
      // Waiting for its tick (phase `scheduled`, or about to: a caught-up
      // tick as it starts); not while it runs or waits to restart.
      const waiting = host.tree === undefined && host.state.phase !== "restarting";
      if (!waiting || host.stopping || host.tickStart !== undefined) return;
      host.tickStart = `${policy}: ${reason}`;
      host.wake();
      acted(policy, "start", reason);
    },
    log: (text) => void host.log?.line(text),
    scheduled(next) {
      void host.save({ nextRun: next });
    },
  };
}

/**
 * Open the policies `host`'s options ask for (none: an empty list, and
 * nothing loaded). `previous`: the record the last supervisor left, for
 * `--cron-catch-up`.
 *
 * @example
 * ```ts
 * import { closePolicies, openPolicies, type PolicyHost } from "./service_policies.ts";
 * declare const host: PolicyHost;
 * const policies = await openPolicies(host);
 * await closePolicies(policies);
 * ```
 */
export async function openPolicies(
  host: PolicyHost,
  previous?: ServiceRecord,
): Promise<ServicePolicy[]> {
  const o = host.cfg.options;
  const target = policyTarget(host);
  const policies: ServicePolicy[] = [];
  const expr = o.cron ?? o.cronRestart;
  if (expr !== undefined) {
    const { SchedulePolicy } = await import("./schedule_policy.ts");
    const action = o.cron !== undefined ? "start" : "restart";
    const was = previous?.nextRun;
    const missed = o.cronCatchUp && was?.action === action && Date.parse(was.at) <= Date.now()
      ? was.at
      : undefined;
    policies.push(
      new SchedulePolicy(target, {
        expr,
        action,
        ...(o.tz ? { tz: o.tz } : {}),
        ...(missed ? { missed } : {}),
      }),
    );
  }
  const poller = host.host?.poller;
  if (o.watch !== undefined && o.watch.length > 0) {
    if (poller === undefined) {
      await host.log?.line(`--watch needs FFI (-A): ${host.cfg.name}'s files are not watched`);
    } else {
      const { WatchPolicy } = await import("./watch_policy.ts");
      policies.push(
        new WatchPolicy(target, {
          paths: o.watch,
          ...(o.watchIgnore ? { ignore: o.watchIgnore } : {}),
          delayMs: o.watchDelayMs ?? DEFAULT_WATCH_DELAY_MS,
          poller,
        }),
      );
    }
  }
  if (o.maxMemoryBytes !== undefined) {
    const { MemoryPolicy } = await import("./memory_policy.ts");
    policies.push(new MemoryPolicy(target, { maxBytes: o.maxMemoryBytes }));
  }
  for (const p of policies) await p.start();
  return policies;
}

/** Close every policy (errors are the policy's own: never the supervisor's). */
export async function closePolicies(policies: ServicePolicy[]): Promise<void> {
  for (const p of policies) await Promise.resolve().then(() => p.close()).catch(() => {});
}

/**
 * Check what the options' syntax check cannot: that a schedule ticks at
 * all in its zone. Loads croner only when there is a schedule. Throws
 * {@linkcode UsageError} naming the option.
 *
 * @example
 * ```ts
 * import { checkSchedules } from "./service_policies.ts";
 * await checkSchedules({ cron: "0 3 * * *" });
 * ```
 */
export async function checkSchedules(options: PolicyOptions): Promise<void> {
  for (const key of ["cron", "cronRestart"] as const) {
    const expr = options[key];
    if (expr === undefined) continue;
    const { firstTick, loadCroner } = await import("./cron_schedule.ts");
    try {
      await loadCroner();
    } catch (err) {
      // Not the expression's fault: the library is not in Deno's cache and
      // cannot be fetched (no network, another user's DENO_DIR).
      throw new PidkitError(
        `cannot load the cron library (npm:croner) for options.${key}: ${messageLine(err)}`,
      );
    }
    let tick: Date | undefined;
    try {
      tick = await firstTick(expr, options.tz);
    } catch (err) {
      throw new UsageError(`bad options.${key} '${expr}': ${(err as Error).message}`);
    }
    if (tick === undefined) {
      throw new UsageError(`bad options.${key} '${expr}': it never ticks (no such date)`);
    }
  }
}

/** What {@linkcode awaitTick} needs of a supervisor (machine/service_machine.ts). */
export interface TickHost extends PolicyHost {
  /** The machine's one place of phase changes (machine/phase.ts): here, `schedule`. */
  enter(input: "schedule", details: object, change: Partial<ServiceRecord>): Promise<void>;
  pidCleared: boolean;
  readonly woken: Promise<void>;
  readonly lock?: { clear(): Promise<void> };
  rearm(): void;
  report(result: StartResult): Promise<void>;
}

/**
 * A `--cron` task between runs: phase `scheduled`, its PID file naming no
 * process, until its schedule starts it (`"start"`), a restart is asked
 * for (`"start"` too: the loop takes it), or it is stopped (`"stop"`).
 * `"none"`: the service has no `--cron`. `first`: `start` is told now that
 * the task is scheduled, with its next run.
 *
 * @example
 * ```ts
 * import { awaitTick, type TickHost } from "./service_policies.ts";
 * declare const sup: TickHost;
 * if (await awaitTick(sup, false) === "stop") console.log("stopped while waiting");
 * ```
 */
export async function awaitTick(sup: TickHost, first: boolean): Promise<"start" | "stop" | "none"> {
  if (sup.cfg.options.cron === undefined) return "none";
  if (sup.stopping) return "stop";
  await sup.lock?.clear().catch(() => {});
  sup.pidCleared = true;
  const next = sup.cfg.options.cron;
  await sup.enter("schedule", { reason: `--cron ${next}` }, {
    tree: undefined,
    spawning: undefined,
    statusText: undefined,
    nextRestart: undefined,
  });
  const at = sup.state.nextRun?.at;
  if (first) await sup.report({ ok: true, pid: null, supervisorPid: Deno.pid, scheduled: at });
  await sup.log?.line(`${sup.cfg.name} is scheduled: next run ${at ?? "never"}`);
  while (sup.tickStart === undefined && !sup.stopping && sup.restartRequest === undefined) {
    await sup.woken;
    if (sup.restartRequest !== undefined) break; // takeRestart rearms
    sup.rearm();
  }
  if (sup.stopping) return "stop";
  const why = sup.tickStart;
  sup.tickStart = undefined;
  if (why !== undefined) {
    if (sup.restartRequest === undefined) sup.rearm(); // the wake-up was this start's
    await sup.log?.line(`starting ${sup.cfg.name}: ${why}`);
  }
  return "start";
}
