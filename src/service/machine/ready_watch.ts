/**
 * Readiness of a simple instance nobody waits for (a restart, `pidkit
 * run`'s first start), and the watchdog's arming for every instance: once
 * all its conditions hold (the one wait, ready_wait.ts: `--ready-after`,
 * `--ready-tcp`, `--ready-file`, `--ready-notify`, `--ready-fd`), the
 * watchdog is armed and the instance is ready; not within
 * `--ready-timeout`, its tree is stopped and the exit counts as a failure.
 * Also the two shapes of the one wait the start strategies share: every
 * condition of a spawned instance ({@linkcode instanceReadiness}), and
 * what an adopted orphan still owes ({@linkcode adoptedReadiness}).
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import type { InstanceEnd, InstanceStart, Machine } from "./context.ts";
import { awaitReadiness, type ReadinessOutcome } from "./ready_wait.ts";

/**
 * Arm the watchdog of an instance someone waits for, or of a `--forking`
 * one, when the conditions the service announces itself hold (READY=1,
 * the notification fd). Their readiness and deadline are their
 * strategy's (simple_start.ts, forking_start.ts). A simple instance
 * nobody waits for is armed when all its conditions hold
 * ({@linkcode watchSimpleReady}).
 *
 * @example
 * ```ts
 * import { armWhenReady } from "./ready_watch.ts";
 * // right after a spawn: armWhenReady(machine, tree, awaited);
 * console.log(typeof armWhenReady);
 * ```
 */
export function armWhenReady(m: Machine, tree: ProcessTree, awaited: boolean): void {
  if (!awaited && !m.cfg.options.forking) return;
  const notify = m.notify!;
  void Promise.all(notify.conditions().map((c) => c.ready)).then(() => {
    if (m.tree === tree && !m.stopping) notify.markReady();
  });
}

/**
 * Whether a simple service has any readiness condition (`--ready-after`,
 * `--ready-tcp`, `--ready-file`, `--ready-notify`, `--ready-fd`): without
 * one, an instance nobody waits for is ready at its spawn.
 *
 * @example
 * ```ts
 * import { hasReadyConditions } from "./ready_watch.ts";
 * // const atOnce = !first && !hasReadyConditions(machine);
 * console.log(typeof hasReadyConditions);
 * ```
 */
export function hasReadyConditions(m: Pick<Machine, "cfg" | "notify">): boolean {
  const o = m.cfg.options;
  return (o.readyAfterMs ?? 0) > 0 || o.readyTcp !== undefined || o.readyFile !== undefined ||
    (m.notify?.conditions().length ?? 0) > 0;
}

/**
 * The readiness of a simple instance nobody waits for (a restart by the
 * policy, `pidkit run`'s): the one wait (ready_wait.ts) for all its
 * conditions, `--ready-timeout` counted from its spawn. `starting` until
 * they hold, then `ready` with its PID and the watchdog armed; not in
 * time, or it exits first, it ends as a failure (the restart policy
 * decides). A stop or a restart in place meanwhile: `interrupted`.
 *
 * @example
 * ```ts
 * import { watchSimpleReady } from "./ready_watch.ts";
 * // const ready = await watchSimpleReady(machine, tree, start);
 * // if (ready !== "ready") return ready;
 * console.log(typeof watchSimpleReady);
 * ```
 */
export async function watchSimpleReady(
  m: Machine,
  tree: ProcessTree,
  start: InstanceStart,
): Promise<"ready" | InstanceEnd> {
  const notify = m.notify!;
  if (!hasReadyConditions(m)) { // ready at its spawn (spawn_instance.ts)
    notify.markReady();
    return "ready";
  }
  const result = await instanceReadiness(m, start, tree.status);
  // A stop, or a restart in place (the wait took it for an end): the loop stops the tree.
  if (result.outcome === "stopped" || m.stopping || m.restartRequest) return "interrupted";
  if (result.outcome === "ready") {
    notify.markReady();
    // One that said STOPPING=1 or RELOADING=1 meanwhile keeps that phase (phase.ts).
    if (m.state.phase === "starting") {
      await m.enter("ready", { pid: tree.pid }, notify.flushStatus());
    }
    return "ready";
  }
  if (result.outcome === "timeout") await notReadyInTime(m, tree, result);
  else {
    await m.log?.line(`${m.cfg.name} (pid ${tree.pid}) exited before it was ready`);
    m.forcedFailure = true; // whatever its exit code: it never came up
  }
  await m.finish(tree);
  return "ended";
}

