/**
 * What the previous run of a service left, and what a new supervisor does
 * with it: its record (readPreviousState), an empty cgroup to remove, and
 * an orphaned tree to adopt.
 *
 * Taking over a service whose supervisor died (SIGKILL, the OOM killer):
 * the run directory's next resident supervisor adopts every orphan of the
 * directory as it starts (dir_supervisor.ts), and a `start` of an orphan's
 * name adopts it rather than refusing. The supervisor takes the PID
 * file's lock (so of concurrent starts exactly one adopts), re-attaches the
 * recorded tree (leader start time, process group, session, cgroup: as
 * `attachTree` checks them), reads on from the service's output FIFO where
 * the dead supervisor stopped, rebinds the sd_notify socket at the same path,
 * and goes on with the recorded command and options: restarts, stop
 * schedule, watchdog. The adopted leader is not its child, so how it exits
 * cannot be known: that exit is recorded as unknown (code and signal null)
 * and counts as a failure for `--restart on-failure`.
 *
 * Not adopted (refused as before, `pidkit stop NAME` ends them): `--forking`
 * services (their main process was found during a start-up this supervisor
 * did not see) and a tree whose supervisor still runs (its PID file was
 * deleted or replaced). `pidkit run` itself never adopts: it refuses beside
 * an orphan. The orphan of a killed `pidkit run` is adopted by a resident
 * supervisor like any other when it had a log (without one its output went
 * to a terminal or pipe that is gone: only a `start` of its name adopts it).
 *
 * @module
 */

import { isProcessAlive, readProcStat } from "../os/proc.ts";
import { cgroupPopulated, removeCgroup } from "../tree/cgroup.ts";
import { attachTree, checkTreeRef, type ProcessTree } from "../tree/process_tree.ts";
import { isStartGate } from "../tree/spawn_gated.ts";
import { survivingTree } from "./inspect_service.ts";
import { readServiceRecordSync, type ServiceRecord } from "./service_record.ts";
import type { SupervisorBase } from "./_supervisor_base.ts";
import { READY_TIMEOUT_MS, waitReady } from "./readiness.ts";
import { formatDuration } from "../os/duration.ts";

/**
 * Whether a tree `previous` names, once found alive, is an orphan a new
 * supervisor may adopt: its supervisor is gone, and it is not `--forking`.
 */
export function adoptable(previous: ServiceRecord): boolean {
  const { pid, startTime } = previous.supervisor;
  return !previous.options.forking && !isProcessAlive(pid, startTime);
}

/** The orphaned tree `previous` names, attached, when a new supervisor may adopt it. */
export async function orphanToAdopt(previous: ServiceRecord): Promise<ProcessTree | undefined> {
  if (!adoptable(previous)) return undefined;
  const ref = await survivingTree(previous);
  if (ref === undefined) return undefined;
  let tree: ProcessTree;
  try {
    tree = attachTree(ref);
  } catch {
    return undefined; // gone, or a reference that does not check out
  }
  if (isStartGate(tree.pid)) {
    // Killed between the spawn and the gate's release: the command never
    // ran, and the gate would wait for ever. End it; nothing to adopt.
    await tree.stop({ retry: "KILL/2" }).catch(() => {});
    return undefined;
  }
  return tree;
}

/** The record of an adopted service: the old one, with this supervisor and tree. */
export function adoptedRecord(previous: ServiceRecord, tree: ProcessTree): ServiceRecord {
  const now = new Date().toISOString();
  const { spawning: _spawning, ...rest } = previous;
  return {
    ...rest,
    // Killed before the service was ready: its readiness is still owed
    // (finishAdoptedStart); anything else runs on.
    phase: previous.phase === "starting" && previous.tree ? "starting" : "running",
    version: 2,
    // Adoption is the resident supervisor's work only (see the module doc).
    supervisor: { pid: Deno.pid, startTime: readProcStat("self")?.startTime ?? 0, kind: "dir" },
    tree: tree.ref,
    updatedAt: now,
  };
}

