/**
 * Stop a named service and its whole process tree: what `pidkit stop NAME`
 * does.
 *
 * A service of the run directory's resident supervisor, or of a `pidkit
 * run` that records a control socket: ask it on its socket (the schedule
 * goes with the request). A supervisor of one service without one (0.1's,
 * 0.2's `run`): write the schedule into `DIR/NAME.ctl`, SIGTERM the
 * supervisor (the PID file's lock holder as the kernel reports it), wait
 * until the lock is free, then make sure the tree is empty. An orphaned tree
 * (its supervisor was killed): stop the recorded tree directly.
 *
 * @module
 */

import { requireOwnProc } from "../os/pid_namespace.ts";
import { PidkitError } from "../os/errors.ts";
import { formatDuration } from "../os/duration.ts";
import { delay } from "../os/delay.ts";
import {
  inspectService,
  isRunningPhase,
  recordedMain,
  type ServiceInfo,
} from "./inspect_service.ts";
import { askSupervisor } from "./supervisor_client.ts";
import { SupervisorError } from "./service_errors.ts";
import { resolveRunDir, servicePaths, validateName } from "./run_dir.ts";
import { findOpenFd, hasFileOpen, isProcessAlive } from "../os/proc.ts";
import { readServiceRecord, type ServiceRecord } from "./service_record.ts";
import {
  controlPath,
  readControl,
  removeControl,
  type StopAnswer,
  type StopResult,
  writeControl,
} from "./supervisor_protocol.ts";
// stop_schedule.ts, not process_tree.ts: the tree module is only needed for an orphaned tree.
import { DEFAULT_RETRY, parseRetry, type RetryStep, scheduleMs } from "../tree/stop_schedule.ts";
import { supervisorLockOf } from "../os/supervisor_lock.ts";
import { requireAllPermissions } from "../os/permissions.ts";

/**
 * What a stop did: what `pidkit stop --json` prints.
 *
 * @example
 * ```ts
 * import { stopService, type StopServiceResult } from "@pidkit/pidkit/service";
 * const r: StopServiceResult = await stopService("web");
 * if (r.survivors?.length) console.error(`still alive: ${r.survivors.join(", ")}`);
 * ```
 */
export interface StopServiceResult {
  /** The service name (the PID file for {@linkcode stopPidFile}). */
  name: string;
  /** `stopped`; `not-running` (nothing to stop); `stale` (a stale PID file: nothing signalled). */
  status: "stopped" | "not-running" | "stale";
  /** The service's main PID, when something was stopped. */
  pid?: number;
  /** The tree was orphaned (its supervisor was gone) and was stopped directly. */
  orphaned?: boolean;
  /** The last signal sent, e.g. `SIGTERM`. */
  lastSignal?: string;
  /** Every signal sent: name, ms after the stop began, how many processes. */
  signalsSent?: { signal: string; atMs: number; targets: number }[];
  /** How long the stop took, ms. */
  durationMs?: number;
  /** PIDs still alive when the schedule ran out (the stop failed when not empty). */
  survivors?: number[];
  /** What else to tell, e.g. why a PID file is stale. */
  note?: string;
}

/**
 * Progress of a stop, for a display: `begin` (the schedule, assumed to start
 * now), `signal` (a signal went out and the stop waits up to `timeoutMs`;
 * only reported for trees stopped directly: a supervisor follows the
 * schedule on its own), `end`.
 *
 * @example
 * ```ts
 * import { type ServiceStopProgress, stopService } from "@pidkit/pidkit/service";
 * const show = (e: ServiceStopProgress) => {
 *   if (e.kind === "begin") console.error(`stopping ${e.name}: ${e.steps.length} steps`);
 *   // Only for a tree stopped directly (orphaned): a supervisor follows the schedule itself.
 *   else if (e.kind === "signal") console.error(`${e.signal} sent`);
 *   else console.error("stopped");
 * };
 * await stopService("web", { onProgress: show });
 * ```
 */
