/**
 * The adopted start strategy: an orphaned tree whose supervisor died is
 * taken over rather than started (see _previous_run.ts for when). The
 * adoption is announced (PID file, record, log, `start`'s answer: already
 * running, and adopted); an orphan adopted before it was ready owes its
 * readiness still, within what is left of `--ready-timeout` (the one wait,
 * ready_wait.ts, with the time already spent); then it is followed like a
 * simple instance (a `--forking` one as forking_start.ts follows it once
 * its leader exited: adopted_forking.ts). Its leader is not our child: its
 * exit status will be unknown.
 *
 * @module
 */

import type { ProcessTree } from "../../tree/process_tree.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import type { InstanceEnd, Machine, StartStrategy } from "./context.ts";
import { adoptedReadiness, notReadyInTime, sinceServiceStart } from "./ready_watch.ts";
import { followInstance } from "./simple_start.ts";
import { adoptForkingMain, runAdoptedForking } from "./adopted_forking.ts";

/**
 * The adopted strategy.
 *
 * @example
 * ```ts
 * import { ADOPTED_START } from "./adopted_start.ts";
 * console.log(ADOPTED_START.name); // "adopted"
 * ```
 */
export const ADOPTED_START: StartStrategy = {
  name: "adopted",
  run(m, tree): Promise<InstanceEnd> {
    if (m.cfg.options.forking) return runAdoptedForking(m, tree);
    if (m.state.phase === "starting") void finishAdoptedStart(m, tree);
    return followInstance(m, tree);
  },
};

/**
 * The adoption, once the lock, log, output and notify socket are in
 * place: PID file, record, log line, event, and `start`'s answer ("already
 * running", with the news that a new supervisor took it over).
 *
 * @example
 * ```ts
 * import { announceAdoption } from "./adopted_start.ts";
 * // await announceAdoption(machine, tree, previous);
 * console.log(typeof announceAdoption);
 * ```
 */
export async function announceAdoption(
  m: Machine,
  tree: ProcessTree,
  previous: ServiceRecord,
): Promise<void> {
  const { cfg } = m;
  const dead = previous.supervisor;
  m.tree = tree;
  m.notify?.attach(tree);
  m.notify?.markReady();
  // A forking service's leader exited at start-up: its main process, if known.
  const pid = cfg.options.forking
    ? await adoptForkingMain(m, tree, previous)
    : m.state.mainPid ?? tree.pid;
  if (pid !== undefined && m.lock!.pid !== pid) await m.lock!.update({ pid });
  await m.save({});
  const which = pid === undefined ? "main process unknown" : `pid ${pid}`;
  await m.log?.line(
    `adopted ${cfg.name} (${which}): its supervisor (pid ${dead.pid}) was gone; ` +
      `the exit status of this run will be unknown`,
  );
  void m.enter("adopt", {
    ...(pid !== undefined ? { pid } : {}),
    reason: `its supervisor (pid ${dead.pid}) was gone`,
  });
  await m.report({
    ok: false,
    error: `${cfg.name} is already running (${which}); its supervisor was gone, ` +
      `a new one (pid ${Deno.pid}) adopted it`,
    alreadyRunning: pid ?? 0,
    adopted: true,
  });
}

/**
 * An orphan adopted before it was ready (its supervisor was killed during
 * its start): `--ready-file`, `--ready-tcp` and `--ready-after` again, for
 * what is left of `--ready-timeout` since it was started. Ready: it runs;
 * not ready in time: its tree is stopped as a failure (the restart policy
 * decides what next). sd_notify's `READY=1` and `--ready-fd` cannot be
 * observed again (they went to the dead supervisor) and count as held.
 */
async function finishAdoptedStart(m: Machine, tree: ProcessTree): Promise<void> {
  const { elapsed } = sinceServiceStart(m);
  const result = await adoptedReadiness(m, elapsed, tree.status);
  if (m.tree !== tree || result.outcome === "stopped" || result.outcome === "exited") return;
  if (result.outcome === "ready") {
    await m.enter("ready", { pid: m.state.mainPid ?? tree.pid });
    return;
  }
  await notReadyInTime(m, tree, result);
}
