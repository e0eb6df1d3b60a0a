/**
 * A `--forking` service under a supervisor (systemd `Type=forking`, see
 * `forking.ts`): its start-up, its life as long as its main process lives,
 * and the stop of its tree together with the main process's family.
 *
 * @module
 */

import { formatDuration } from "../os/duration.ts";
import { type FileMark, READY_TIMEOUT_MS, waitReady } from "./readiness.ts";
import { tailLines } from "./log_sink.ts";
import type { ProcessTree, RetryStep, StopReport } from "../tree/process_tree.ts";
import { awaitForkingStart, forkingEnded, guessMainProcess, type MainGuess } from "./forking.ts";
import { family, stopRoots } from "../tree/process_family.ts";
import { describeRetry, LOG_TAIL_LINES, type SupervisorBase } from "./_supervisor_base.ts";

/**
 * A `--forking` service (src/service/forking.ts): its start-up, then its life as
 * long as its main process (or tree) lives; then the rest of the tree is
 * stopped, before the restart policy applies. False: the first start
 * failed (reported); `start` is told. `first`: someone is told of this
 * start (a first start, or a restart in place); `awaited`: and it waits
 * for the service to be ready.
 */
export async function runForking(
  s: SupervisorBase,
  tree: ProcessTree,
  run: { first: boolean; awaited: boolean; spawnedAtMs: number; readyFileBefore?: FileMark },
): Promise<boolean> {
  const { cfg } = s;
  const { first, spawnedAtMs } = run;
  const start = await awaitForkingStart(tree, {
    mainPidfile: cfg.options.mainPidfile,
    timeoutMs: cfg.options.readyTimeoutMs ?? READY_TIMEOUT_MS,
    spawnedAtMs,
  }, s.woken);
  if (!start.ok) {
    if ("stopped" in start) return true; // the caller stops the tree
    await s.log?.line(`${cfg.name} failed to start: ${start.error}`);
    await tree.stop({ retry: cfg.options.retry }).catch(() => {});
    await s.drain();
    s.tree = undefined;
    s.lastExit = start.exit ?? { success: false, code: null, signal: null };
    s.recordExit(s.lastExit);
    if (!first) return true;
    await s.end("failed", `${cfg.name} ${start.error}`);
    await s.report({
      ok: false,
      error: `${cfg.name} ${start.error}`,
      reason: start.exit ? "exited" : start.notReady ? "not-ready" : "failed",
      ...(start.exit ? { exit: { code: start.exit.code, signal: start.exit.signal } } : {}),
      logTail: s.log ? await tailLines(s.log.path, LOG_TAIL_LINES) : [],
    });
    return false;
  }
  s.mainFamily = new Map();
  const noteFamily = () => {
    if (s.main) { for (const t of family([s.main])) s.mainFamily.set(t.pid, t); }
  };
  let ended: Promise<void>;
  if (start.guessed) {
    await setGuessedMain(s, start.guessed);
    ended = followGuessedMain(s, tree, noteFamily);
  } else {
    s.main = start.main;
    if (start.main) {
      await s.lock!.update({ pid: start.main.pid });
      await s.log?.line(
        `${cfg.name}: main pid ${start.main.pid} (from ${cfg.options.mainPidfile})`,
      );
    }
    ended = forkingEnded(tree, s.main, noteFamily);
  }
  const pid = s.main?.pid ?? (start.guessed ? null : tree.pid);
  if (run.awaited) {
    const ready = await awaitForkingReady(s, tree, { pid: pid ?? tree.pid, ended, ...run });
    if (ready !== "ready") return ready === "stopped";
  }
  await s.save({ phase: "running", ...(s.main ? { mainPid: s.main.pid } : {}) });
  if (first) {
    const unknown = pid === null ? { mainUnknown: s.state.mainUnknown ?? 0 } : {};
    await s.report({ ok: true, pid, supervisorPid: Deno.pid, ...unknown });
  }
  await Promise.race([ended, s.woken]);
  if (s.stopping || s.restartRequest) return true;
  await s.log?.line(
    start.main && !start.guessed
      ? `${cfg.name}: main pid ${start.main.pid} exited`
      : `${cfg.name}: its last process exited`,
  );
  // Unknown exit status (not our child): counts as a failure for --restart on-failure.
  s.lastExit = { success: false, code: null, signal: null };
  // The rest of the tree goes before any restart: an old worker must not
  // hold the port against a new main process.
  await stopForking(s, tree, cfg.options.retry);
  await s.drain();
  s.recordExit(s.lastExit);
  s.tree = undefined;
  s.main = undefined;
  return true;
}