export type ServiceStopProgress =
  | { kind: "begin"; name: string; steps: RetryStep[] }
  | { kind: "signal"; signal: string; timeoutMs?: number }
  | { kind: "end" };

/**
 * Options of {@linkcode stopService}.
 *
 * @example
 * ```ts
 * import type { StopServiceOptions } from "@pidkit/pidkit/service";
 * const options: StopServiceOptions = { dir: "/tmp/pidkit-example", retry: "TERM/30/KILL/5" };
 * ```
 */
export interface StopServiceOptions {
  /** The run directory; default as {@linkcode resolveRunDir} finds it. */
  dir?: string;
  /**
   * The stop schedule, e.g. `"TERM/30/KILL/5"`; default the one the service
   * was started with, else `TERM/10/KILL/5`.
   */
  retry?: string;
  /** Called as the stop goes on (the CLI draws its progress line from it). */
  onProgress?: (event: ServiceStopProgress) => void;
  /**
   * How long to wait for the stop, in ms (`--timeout`); default the
   * schedule's total plus 10 s. A supervisor that does not take the request
   * within this (or 10 s) is reported ({@linkcode SupervisorError}), and it
   * drops the request if it reads it later.
   */
  timeout?: number;
}

/**
 * Stop service `name` and its whole process tree on the stop schedule and
 * return once the tree is empty and the PID file lock is free. A service
 * that is not running is not an error (`status: "not-running"`); a tree
 * whose supervisor was killed is stopped directly (`orphaned: true`).
 * Processes still alive when the schedule ran out are in `survivors`.
 *
 * Throws {@linkcode UsageError} for a bad name or schedule, and
 * {@linkcode PidkitError} when it cannot tell whether the service runs or
 * the supervisor did not let go in time. Needs `-A` (`/proc`).
 *
 * @example
 * ```ts
 * import { stopService } from "@pidkit/pidkit/service";
 *
 * const stopped = await stopService("web", { dir: "/tmp/pidkit-example", retry: "TERM/5/KILL/2" });
 * console.log(stopped.status, stopped.lastSignal, stopped.survivors);
 * ```
 */
export async function stopService(
  name: string,
  options: StopServiceOptions = {},
): Promise<StopServiceResult> {
  requireAllPermissions("stopService");
  if (options.retry !== undefined) parseRetry(options.retry);
  requireOwnProc(); // every PID stop signals comes from /proc
  validateName(name);
  const dir = resolveRunDir({ dir: options.dir });
  return await stopServiceIn(dir, name, options);
}

/**
 * Stop service `name` of run directory `dir` (already resolved and checked).
 *
 * @example
 * ```ts
 * import { stopServiceIn } from "./stop_service.ts";
 * console.log((await stopServiceIn("/tmp/pidkit-example", "web")).status);
 * ```
 */
export async function stopServiceIn(
  dir: string,
  name: string,
  options: {
    retry?: string;
    onProgress?: (event: ServiceStopProgress) => void;
    timeout?: number;
  } = {},
): Promise<StopServiceResult> {
  const info = await inspectService(dir, name);
  const state = info.record;
  const pidfile = state?.pidfile ?? servicePaths(dir, name).pidfile;
  const retry = options.retry ?? state?.options.retry ?? DEFAULT_RETRY;
  const progress = options.onProgress ?? (() => {});
  const verdict = info.verdict;
  if (verdict?.status === "running" && !verdict.locked && verdict.target) {
    // A daemon's own unlocked PID file in the run dir (no pidkit state).
    const { stopRoots } = await import("./_stop_foreign.ts");
    return { name, status: "stopped", ...await stopRoots([verdict.target], retry) };
  }
  switch (info.phase) {
    case "running":
    case "reloading":
    case "restarting":
    case "scheduled":
    case "starting":
    case "stopping":
      return await stopSupervised(dir, name, pidfile, retry, progress, info, options.timeout);
    case "orphaned":
      return await stopOrphan(name, dir, pidfile, retry, progress, orphanState(info, pidfile));
    case "unknown":
      throw new PidkitError(`cannot tell whether ${name} runs: ${info.error ?? "unknown error"}`);
    default:
      // No record and no PID file (deleted under a running supervisor): the
      // run directory's supervisor may still hold it; only it can tell.
      if (state === undefined && await heldBySupervisor(dir, name)) {
        return await stopThroughSupervisor(
          dir,
          name,
          pidfile,
          retry,
          progress,
          info,
          options.timeout,
        );
      }
      return { name, status: "not-running" };
  }
}

