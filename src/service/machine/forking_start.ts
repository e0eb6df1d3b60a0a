/**
 * The forking start strategy (`--forking`, systemd's Type=forking, see
 * forking.ts): the leader exits 0 after forking, and that is start-up,
 * not an exit. Then the other readiness conditions must hold within what
 * is left of `--ready-timeout` (the one wait, ready_wait.ts); the instance
 * lives as long as its main process (or its tree), and when it ends the
 * rest of the tree is stopped before the restart policy applies.
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import type { ProcessTree, RetryStep, StopReport } from "../../tree/process_tree.ts";
import { family, stopRoots } from "../../tree/process_family.ts";
import {
  awaitForkingStart,
  forkingEnded,
  guessMainProcess,
  type MainGuess,
  type MainProcess,
} from "../pidfile/forking.ts";
import { READY_TIMEOUT_MS } from "../readiness/readiness.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import type { InstanceEnd, InstanceStart, Machine, StartStrategy } from "./context.ts";
import type { ReadinessOutcome } from "./ready_wait.ts";
import { instanceReadiness } from "./ready_watch.ts";
import { abortOver, forkingLifeEnd, startAborted } from "./forking_watchdog.ts";

/** The exit of a process that is not our child: unknown, and a failure for `on-failure`. */
const UNKNOWN_EXIT = { success: false, code: null, signal: null };

/**
 * The forking strategy.
 *
 * @example
 * ```ts
 * import { FORKING_START } from "./forking_start.ts";
 * console.log(FORKING_START.name); // "forking"
 * ```
 */
export const FORKING_START: StartStrategy = {
  name: "forking",
  run: runForking,
};

async function runForking(
  m: Machine,
  tree: ProcessTree,
  run: InstanceStart,
): Promise<InstanceEnd> {
  const { cfg } = m;
  const { first } = run;
  const start = await awaitForkingStart(tree, {
    mainPidfile: cfg.options.mainPidfile,
    timeoutMs: cfg.options.readyTimeoutMs ?? READY_TIMEOUT_MS,
    spawnedAtMs: run.spawnedAtMs,
  }, m.woken);
  if (!start.ok) {
    if ("stopped" in start) return "interrupted"; // the loop stops the tree
    const failed = {
      logLine: `${cfg.name} failed to start: ${start.error}`,
      stop: () => tree.stop({ retry: cfg.options.retry }).catch(() => {}),
      recorded: start.exit ?? UNKNOWN_EXIT,
    };
    if (!first) {
      await m.closeInstance(failed);
      return "ended";
    }
    return await m.failStart(`${cfg.name} ${start.error}`, {
      ...failed,
      reason: start.exit ? "exited" : start.notReady ? "not-ready" : "failed",
      ...(start.exit ? { exit: start.exit } : {}),
      logTail: tree.pid,
    });
  }
  const noteFamily = noteMainFamily(m);
  let ended: Promise<void>;
  if (start.guessed) {
    await setGuessedMain(m, start.guessed);
    ended = followGuessedMain(m, tree, noteFamily);
  } else {
    m.main = start.main;
    if (start.main) {
      await m.lock!.update({ pid: start.main.pid });
      await m.log?.line(
        `${cfg.name}: main pid ${start.main.pid} (from ${cfg.options.mainPidfile})`,
      );
      // Recorded at once: a supervisor killed before the service is ready
      // leaves a record by which the next one knows the main process.
      await m.save(mainChange(start.main));
    }
    ended = forkingEnded(tree, m.main, noteFamily);
  }
  const pid = m.main?.pid ?? (start.guessed ? null : tree.pid);
  const started = () => {
    const unknown = pid === null ? { mainUnknown: m.state.mainUnknown ?? 0 } : {};
    return m.report({ ok: true, pid, supervisorPid: Deno.pid, ...unknown });
  };
  // `pidkit run` is told once the leader has exited, as a simple service is at its spawn.
  if (first && !run.awaited) await started();
  // Every instance waits for its conditions, a restart nobody waits for too (systemd's
  // Type=forking restart is not active before its PID file is): `starting` till then.
  const at = { pid: pid ?? tree.pid, ended, ...run };
  const ready = run.awaited
    ? await awaitForkingReady(m, tree, at)
    : await watchForkingReady(m, tree, at);
  if (ready !== "ready") return ready;
  const mainPid = mainChange(m.main);
  // One that said READY=1 after RELOADING=1 during its start may be running already.
  if (m.state.phase === "running") await m.save(mainPid);
  else await m.enter("ready", pid ? { pid } : {}, { ...mainPid, ...m.notify?.flushStatus() });
  if (first && run.awaited) await started();
  return await followForking(
    m,
    tree,
    ended,
    () =>
      start.main && !start.guessed
        ? `${cfg.name}: main pid ${start.main.pid} exited`
        : `${cfg.name}: its last process exited`,
  );
}