/**
 * An instance nobody waits for was not ready in time: said in the log,
 * its tree stopped on the service's schedule, its exit a failure (the
 * restart policy decides what next).
 *
 * @example
 * ```ts
 * import { notReadyInTime } from "./ready_watch.ts";
 * // if (result.outcome === "timeout") await notReadyInTime(machine, tree, result);
 * console.log(typeof notReadyInTime);
 * ```
 */
export async function notReadyInTime(
  m: Machine,
  tree: ProcessTree,
  { timeoutMs, unmet }: { timeoutMs: number; unmet: string[] },
): Promise<void> {
  await m.log?.line(
    `${m.cfg.name} (pid ${tree.pid}) not ready within ${formatDuration(timeoutMs)}: ${
      unmet.join("; ")
    }`,
  );
  m.forcedFailure = true;
  await tree.stop({ retry: m.cfg.options.retry }).catch(() => {});
}

/**
 * The one wait (ready_wait.ts) for every readiness condition of a spawned
 * instance, within what is left of `--ready-timeout` since its spawn,
 * until `exited` (its leader's status for a simple instance; its main
 * process's end for a `--forking` one).
 *
 * @example
 * ```ts
 * import { instanceReadiness } from "./ready_watch.ts";
 * // const result = await instanceReadiness(machine, start, tree.status);
 * console.log(typeof instanceReadiness);
 * ```
 */
export function instanceReadiness(
  m: Machine,
  start: Pick<InstanceStart, "readyFileBefore" | "spawnedAtMs">,
  exited: Promise<unknown>,
): Promise<ReadinessOutcome> {
  const { options } = m.cfg;
  const notify = m.notify!;
  return awaitReadiness({
    check: {
      afterMs: options.readyAfterMs ?? 0,
      tcp: options.readyTcp,
      file: options.readyFile,
      fileBefore: start.readyFileBefore,
      conditions: notify.conditions(),
    },
    timeoutMs: options.readyTimeoutMs,
    spentMs: Date.now() - start.spawnedAtMs,
    extendedUntil: () => notify.extendedUntil,
    exited,
    interrupted: m.woken,
    stopping: () => m.stopping,
  });
}

/**
 * How long ago an adopted orphan was started (its record's
 * `serviceStartedAt`, else its creation), ms; `startedAt` is `NaN` when the
 * record says neither.
 *
 * @example
 * ```ts
 * import { sinceServiceStart } from "./ready_watch.ts";
 * // const { elapsed } = sinceServiceStart(machine);
 * console.log(typeof sinceServiceStart);
 * ```
 */
export function sinceServiceStart(m: Pick<Machine, "state">): {
  startedAt: number;
  elapsed: number;
} {
  const startedAt = Date.parse(m.state.serviceStartedAt ?? m.state.createdAt);
  return {
    startedAt,
    elapsed: Number.isNaN(startedAt) ? 0 : Math.max(0, Date.now() - startedAt),
  };
}

/**
 * The readiness an orphan adopted before it was ready still owes:
 * `--ready-after`, `--ready-tcp` and `--ready-file` again, for what is left
 * of `--ready-timeout` since it was started (`elapsed` ago), until
 * `exited`. sd_notify's `READY=1` and `--ready-fd` went to the dead
 * supervisor and count as held.
 *
 * @example
 * ```ts
 * import { adoptedReadiness } from "./ready_watch.ts";
 * // const result = await adoptedReadiness(machine, elapsed, tree.status);
 * console.log(typeof adoptedReadiness);
 * ```
 */
export function adoptedReadiness(
  m: Machine,
  elapsed: number,
  exited: Promise<unknown>,
): Promise<ReadinessOutcome> {
  const { options } = m.cfg;
  return awaitReadiness({
    check: {
      afterMs: Math.max(0, (options.readyAfterMs ?? 0) - elapsed),
      tcp: options.readyTcp,
      file: options.readyFile,
    },
    timeoutMs: options.readyTimeoutMs,
    spentMs: elapsed,
    exited,
    interrupted: m.woken,
    stopping: () => m.stopping,
  });
}