/** Whether the run directory's supervisor, if one listens, holds `name` (never launched). */
async function heldBySupervisor(dir: string, name: string): Promise<boolean> {
  try {
    const hello = await askSupervisor<{ services?: string[] }>(dir, { op: "hello" }, {
      launch: false,
      deadline: Date.now() + 5000,
    });
    return hello?.services?.includes(name) === true;
  } catch {
    return false; // none answers: nothing holds it
  }
}

async function stopSupervised(
  dir: string,
  name: string,
  pidfile: string,
  retry: string,
  progress: (event: ServiceStopProgress) => void,
  info: ServiceInfo,
  timeout?: number,
): Promise<StopServiceResult> {
  const { supervisorPid, record: state } = info;
  if (state?.supervisor.kind === "dir") {
    return await stopThroughSupervisor(dir, name, pidfile, retry, progress, info, timeout);
  }
  const socket = state?.supervisor.kind === "service" ? state.supervisor.socket : undefined;
  if (socket !== undefined) {
    // `pidkit run` from 0.3 on: asked on its own socket, so the schedule is
    // its own; one that does not answer is stopped the 0.1 way below.
    const stopped = await stopThroughRun(dir, name, socket, retry, progress, info, timeout);
    if (stopped) return stopped;
  }
  if (supervisorPid === undefined) {
    throw new PidkitError(`cannot find the process holding ${pidfile} (is /proc mounted?)`);
  }
  // Only the supervisor of this one service (`pidkit run`) may get SIGTERM:
  // never a run directory's resident supervisor, which holds every service
  // of its directory (its record not written yet, unreadable or garbage).
  const holder = supervisorLockOf(supervisorPid);
  if (typeof holder === "object" && sameDir(holder.dir, dir)) {
    return await stopThroughSupervisor(dir, name, pidfile, retry, progress, info, timeout);
  }
  if (typeof holder === "object") {
    throw new PidkitError(
      `${pidfile} is held by pid ${supervisorPid}, the supervisor of ${holder.dir}, for a service ` +
        `pidkit cannot name; nothing signalled (stop it with --dir ${holder.dir})`,
    );
  }
  const why = holder === "unknown"
    ? `cannot tell whether pid ${supervisorPid} (holding ${pidfile}) is a run directory's supervisor`
    : state === undefined
    ? `${pidfile} is held by pid ${supervisorPid} but ${name}'s record ${
      info.error ? `cannot be read (${info.error})` : "is missing"
    }`
    : state.supervisor.pid !== supervisorPid
    ? `${pidfile} is held by pid ${supervisorPid}, not by ${name}'s recorded supervisor pid ${state.supervisor.pid}`
    : undefined;
  if (why !== undefined) throw new PidkitError(`${why}; nothing signalled`);
  // A supervisor of one service (`pidkit run`, or 0.1's): rare, so its
  // modules load only here, not on every stop's start-up.
  const [{ signalProcess }, { waitForRelease }] = await Promise.all([
    import("../os/pidfd.ts"),
    import("../lock/probe.ts"),
  ]);
  const control = controlPath(dir, name);
  const steps = parseRetry(retry);
  const t0 = performance.now();
  await writeControl(control, { retry, requestedBy: Deno.pid, at: new Date().toISOString() });
  // Through a pidfd, checked once open to still hold the PID file: a
  // supervisor that just exited and whose PID was reused is never hit.
  // "gone": it just exited; the lock tells.
  signalProcess({ pid: supervisorPid }, "SIGTERM", () => holdsFile(supervisorPid, pidfile));
  progress({ kind: "begin", name, steps });
  const limit = timeout ?? scheduleMs(steps) + 10_000;
  let released: boolean;
  try {
    released = await waitForRelease(pidfile, {
      ...(Number.isFinite(limit) ? { timeout: limit } : {}),
    });
  } finally {
    progress({ kind: "end" });
  }
  if (released && info.pidfileLost && state) {
    // The PID file was deleted under the supervisor: its lock cannot tell
    // when it is done. Wait for the supervisor itself (same PID and start time).
    const until = Date.now() + limit;
    while (isProcessAlive(state.supervisor.pid, state.supervisor.startTime) && Date.now() < until) {
      await delay(10);
    }
    released = !isProcessAlive(state.supervisor.pid, state.supervisor.startTime);
  }
  const durationMs = performance.now() - t0;
  if (!released) {
    throw new PidkitError(
      `${name} did not stop within ${
        formatDuration(limit)
      }: supervisor pid ${supervisorPid} still holds ${pidfile}`,
    );
  }
  const result = await readControl(control);
  await removeControl(control);
  const report = result && "signalsSent" in result ? result as StopResult : undefined;
  // The supervisor releases the lock only after the tree is empty, and then
  // reports. Without a report it may have been killed meanwhile, leaving the
  // tree alive: stop it directly.
  if (report === undefined) {
    // A tree spawned but not yet recorded when the supervisor died shows as orphaned.
    const again = await inspectService(dir, name).catch(() => undefined);
    if (again?.phase === "orphaned" && again.record?.tree) {
      return await stopOrphan(name, dir, pidfile, retry, progress, again.record, durationMs);
    }
    const latest = (await readServiceRecord(servicePaths(dir, name).state).catch(() =>
      undefined
    )) ??
      state;
    const tree = latest?.tree ?? state?.tree;
    const orphan = tree ? await tryAttach(tree) : undefined;
    if (orphan && orphan.members().length > 0) {
      return await stopOrphan(name, dir, pidfile, retry, progress, latest!, durationMs);
    }
  }
  return stoppedResult(name, report, info.pid, durationMs);
}

