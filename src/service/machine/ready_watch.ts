/**
 * Readiness of an instance nobody waits for (a restart, `pidkit run`'s
 * first start), and the watchdog's arming for every instance: once the
 * conditions the service announces itself (READY=1, the notification fd)
 * hold, the watchdog is armed and a restarted instance is ready; not
 * within `--ready-timeout` (the one wait, ready_wait.ts), its tree is
 * stopped and the exit counts as a failure.
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import type { NotifyCondition } from "../readiness/service_notify.ts";
import type { Machine } from "./context.ts";
import { awaitReadiness } from "./ready_wait.ts";

/**
 * Arm the watchdog when the service's own conditions hold; a restarted
 * instance (not `first`) is ready then. Not `awaited`: the deadline is
 * watched here. A `--forking` instance's readiness and deadline are its
 * strategy's (forking_start.ts: every condition, against its main
 * process's life, not the leader's, which exits at start-up); only its
 * watchdog is armed here.
 *
 * @example
 * ```ts
 * import { armWhenReady } from "./ready_watch.ts";
 * // right after a spawn: armWhenReady(machine, tree, first, awaited);
 * console.log(typeof armWhenReady);
 * ```
 */
export function armWhenReady(
  m: Machine,
  tree: ProcessTree,
  first: boolean,
  awaited: boolean,
): void {
  const notify = m.notify!;
  const conditions = notify.conditions();
  const { forking } = m.cfg.options;
  void Promise.all(conditions.map((c) => c.ready)).then(async () => {
    if (m.tree !== tree || m.stopping) return;
    notify.markReady();
    if (!first && !forking && m.state.phase === "starting") {
      await m.enter("ready", { pid: tree.pid }, notify.flushStatus());
    }
  });
  if (conditions.length > 0 && !awaited && !forking) void readyDeadline(m, tree, conditions);
}

/** Stop `tree` as failed when its conditions do not all hold within --ready-timeout. */
async function readyDeadline(
  m: Machine,
  tree: ProcessTree,
  conditions: NotifyCondition[],
): Promise<void> {
  const result = await awaitReadiness({
    check: { conditions },
    timeoutMs: m.cfg.options.readyTimeoutMs,
    extendedUntil: () => m.notify?.extendedUntil ?? 0,
    exited: tree.status,
    interrupted: m.woken,
    stopping: () => m.stopping,
  });
  if (result.outcome !== "timeout" || m.tree !== tree) return;
  await notReadyInTime(m, tree, result);
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
