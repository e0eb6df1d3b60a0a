/**
 * The simple start strategy (systemd's Type=simple/exec): the spawned
 * leader is the service. A start someone waits for is ready when every
 * condition holds (the one wait, ready_wait.ts); one nobody waits for (a
 * restart, `pidkit run`'s, told at its spawn) is `starting` until they
 * hold (ready_watch.ts). The instance ends when its leader exits;
 * the rest of its tree goes with it.
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import type { InstanceEnd, InstanceStart, Machine, StartStrategy } from "./context.ts";
import { describeExit } from "./exit_text.ts";
import { awaitReadiness } from "./ready_wait.ts";
import { hasReadyConditions, watchSimpleReady } from "./ready_watch.ts";

/**
 * The simple strategy.
 *
 * @example
 * ```ts
 * import { SIMPLE_START } from "./simple_start.ts";
 * console.log(SIMPLE_START.name); // "simple"
 * ```
 */
export const SIMPLE_START: StartStrategy = {
  name: "simple",
  async run(m, tree, start): Promise<InstanceEnd> {
    if (start.awaited) {
      if (await awaitFirstReady(m, tree, start) === "failed") return "failed";
      return await followInstance(m, tree);
    }
    if (start.first) {
      // `pidkit run` is told at the spawn; the phase follows the conditions.
      if (!hasReadyConditions(m)) await m.enter("ready", { pid: tree.pid });
      await m.report({ ok: true, pid: tree.pid, supervisorPid: Deno.pid });
    }
    // Nobody waits (a restart, `run`): `starting` until all the conditions hold.
    const ready = await watchSimpleReady(m, tree, start);
    if (ready !== "ready") return ready;
    return await followInstance(m, tree);
  },
};

/**
 * Until the leader exits (`ended`: its exit recorded) or a stop or a
 * restart in place is asked for (`interrupted`).
 */
export async function followInstance(m: Machine, tree: ProcessTree): Promise<InstanceEnd> {
  await Promise.race([tree.status, m.woken]);
  if (m.stopping || m.restartRequest) return "interrupted";
  await m.finish(tree);
  return "ended";
}

/** The wait of a start someone is told of; its report either way. */
async function awaitFirstReady(
  m: Machine,
  tree: ProcessTree,
  start: InstanceStart,
): Promise<"ready" | "failed"> {
  const { cfg } = m;
  const { options } = cfg;
  const notify = m.notify!;
  const spawned = m.deferredSpawn;
  m.deferredSpawn = undefined;
  const result = await awaitReadiness({
    check: {
      afterMs: options.readyAfterMs,
      tcp: options.readyTcp,
      file: options.readyFile,
      fileBefore: start.readyFileBefore,
      conditions: notify.conditions(),
    },
    timeoutMs: options.readyTimeoutMs,
    extendedUntil: () => notify.extendedUntil,
    exited: tree.status,
    interrupted: m.woken,
    stopping: () => m.stopping,
  });
  // Not ready: the spawn is written first, as it would have been at once.
  if (spawned && result.outcome !== "ready") {
    await m.enter("spawn", spawned.details, spawned.change);
  }
  switch (result.outcome) {
    case "ready":
      // A service that already said it is stopping or reloading keeps that phase (phase.ts).
      // A spawn ready at once is written with its readiness (spawn_instance.ts).
      await m.enter(spawned ? ["spawn", "ready"] : "ready", { pid: tree.pid }, {
        ...spawned?.change,
        ...notify.flushStatus(),
      });
      await m.report({ ok: true, pid: tree.pid, supervisorPid: Deno.pid });
      return "ready";
    case "stopped":
      await m.stoppedDuringStart();
      return "failed";
    case "timeout": {
      const error = `${cfg.name} not ready within ${formatDuration(result.timeoutMs)}: ${
        result.unmet.join("; ")
      }`;
      return await m.failStart(error, {
        reason: "not-ready",
        logLine: error,
        stop: () => m.stopTree(),
        logTail: tree.pid,
      });
    }
    case "exited": {
      await m.finish(tree);
      const exit = m.lastExit!;
      // One rule: an exit before the service was ready is a failed start.
      const error = `${cfg.name} exited during start-up with ${describeExit(exit)}`;
      return await m.failStart(error, { reason: "exited", exit, logTail: tree.pid });
    }
  }
}