/**
 * Finish the adoption once the lock, log, output and health are in place:
 * PID file, state, log line, and `start`'s answer ("already running", with
 * the news that a new supervisor took it over).
 */
export async function announceAdoption(
  sup: SupervisorBase,
  tree: ProcessTree,
  dead: ServiceRecord["supervisor"],
): Promise<void> {
  const { cfg } = sup;
  sup.tree = tree;
  sup.health?.attach(tree);
  sup.health?.markReady();
  const pid = sup.state.mainPid ?? tree.pid;
  if (sup.lock!.pid !== pid) await sup.lock!.update({ pid });
  await sup.save({});
  await sup.log?.line(
    `adopted ${cfg.name} (pid ${tree.pid}): its supervisor (pid ${dead.pid}) was gone; ` +
      `the exit status of this run will be unknown`,
  );
  if (sup.state.phase === "starting") void finishAdoptedStart(sup, tree);
  await sup.report({
    ok: false,
    error: `${cfg.name} is already running (pid ${pid}); its supervisor was gone, ` +
      `a new one (pid ${Deno.pid}) adopted it`,
    alreadyRunning: pid,
    adopted: true,
  });
}

/**
 * An orphan adopted before it was ready (its supervisor was killed during
 * its start): check `--ready-file`, `--ready-tcp` and `--ready-after` again
 * for what is left of `--ready-timeout` since it was started. Ready: it
 * runs; not ready in time: its tree is stopped as a failure (the restart
 * policy decides what next). sd_notify's `READY=1` and `--ready-fd` cannot
 * be observed again (they went to the dead supervisor) and count as held.
 */
async function finishAdoptedStart(sup: SupervisorBase, tree: ProcessTree): Promise<void> {
  const { name, options } = sup.cfg;
  const startedAt = Date.parse(sup.state.serviceStartedAt ?? sup.state.createdAt);
  const elapsed = Number.isNaN(startedAt) ? 0 : Math.max(0, Date.now() - startedAt);
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let unmet: string[] = [];
  const outcome = await waitReady(
    {
      afterMs: Math.max(0, (options.readyAfterMs ?? 0) - elapsed),
      tcp: options.readyTcp,
      file: options.readyFile,
      timeoutMs: Math.max(0, timeoutMs - elapsed),
    },
    tree.status,
    { onTimeout: (missing) => unmet = missing },
  );
  if (sup.tree !== tree || sup.stopping || outcome === "exited") return;
  if (outcome === "ready") {
    await sup.save({ phase: "running" });
    return;
  }
  await sup.log?.line(
    `${name} (pid ${tree.pid}) not ready within ${formatDuration(timeoutMs)}: ${unmet.join("; ")}`,
  );
  sup.forcedFailure = true;
  await tree.stop({ retry: options.retry }).catch(() => {});
}

/** The state the previous supervisor left; undefined when there is none or it cannot be read. */
export function readPreviousState(path: string): ServiceRecord | undefined {
  try {
    return readServiceRecordSync(path);
  } catch {
    return undefined; // bad content: nothing in it can be trusted
  }
}

/**
 * A supervisor that was SIGKILLed could not remove its tree's cgroup; once
 * that tree is gone the empty directory is left. The previous state names
 * it: remove it if the reference passes the checks attachTree makes (a
 * pidkit cgroup inside the cgroup2 hierarchy), is this service's, and the
 * cgroup is empty.
 */
export async function removeStaleCgroup(previous: ServiceRecord, name: string): Promise<void> {
  const tree = previous.tree;
  if (tree?.tracking !== "cgroup" || tree.cgroupPath === undefined) return;
  if (!tree.marker.startsWith(`${name}:`)) return;
  try {
    checkTreeRef(tree);
    if (!cgroupPopulated(tree.cgroupPath)) await removeCgroup(tree.cgroupPath);
  } catch { /* not a reference to trust, or already gone */ }
}
