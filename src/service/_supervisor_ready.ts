/**
 * Readiness under a supervisor: the wait of a start someone is told of
 * (`start`, a restart in place of `pidkit run`), and the deadline and the
 * watchdog's arming for the starts nobody waits for (restarts, `run`).
 *
 * @module
 */

import { formatDuration } from "../os/duration.ts";
import type { ProcessTree } from "../tree/process_tree.ts";
import { type FileMark, READY_TIMEOUT_MS, waitReady } from "./readiness.ts";
import { tailLines } from "./log_sink.ts";
import { describeExit, LOG_TAIL_LINES, type SupervisorBase } from "./_supervisor_base.ts";

/** What these functions need of a supervisor (supervisor.ts's ServiceSupervisor). */
export type ServiceSupervisor = SupervisorBase & {
  /** Stop the running tree on the requested schedule. */
  stopTree(): Promise<void>;
  /** The leader exited: end the rest of its tree, record the exit. */
  finish(tree: ProcessTree): Promise<void>;
};

/**
 * Once the service's own readiness conditions (READY=1, the notification
 * fd) hold: arm the watchdog, and a restarted tree is running. `start`
 * times the first start itself (awaitReady); restarts and `run` are
 * timed here: not ready within --ready-timeout is a failure.
 */
export function armWhenReady(
  s: ServiceSupervisor,
  tree: ProcessTree,
  first: boolean,
  awaited: boolean,
): void {
  const health = s.health!;
  const conditions = health.conditions();
  const ready = Promise.all(conditions.map((c) => c.ready));
  void ready.then(async () => {
    if (s.tree !== tree || s.stopping) return;
    health.markReady();
    if (!first && s.state.phase === "starting") {
      await s.save({ phase: "running", ...health.flushStatus() });
    }
  });
  if (conditions.length > 0 && !awaited) {
    void readyDeadline(s, tree, conditions);
  }
}

/** Stop `tree` as failed when its conditions do not all hold within --ready-timeout. */
async function readyDeadline(
  s: ServiceSupervisor,
  tree: ProcessTree,
  conditions: { what: string; ready: Promise<void> }[],
): Promise<void> {
  const timeoutMs = s.cfg.options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const started = Date.now();
  const held = conditions.map(() => false);
  conditions.forEach((c, i) => c.ready.then(() => held[i] = true));
  let exited = false;
  const exit = tree.status.then(() => exited = true, () => exited = true);
  const all = Promise.all(conditions.map((c) => c.ready));
  while (!held.every((h) => h) && !exited && s.tree === tree && !s.stopping) {
    const left = Math.max(started + timeoutMs, s.health!.extendedUntil) - Date.now();
    if (left < 0) {
      const unmet = conditions.filter((_, i) => !held[i]).map((c) => c.what).join("; ");
      await s.log?.line(
        `${s.cfg.name} (pid ${tree.pid}) not ready within ${formatDuration(timeoutMs)}: ${unmet}`,
      );
      s.forcedFailure = true;
      await tree.stop({ retry: s.cfg.options.retry }).catch(() => {});
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      all,
      exit,
      new Promise((r) => timer = setTimeout(r, Math.min(left + 1, 1000))),
    ]);
    clearTimeout(timer);
  }
}

/** Wait for readiness on the first start; report to `start`. False: give up. */
export async function awaitReady(
  s: ServiceSupervisor,
  tree: ProcessTree,
  fileBefore: FileMark | undefined,
): Promise<boolean> {
  const { options } = s.cfg;
  let unmet: string[] = [];
  const health = s.health!;
  const outcome = await waitReady(
    {
      afterMs: options.readyAfterMs,
      tcp: options.readyTcp,
      file: options.readyFile,
      fileBefore,
      timeoutMs: options.readyTimeoutMs,
      conditions: health.conditions(),
      extendedUntil: () => health.extendedUntil,
    },
    Promise.race([tree.status, s.woken]),
    { onTimeout: (missing) => unmet = missing },
  );
  if (outcome === "ready" && !s.stopping) {
    // A service that already said it is stopping or reloading keeps that phase.
    const phase = s.state.phase === "starting" ? "running" : s.state.phase;
    await s.save({ phase, ...health.flushStatus() });
    await s.report({ ok: true, pid: tree.pid, supervisorPid: Deno.pid });
    return true;
  }
  if (s.stopping) {
    await s.stopTree();
    await s.end("stopped");
    await s.report({
      ok: false,
      error: `${s.cfg.name} was stopped during start-up`,
      reason: "stopped",
    });
    return false;
  }
  if (outcome === "timeout") {
    const within = formatDuration(options.readyTimeoutMs ?? READY_TIMEOUT_MS);
    await s.log?.line(`${s.cfg.name} not ready within ${within}: ${unmet.join("; ")}`);
    await s.stopTree();
    const error = `${s.cfg.name} not ready within ${within}: ${unmet.join("; ")}`;
    await s.end("failed", error);
    await s.report({
      ok: false,
      error,
      reason: "not-ready",
      logTail: s.log ? await tailLines(s.log.path, LOG_TAIL_LINES) : [],
    });
    return false;
  }
  await s.finish(tree);
  const exit = s.lastExit!;
  // One rule: an exit before the service was ready is a failed start.
  const error = `${s.cfg.name} exited during start-up with ${describeExit(exit)}`;
  await s.end("failed", error);
  await s.report({
    ok: false,
    error,
    reason: "exited",
    exit: { code: exit.code, signal: exit.signal },
    logTail: s.log ? await tailLines(s.log.path, LOG_TAIL_LINES) : [],
  });
  return false;
}