/**
 * Ask the resident supervisor to stop `name`. Never SIGTERM: that would end
 * every service it holds.
 */
async function stopThroughSupervisor(
  dir: string,
  name: string,
  pidfile: string,
  retry: string,
  progress: (event: ServiceStopProgress) => void,
  info: ServiceInfo,
  timeout?: number,
): Promise<StopServiceResult> {
  const t0 = performance.now();
  const steps = parseRetry(retry);
  const limit = timeout ?? scheduleMs(steps) + 10_000; // as for a supervisor of one service
  progress({ kind: "begin", name, steps });
  let answer: StopAnswer | undefined;
  let orphan: ServiceRecord | undefined;
  try {
    // Its supervisor may be killed meanwhile and the service adopted by a
    // new one (or found orphaned): ask again, a few times.
    for (let attempt = 0;; attempt++) {
      answer = await askStop(dir, name, retry, limit);
      if (answer?.timedOut) {
        throw new PidkitError(`${name} did not stop within ${formatDuration(limit)}`);
      }
      if (answer?.held === true) break;
      // Not held (any more): it ended meanwhile, or its supervisor was killed.
      const again = await inspectService(dir, name).catch(() => undefined);
      if (again?.phase === "orphaned" && again.record?.tree) {
        orphan = again.record;
        break;
      }
      if (again === undefined || !isRunningPhase(again.phase)) {
        return { name, status: "not-running" };
      }
      // No record (not written yet, or unreadable) but the lock held by the
      // directory's supervisor: it is the one to ask, again.
      const bySupervisor = again.record?.supervisor.kind === "dir" ||
        (again.supervisorPid !== undefined && isSupervisorOf(again.supervisorPid, dir));
      if (attempt >= 5 || !bySupervisor) {
        throw new PidkitError(
          `${name} runs (${again.phase}) but the supervisor of ${dir} ${
            answer === undefined ? "did not answer" : "does not hold it"
          }; try again`,
        );
      }
      await delay(100 * (attempt + 1));
    }
  } finally {
    progress({ kind: "end" });
  }
  // Stopped directly, with progress of its own.
  if (orphan) {
    return await stopOrphan(name, dir, pidfile, retry, progress, orphan, performance.now() - t0);
  }
  return stoppedResult(name, answer!.result, info.pid, performance.now() - t0);
}