/**
 * The record's main process fields for `main` (its PID and start time:
 * what a supervisor adopting the service verifies it by).
 *
 * @example
 * ```ts
 * import { mainChange } from "./forking_start.ts";
 * console.log(mainChange({ pid: 42, startTime: 7 })); // { mainPid: 42, mainStartTime: 7 }
 * ```
 */
export function mainChange(main: MainProcess | undefined): Partial<ServiceRecord> {
  return main ? { mainPid: main.pid, mainStartTime: main.startTime } : {};
}

/**
 * A new family of the main process, and what notes its members while it
 * lives (they are stopped with it: a daemon's workers that left the tree).
 *
 * @example
 * ```ts
 * import { noteMainFamily } from "./forking_start.ts";
 * // const onTick = noteMainFamily(machine); await forkingEnded(tree, machine.main, onTick);
 * console.log(typeof noteMainFamily);
 * ```
 */
export function noteMainFamily(m: Pick<Machine, "main" | "mainFamily">): () => void {
  m.mainFamily = new Map();
  return () => {
    if (m.main) { for (const t of family([m.main])) m.mainFamily.set(t.pid, t); }
  };
}

/**
 * Follow a forking instance until `ended` (its main process, or its last
 * process, exited: `line()` says so in the log), its watchdog's abort is
 * over (forking_watchdog.ts), or a stop or a restart in place is asked
 * for. Then the rest of the tree is stopped, and the exit (unknown: not
 * our child) recorded.
 *
 * @example
 * ```ts
 * import { followForking } from "./forking_start.ts";
 * // return await followForking(machine, tree, ended, () => "web: main pid 42 exited");
 * console.log(typeof followForking);
 * ```
 */
export async function followForking(
  m: Machine,
  tree: ProcessTree,
  ended: Promise<void>,
  line: () => string,
): Promise<InstanceEnd> {
  const watchdog = await forkingLifeEnd(tree, ended, m.woken);
  if (m.stopping || m.restartRequest) return "interrupted";
  await m.log?.line(watchdog ?? line());
  return await endForking(m, tree);
}

/**
 * The end of a forking instance: its exit is unknown (a failure for
 * `--restart on-failure`), the rest of its tree is stopped before any
 * restart (an old worker must not hold the port against a new main
 * process), its output drained, the exit recorded.
 *
 * @example
 * ```ts
 * import { endForking } from "./forking_start.ts";
 * // return await endForking(machine, tree);
 * console.log(typeof endForking);
 * ```
 */
export async function endForking(m: Machine, tree: ProcessTree): Promise<"ended"> {
  const main = m.main;
  m.notify?.detach(); // its watchdog too: it must not fire during the restart's delay or start
  m.lastExit = UNKNOWN_EXIT;
  await stopForking(m, tree, m.cfg.options.retry);
  await m.drain();
  m.recordExit(m.lastExit);
  m.tree = undefined;
  m.main = undefined;
  void m.enter("exit", { pid: main?.pid ?? tree.pid, code: null, signal: null });
  return "ended";
}

/**
 * The guessed main process (forking.ts) becomes the service's: PID file,
 * record and log; none guessed, the PID file is emptied (it must never
 * name the leader that exited) and the record says how many processes run.
 *
 * @example
 * ```ts
 * import { setGuessedMain } from "./forking_start.ts";
 * // await setGuessedMain(machine, guessMainProcess(tree));
 * console.log(typeof setGuessedMain);
 * ```
 */
export async function setGuessedMain(m: Machine, guess: MainGuess): Promise<void> {
  const { name } = m.cfg;
  m.main = guess.main;
  if (guess.main) {
    await m.lock!.update({ pid: guess.main.pid }).catch(() => {});
    m.pidCleared = false;
    await m.log?.line(`${name}: main pid ${guess.main.pid} (guessed: the process its leader left)`);
    await m.save({ ...mainChange(guess.main), mainUnknown: undefined });
    return;
  }
  await m.lock!.clear().catch(() => {});
  m.pidCleared = true;
  const n = guess.processes;
  await m.log?.line(`${name}: main process unknown (${n} process${n === 1 ? "" : "es"})`);
  await m.save({ mainPid: undefined, mainStartTime: undefined, mainUnknown: n });
}

/**
 * Resolves when a forking service with a guessed main process has ended:
 * when its main process exits while others remain (a daemon that forked
 * twice: the guess was the middle process), the guess is made again; the
 * service ends when no process is left.
 *
 * @example
 * ```ts
 * import { followGuessedMain } from "./forking_start.ts";
 * // await followGuessedMain(machine, tree, noteMainFamily(machine));
 * console.log(typeof followGuessedMain);
 * ```
 */
