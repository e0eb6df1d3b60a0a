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
import { awaitForkingStart, forkingEnded } from "./forking.ts";
import { family, stopRoots } from "../tree/process_family.ts";
import { describeRetry, LOG_TAIL_LINES, type SupervisorBase } from "./_supervisor_base.ts";

/**
 * A `--forking` service (src/service/forking.ts): its start-up, then its life as
 * long as its main process (or tree) lives; then the rest of the tree is
 * stopped, before the restart policy applies. False: the first start
 * failed (reported); `start` is told.
 */
export async function runForking(
  s: SupervisorBase,
  tree: ProcessTree,
  run: { first: boolean; spawnedAtMs: number; readyFileBefore?: FileMark },
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
    await s.end("failed");
    await s.report({
      ok: false,
      error: `${cfg.name} ${start.error}`,
      reason: start.exit ? "exited" : start.notReady ? "not-ready" : "failed",
      ...(start.exit ? { exit: { code: start.exit.code, signal: start.exit.signal } } : {}),
      logTail: s.log ? await tailLines(s.log.path, LOG_TAIL_LINES) : [],
    });
    return false;
  }
  s.main = start.main;
  s.mainFamily = new Map();
  const pid = start.main?.pid ?? tree.pid;
  if (start.main) {
    await s.lock!.update({ pid });
    await s.log?.line(`${cfg.name}: main pid ${pid} (from ${cfg.options.mainPidfile})`);
  }
  const noteFamily = () => {
    if (s.main) { for (const t of family([s.main])) s.mainFamily.set(t.pid, t); }
  };
  const ended = forkingEnded(tree, s.main, noteFamily);
  if (first && !s.opts.foreground) {
    const ready = await awaitForkingReady(s, tree, { pid, ended, ...run });
    if (ready !== "ready") return ready === "stopped";
  }
  await s.save({ phase: "running", ...(start.main ? { mainPid: pid } : {}) });
  if (first) await s.report({ ok: true, pid, supervisorPid: Deno.pid });
  await Promise.race([ended, s.woken]);
  if (s.stopping) return true;
  await s.log?.line(
    start.main ? `${cfg.name}: main pid ${pid} exited` : `${cfg.name}: its last process exited`,
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
  await s.end("failed");
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