/**
 * The guessed main process (forking.ts) becomes the service's: PID file,
 * record and log; none guessed, the PID file is emptied (it must never
 * name the leader that exited) and the record says how many processes run.
 */
async function setGuessedMain(s: SupervisorBase, guess: MainGuess): Promise<void> {
  const { name } = s.cfg;
  s.main = guess.main;
  if (guess.main) {
    await s.lock!.update({ pid: guess.main.pid }).catch(() => {});
    s.pidCleared = false;
    await s.log?.line(`${name}: main pid ${guess.main.pid} (guessed: the process its leader left)`);
    await s.save({ mainPid: guess.main.pid, mainUnknown: undefined });
    return;
  }
  await s.lock!.clear().catch(() => {});
  s.pidCleared = true;
  const n = guess.processes;
  await s.log?.line(`${name}: main process unknown (${n} process${n === 1 ? "" : "es"})`);
  await s.save({ mainPid: undefined, mainUnknown: n });
}

/**
 * Resolves when a forking service with a guessed main process has ended:
 * when its main process exits while others remain (a daemon that forked
 * twice: the guess was the middle process), the guess is made again; the
 * service ends when no process is left.
 */
async function followGuessedMain(
  s: SupervisorBase,
  tree: ProcessTree,
  onTick: () => void,
): Promise<void> {
  for (;;) {
    const was = s.main;
    await forkingEnded(tree, was, onTick);
    if (s.stopping || s.restartRequest || was === undefined) return;
    const again = guessMainProcess(tree);
    if (again.processes === 0) return;
    await s.log?.line(`${s.cfg.name}: main pid ${was.pid} exited; others remain`);
    await setGuessedMain(s, again);
  }
}

/**
 * The other readiness conditions of a `--forking` service (`--ready-tcp`,
 * `--ready-file`, `--ready-after`, `--ready-notify`, `--ready-fd`), once
 * its leader has exited 0: they must hold within what is left of
 * `--ready-timeout`, while the main process (or the tree) lives. On
 * failure the tree is stopped and `start` is told (`"failed"`).
 */
export async function awaitForkingReady(
  s: SupervisorBase,
  tree: ProcessTree,
  at: { pid: number; ended: Promise<void>; spawnedAtMs: number; readyFileBefore?: FileMark },
): Promise<"ready" | "stopped" | "failed"> {
  const { cfg } = s;
  const { options } = cfg;
  const health = s.health!;
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let unmet: string[] = [];
  const outcome = await waitReady(
    {
      afterMs: options.readyAfterMs ?? 0,
      tcp: options.readyTcp,
      file: options.readyFile,
      fileBefore: at.readyFileBefore,
      timeoutMs: Math.max(0, at.spawnedAtMs + timeoutMs - Date.now()),
      conditions: health.conditions(),
      extendedUntil: () => health.extendedUntil,
    },
    Promise.race([at.ended, s.woken]),
    { onTimeout: (missing) => unmet = missing },
  );
  if (s.stopping) return "stopped"; // the caller stops the tree and tells start
  if (outcome === "ready") return "ready";
  const error = outcome === "timeout"
    ? `not ready within ${formatDuration(timeoutMs)}: ${unmet.join("; ")}`
    : `main pid ${at.pid} exited during start-up`;
  await s.log?.line(`${cfg.name} failed to start: ${error}`);
  await stopForking(s, tree, cfg.options.retry).catch(() => {});
  await s.drain();
  s.tree = undefined;
  s.main = undefined;
  s.lastExit = { success: false, code: null, signal: null };
  s.recordExit(s.lastExit);
  await s.end("failed", `${cfg.name} ${error}`);
  await s.report({
    ok: false,
    error: `${cfg.name} ${error}`,
    reason: outcome === "timeout" ? "not-ready" : "exited",
    logTail: s.log ? await tailLines(s.log.path, LOG_TAIL_LINES) : [],
  });
  return "failed";
}

/** Stop a forking service's tree and its main process's family together. */
export async function stopForking(
  s: SupervisorBase,
  tree: ProcessTree,
  retry: string | RetryStep[],
): Promise<StopReport> {
  const spec = typeof retry === "string" ? retry : describeRetry(retry);
  if (s.main) { for (const t of family([s.main])) s.mainFamily.set(t.pid, t); }
  const known = [...s.mainFamily.values()];
  const [report, others] = await Promise.all([
    tree.stop({ retry }),
    known.length > 0 ? stopRoots(known, spec) : undefined,
  ]);
  if (others) report.survivors = [...new Set([...report.survivors, ...others.survivors])];
  return report;
}