export async function followGuessedMain(
  m: Machine,
  tree: ProcessTree,
  onTick: () => void,
): Promise<void> {
  for (;;) {
    const was = m.main;
    await forkingEnded(tree, was, onTick);
    if (m.stopping || m.restartRequest || was === undefined) return;
    const again = guessMainProcess(tree);
    if (again.processes === 0) return;
    await m.log?.line(`${m.cfg.name}: main pid ${was.pid} exited; others remain`);
    await setGuessedMain(m, again);
  }
}

/**
 * The other readiness conditions of a `--forking` service (`--ready-tcp`,
 * `--ready-file`, `--ready-after`, `--ready-notify`, `--ready-fd`), once
 * its leader has exited 0: they must hold within what is left of
 * `--ready-timeout` since the spawn, while the main process (or the tree)
 * lives. On failure the start fails (failStart).
 */
async function awaitForkingReady(
  m: Machine,
  tree: ProcessTree,
  at: ForkingReadyAt,
): Promise<"ready" | "interrupted" | "failed"> {
  const { cfg } = m;
  const result = await forkingReadiness(m, tree, at);
  if (result.outcome === "stopped") return "interrupted"; // the loop stops the tree and tells start
  const aborted = await startAborted(tree, m.woken);
  if (aborted === null) return "interrupted";
  if (aborted === undefined && result.outcome === "ready") return "ready";
  if (aborted) await m.log?.line(aborted);
  const error = aborted ? ABORTED : notReadyError(result, at.pid);
  return await m.failStart(`${cfg.name} ${error}`, {
    reason: result.outcome === "timeout" && !aborted ? "not-ready" : "exited",
    logLine: `${cfg.name} failed to start: ${error}`,
    stop: () => stopForking(m, tree, cfg.options.retry).catch(() => {}),
    recorded: UNKNOWN_EXIT,
    logTail: tree.pid,
  });
}

/** Where a forking instance's readiness wait starts: its main PID (or leader) and its end. */
type ForkingReadyAt = InstanceStart & { pid: number; ended: Promise<void> };

/**
 * The one wait (ready_wait.ts) for every condition of a forking instance,
 * within what is left of `--ready-timeout` since its spawn, while its main
 * process (or its tree), not the leader that exited, lives.
 */
function forkingReadiness(
  m: Machine,
  tree: ProcessTree,
  at: ForkingReadyAt,
): Promise<ReadinessOutcome> {
  // The watchdog's abort over ends it too: a main process that survived its SIGABRT.
  return instanceReadiness(m, at, Promise.race([at.ended, abortOver(tree)]));
}

/** Why a forking instance whose watchdog fired before it was ready did not start. */
const ABORTED = "was aborted by its watchdog during start-up";

/** Why a forking instance did not become ready (`timeout` or `exited`). */
function notReadyError(result: ReadinessOutcome, pid: number): string {
  return result.outcome === "timeout"
    ? `not ready within ${formatDuration(result.timeoutMs)}: ${result.unmet.join("; ")}`
    : `main pid ${pid} exited during start-up`;
}

/**
 * The readiness of a forking instance nobody waits for (a restart by the
 * policy, `pidkit run`): the same wait as a first start's; not ready in
 * time, or its main process gone meanwhile, it ends as a failure (the
 * tree and the main process's family stopped) and the restart policy
 * decides, nobody is told.
 */
async function watchForkingReady(
  m: Machine,
  tree: ProcessTree,
  at: ForkingReadyAt,
): Promise<"ready" | InstanceEnd> {
  const result = await forkingReadiness(m, tree, at);
  const aborted = result.outcome === "stopped" ? undefined : await startAborted(tree, m.woken);
  if (result.outcome === "ready" && aborted === undefined) return "ready";
  // A stop, or a restart in place (the wait took it for an end): the loop stops the tree.
  if (result.outcome === "stopped" || aborted === null || m.stopping || m.restartRequest) {
    return "interrupted";
  }
  if (aborted) await m.log?.line(aborted);
  await m.log?.line(`${m.cfg.name} ${aborted ? ABORTED : notReadyError(result, at.pid)}`);
  return await endForking(m, tree);
}

/**
 * Stop a forking service's tree and its main process's family together.
 *
 * @example
 * ```ts
 * import { stopForking } from "./forking_start.ts";
 * // const report = await stopForking(machine, tree, "TERM/10/KILL/5");
 * console.log(typeof stopForking);
 * ```
 */
export async function stopForking(
  m: Pick<Machine, "main" | "mainFamily">,
  tree: ProcessTree,
  retry: string | RetryStep[],
): Promise<StopReport> {
  if (m.main) { for (const t of family([m.main])) m.mainFamily.set(t.pid, t); }
  const known = [...m.mainFamily.values()];
  const [report, others] = await Promise.all([
    tree.stop({ retry }),
    known.length > 0 ? stopRoots(known, retry) : undefined,
  ]);
  if (others) report.survivors = [...new Set([...report.survivors, ...others.survivors])];
  return report;
}