/**
 * Ask `pidkit run` to stop `name` on `retry` on its control socket;
 * `undefined` when it does not answer (it exited meanwhile, or is a run
 * whose socket is gone): the caller goes on the 0.1 way.
 */
async function stopThroughRun(
  dir: string,
  name: string,
  socket: string,
  retry: string,
  progress: (event: ServiceStopProgress) => void,
  info: ServiceInfo,
  timeout?: number,
): Promise<StopServiceResult | undefined> {
  const t0 = performance.now();
  const steps = parseRetry(retry);
  const limit = timeout ?? scheduleMs(steps) + 10_000;
  progress({ kind: "begin", name, steps });
  let answer: StopAnswer | undefined;
  try {
    answer = await askStop(dir, name, retry, limit, socket);
  } finally {
    progress({ kind: "end" });
  }
  if (answer?.timedOut) {
    throw new PidkitError(`${name} did not stop within ${formatDuration(limit)}`);
  }
  if (answer?.held !== true) return undefined;
  return stoppedResult(name, answer.result, info.pid, performance.now() - t0);
}

/**
 * One stop request; `undefined` when the supervisor went away before it
 * answered. A refusal, or no answer in time, is thrown
 * ({@linkcode SupervisorError}): asking again would not help.
 */
async function askStop(
  dir: string,
  name: string,
  retry: string,
  limit: number,
  socket?: string,
): Promise<StopAnswer | undefined> {
  try {
    return await askSupervisor<StopAnswer>(
      dir,
      {
        op: "stop",
        name,
        retry,
        requestedBy: Deno.pid,
        // A moment before the command's own limit, so its `timedOut` comes first.
        ...(Number.isFinite(limit) ? { timeoutMs: limit - Math.min(2000, limit / 5) } : {}),
      },
      { launch: false, deadline: Date.now() + limit, ...(socket ? { socket } : {}) },
    );
  } catch (err) {
    if (err instanceof SupervisorError) throw err;
    return undefined; // it died meanwhile: what it left decides
  }
}

async function tryAttach(ref: NonNullable<ServiceRecord["tree"]>) {
  const { attachTree } = await import("../tree/process_tree.ts");
  try {
    return attachTree(ref);
  } catch {
    return undefined;
  }
}

