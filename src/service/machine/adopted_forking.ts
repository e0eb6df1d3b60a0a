/**
 * Adopting a `--forking` service whose supervisor died (see
 * _previous_run.ts for when a service is adopted): it is followed as
 * forking_start.ts follows one once its leader has exited.
 *
 * The main process is, in this order:
 * - the one the record names (`mainPid`), while it is still that process:
 *   alive, started after the tree's leader, with the start time the record
 *   says (`mainStartTime`; a record written before 0.3 has none: started no
 *   later than the record was last written), and a member of the tree
 *   (group tier: a daemon that left the session and cleared its environment
 *   is no member; its recorded PID and start time are its identity then);
 * - the process `--main-pidfile` names now, read again, under the same
 *   checks (a member of the tree, written since the instance started);
 * - without `--main-pidfile`, the guess forking.ts makes (the one process
 *   whose parent is not in the tree), else "main unknown" (the PID file is
 *   emptied and the service lives as long as its tree has members).
 * With `--main-pidfile` and no such process, the main process exited
 * while no supervisor ran: the instance has ended.
 *
 * The instance ends when its main process (or its last process) exits;
 * the rest of the tree is stopped, its exit is unknown (a failure), and
 * the restart policy applies. An orphan whose supervisor was killed during
 * its start finishes it within what is left of `--ready-timeout`: its
 * leader's exit (whose status cannot be known: it counts as start-up, and
 * what it left decides), the main PID file, then `--ready-tcp`,
 * `--ready-file` and `--ready-after`; sd_notify's `READY=1` and
 * `--ready-fd` went to the dead supervisor and count as held. Not ready
 * in time: its tree is stopped as a failure.
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  isProcessAlive,
  readProcStat,
} from "../../os/proc.ts";
import { bootTimeMs } from "../../lock/unlocked_pid_file.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import {
  awaitForkingStart,
  forkingEnded,
  guessMainProcess,
  type MainProcess,
  readMainPid,
} from "../pidfile/forking.ts";
import { recordedMainProcess } from "../inspect/recorded_main.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { READY_TIMEOUT_MS } from "../readiness/readiness.ts";
import type { InstanceEnd, Machine } from "./context.ts";
import {
  endForking,
  followForking,
  followGuessedMain,
  mainChange,
  noteMainFamily,
  setGuessedMain,
} from "./forking_start.ts";
import { adoptedReadiness, sinceServiceStart } from "./ready_watch.ts";

/** The one look an adopted start gets at its main PID file when its time is spent already. */
const LAST_LOOK_MS = 500;

/**
 * The main process `record` names, when it is still that process (its
 * PID and start time, recorded_main.ts) and one of `tree`; undefined otherwise.
 * The group tier does not see a daemon that left the session and cleared
 * its environment: the start time the record keeps, checked when the
 * process was accepted as the main one, is its identity then.
 *
 * @example
 * ```ts
 * import { recordedForkingMain } from "./adopted_forking.ts";
 * // const main = recordedForkingMain(previous, attachTree(previous.tree!));
 * console.log(typeof recordedForkingMain);
 * ```
 */
export function recordedForkingMain(
  record: ServiceRecord,
  tree: ProcessTree,
): MainProcess | undefined {
  const main = recordedMainProcess(record);
  if (main === undefined || main.startTime < tree.ref.startTime) return undefined;
  const known = tree.tracking === "group" && record.mainStartTime !== undefined;
  return known || isMember(tree, main.pid) ? main : undefined;
}

function isMember(tree: ProcessTree, pid: number): boolean {
  return tree.members().some((m) => m.pid === pid);
}

/** The process `--main-pidfile` names now, when it is alive, started after the leader, and one of the tree (see below for the group tier). */
function mainFromPidfile(
  m: Machine,
  tree: ProcessTree,
  previous: ServiceRecord,
): MainProcess | undefined {
  const path = m.cfg.options.mainPidfile;
  if (path === undefined) return undefined;
  const since = Date.parse(previous.serviceStartedAt ?? previous.createdAt);
  const pid = readMainPid(path, Number.isNaN(since) ? 0 : since);
  if (typeof pid !== "number") return undefined;
  const st = readProcStat(pid);
  if (st === undefined || isDeadState(st.state) || st.startTime < tree.ref.startTime) {
    return undefined;
  }
  const main = { pid, startTime: st.startTime };
  if (isMember(tree, pid)) return main;
  // Group tier: a daemon that left the session and cleared its environment
  // counts when it started before the record was last written (as
  // forking.ts accepts one forked during the start-up).
  const startedAtMs = bootTimeMs().ms + st.startTime * 1000 / CLOCK_TICKS_PER_SECOND;
  const writtenAtMs = Date.parse(previous.updatedAt);
  return tree.tracking === "group" && startedAtMs <= writtenAtMs ? main : undefined;
}

/**
 * As an adoption is announced (adopted_start.ts): the main process of the
 * adopted forking service found (module doc), written into the PID file
 * and the record; the PID the adoption names, undefined when the main
 * process is unknown (the PID file is emptied then). Killed during its
 * start-up: the leader while it lives (as during any forking start), the
 * rest is the strategy's.
 *
 * @example
 * ```ts
 * import { adoptForkingMain } from "./adopted_forking.ts";
 * // const pid = await adoptForkingMain(machine, tree, previous);
 * console.log(typeof adoptForkingMain);
 * ```
 */