async function stopOrphan(
  name: string,
  dir: string,
  pidfile: string,
  retry: string,
  progress: (event: ServiceStopProgress) => void,
  state: ServiceRecord,
  elapsedMs = 0,
): Promise<StopServiceResult> {
  const tree = await tryAttach(state.tree!);
  if (tree === undefined) return { name, status: "not-running" };
  // Hold its lock while stopping it: a supervisor starting meanwhile must not
  // adopt (and maybe restart) what is being stopped. Taken already: one did.
  const { PidFile } = await import("../lock/pid_file.ts");
  let lock;
  try {
    lock = await PidFile.acquire(pidfile, { removeOnExit: false, pid: tree.pid });
  } catch {
    const again = await inspectService(dir, name);
    if (again.phase === "orphaned") throw new PidkitError(`cannot lock ${pidfile} to stop ${name}`);
    return await stopServiceIn(dir, name, { retry, onProgress: progress });
  }
  // Its supervisor may have been killed in the middle of this very stop: go
  // on with the schedule where it stands, not from the start again.
  // Loaded only for an orphan (rare): not on every stop's start-up.
  const { noteOrphanStop, remainingSteps } = await import("./_orphan_stop.ts");
  const steps = remainingSteps(parseRetry(retry), elapsedMs);
  const done = await noteOrphanStop(servicePaths(dir, name).state, state);
  const pid = recordedMain(state, state.tree); // before the stop: it must be alive
  progress({ kind: "begin", name, steps });
  let report;
  try {
    report = await tree.stop({
      retry: steps,
      onProgress: (e) => progress({ kind: "signal", signal: e.signal, timeoutMs: e.timeoutMs }),
    });
  } finally {
    progress({ kind: "end" });
  }
  await done({
    lastSignal: report.signalsSent.at(-1)?.signal,
    durationMs: report.durationMs,
    survivors: report.survivors,
  });
  await lock.release().catch(() => {});
  await removeOutputFifo(servicePaths(dir, name).output);
  return {
    name,
    status: "stopped",
    pid,
    orphaned: true,
    lastSignal: report.signalsSent.at(-1)?.signal,
    signalsSent: report.signalsSent,
    durationMs: report.durationMs,
    survivors: report.survivors,
  };
}

/** A stop its supervisor carried out: what its report says (the record's PID without one). */
function stoppedResult(
  name: string,
  report: StopResult | undefined,
  pid: number | undefined,
  durationMs: number,
): StopServiceResult {
  return {
    name,
    status: "stopped",
    pid: report ? report.pid : pid,
    lastSignal: report?.signalsSent.at(-1)?.signal,
    signalsSent: report?.signalsSent,
    durationMs,
    survivors: report?.survivors ?? [],
  };
}

/** Remove the output FIFO a killed supervisor left (only a FIFO: nothing else at the path). */
async function removeOutputFifo(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isFifo) await Deno.remove(path);
  } catch { /* gone already */ }
}

/** Whether process `pid` is the resident supervisor of run directory `dir`. */
function isSupervisorOf(pid: number, dir: string): boolean {
  const held = supervisorLockOf(pid);
  return typeof held === "object" && sameDir(held.dir, dir);
}

/** Whether two paths name the same directory (same device and inode). */
function sameDir(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const x = Deno.statSync(a);
    const y = Deno.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** Whether process `pid` has `path` open (the lock holder does; a lost file counts too). */
function holdsFile(pid: number, path: string): boolean {
  try {
    const st = Deno.statSync(path);
    if (hasFileOpen(pid, st.dev, st.ino!)) return true;
  } catch { /* deleted under it: see below */ }
  return findOpenFd(pid, (fd) => {
    const link = fd.link();
    return link === path || link === `${path} (deleted)`;
  }).found !== undefined;
}

/**
 * The record of an orphan to stop: the one read, or, for a tree found by its
 * marker beside a record that cannot be read, one naming that tree only.
 */
function orphanState(info: ServiceInfo, pidfile: string): ServiceRecord {
  if (info.record?.tree) return info.record;
  const tree = info.marked!;
  const now = new Date().toISOString();
  return {
    version: 2,
    name: info.name,
    phase: "running",
    supervisor: { pid: tree.pid, startTime: 0 },
    tree,
    command: [],
    cwd: "/",
    env: {},
    options: {
      restart: "no",
      maxRestarts: 0,
      restartDelayMs: 0,
      retry: DEFAULT_RETRY,
      tracking: tree.tracking,
    },
    pidfile,
    log: "-",
    restarts: 0,
    createdAt: now,
    updatedAt: now,
  };
}