export async function adoptForkingMain(
  m: Machine,
  tree: ProcessTree,
  previous: ServiceRecord,
): Promise<number | undefined> {
  const { name, options } = m.cfg;
  if (m.state.phase === "starting") {
    if (isProcessAlive(tree.pid, tree.ref.startTime)) return tree.pid;
    await clearPidFile(m);
    return undefined;
  }
  const recorded = recordedForkingMain(previous, tree);
  const main = recorded ?? mainFromPidfile(m, tree, previous);
  if (main) {
    m.main = main;
    m.pidCleared = false;
    if (!recorded) await m.log?.line(`${name}: main pid ${main.pid} (from ${options.mainPidfile})`);
    await m.save({ ...mainChange(main), mainUnknown: undefined });
    return main.pid;
  }
  if (options.mainPidfile === undefined) {
    const guess = guessMainProcess(tree);
    if (guess.processes > 0) {
      await setGuessedMain(m, guess);
      return guess.main?.pid;
    }
  }
  // The main process exited while no supervisor ran: the strategy ends the instance.
  const was = previous.mainPid === undefined ? "" : ` (pid ${previous.mainPid})`;
  await m.log?.line(`${name}: its main process${was} exited while no supervisor ran`);
  await clearPidFile(m);
  await m.save({ mainPid: undefined, mainStartTime: undefined });
  return undefined;
}

async function clearPidFile(m: Machine): Promise<void> {
  await m.lock!.clear().catch(() => {});
  m.pidCleared = true;
}

/**
 * Follow an adopted forking instance (module doc) until it ends, fails to
 * finish its start, or a stop or a restart in place is asked for.
 *
 * @example
 * ```ts
 * import { runAdoptedForking } from "./adopted_forking.ts";
 * // in ADOPTED_START.run: if (machine.cfg.options.forking) return runAdoptedForking(machine, tree);
 * console.log(typeof runAdoptedForking);
 * ```
 */
export async function runAdoptedForking(m: Machine, tree: ProcessTree): Promise<InstanceEnd> {
  const { name, options } = m.cfg;
  const note = noteMainFamily(m);
  if (m.state.phase === "starting") {
    const started = await finishForkingStart(m, tree, note);
    if (typeof started === "string") return started;
    return await followForking(m, tree, started.ended, started.line);
  }
  const main = m.main;
  if (main && options.mainPidfile !== undefined) {
    return await followForking(
      m,
      tree,
      forkingEnded(tree, main, note),
      () => `${name}: main pid ${main.pid} exited`,
    );
  }
  // Its main process exited while no supervisor ran (said in the log as it was adopted).
  if (options.mainPidfile !== undefined) return await endForking(m, tree);
  return await followForking(
    m,
    tree,
    followGuessedMain(m, tree, note),
    () => `${name}: its last process exited`,
  );
}

/**
 * The rest of a start the dead supervisor began: the leader's exit, the
 * main process, the other readiness conditions, within what is left of
 * `--ready-timeout`. Ready: the instance goes on (its end to wait for);
 * not: it ends as a failure.
 */
async function finishForkingStart(
  m: Machine,
  tree: ProcessTree,
  note: () => void,
): Promise<InstanceEnd | { ended: Promise<void>; line: () => string }> {
  const { name, options } = m.cfg;
  const { startedAt, elapsed } = sinceServiceStart(m);
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const start = await awaitForkingStart(tree, {
    mainPidfile: options.mainPidfile,
    timeoutMs: Math.max(timeoutMs - elapsed, LAST_LOOK_MS),
    spawnedAtMs: Number.isNaN(startedAt) ? 0 : startedAt,
    adopted: true,
  }, m.woken);
  if (m.stopping || m.restartRequest || (!start.ok && "stopped" in start)) return "interrupted";
  if (!start.ok) return await failAdoptedStart(m, tree, start.error);
  let ended: Promise<void>;
  let line = () => `${name}: its last process exited`;
  if (start.guessed) {
    await setGuessedMain(m, start.guessed);
    ended = followGuessedMain(m, tree, note);
  } else {
    const main = start.main;
    m.main = main;
    if (main) {
      await m.lock!.update({ pid: main.pid }).catch(() => {});
      m.pidCleared = false;
      await m.log?.line(`${name}: main pid ${main.pid} (from ${options.mainPidfile})`);
      line = () => `${name}: main pid ${main.pid} exited`;
    }
    ended = forkingEnded(tree, main, note);
  }
  const result = await adoptedReadiness(m, elapsed, ended);
  if (m.stopping || m.restartRequest) return "interrupted";
  if (result.outcome === "timeout") {
    const why = `not ready within ${formatDuration(result.timeoutMs)}: ${result.unmet.join("; ")}`;
    return await failAdoptedStart(m, tree, why);
  }
  if (result.outcome !== "ready") {
    const what = m.main ? `main pid ${m.main.pid}` : "its last process";
    return await failAdoptedStart(m, tree, `${what} exited during start-up`);
  }
  const pid = m.main?.pid;
  await m.enter("ready", pid ? { pid } : {}, mainChange(m.main));
  return { ended, line };
}

/** An adopted start that did not finish: said in the log, its tree stopped, a failure. */
async function failAdoptedStart(m: Machine, tree: ProcessTree, why: string): Promise<"ended"> {
  await m.log?.line(`${m.cfg.name} (adopted during its start) failed to start: ${why}`);
  m.forcedFailure = true;
  return await endForking(m, tree);
}
