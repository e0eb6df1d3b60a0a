/**
 * The part of `pidkit stop NAME` for a service that no supervisor said it
 * holds (see stop_service.ts): the service is inspected once, and what is
 * found decides.
 *
 * - Its lock held by the run directory's supervisor after all (it adopted
 *   the service meanwhile): asked once more.
 * - Held by a supervisor of one service that takes no request: 0.2's
 *   `pidkit run` (record version 2, no socket) gets SIGTERM and stops on its
 *   own schedule; a 0.1 supervisor (record version 1) is told the schedule
 *   in the 0.1 control file first (legacy_control_file.ts). Either way the
 *   stop waits for that process to exit, on its pidfd.
 * - An orphaned tree (its supervisor was killed): stopped here, holding its
 *   PID file's lock, the schedule going on where a killed supervisor left
 *   it. If the lock cannot be taken, a supervisor adopted the tree: it is
 *   asked; this never starts the whole stop again.
 * - A daemon's own unlocked PID file in the run directory: its verified
 *   main process and descendants.
 *
 * @module
 */

import { AlreadyRunningError, PidkitError } from "../../os/errors.ts";
import { formatDuration } from "../../os/duration.ts";
import { inspectService, recordedMain, type ServiceInfo } from "../inspect/inspect_service.ts";
import { servicePaths } from "../model/run_dir.ts";
import { findOpenFd, hasFileOpen } from "../../os/proc.ts";
import { readServiceRecord, type ServiceRecord } from "../model/service_record.ts";
import { DEFAULT_RETRY, parseRetry, type RetryStep, scheduleMs } from "../../tree/stop_schedule.ts";
import { supervisorLockOf } from "../../os/supervisor_lock.ts";
import {
  askHolder,
  type ServiceStopProgress,
  type StopInOptions,
  stoppedResult,
  type StopServiceResult,
} from "../control/ask_stop.ts";
import { STOP_MARGIN_MS } from "../control/serve_stop.ts";

/**
 * Stop service `name` of `dir`, which no supervisor said it holds; `t0`
 * (`performance.now()`) is when the stop began, `askedAway` whether a
 * supervisor took the request and went away before answering (killed in
 * the middle of the stop: an orphan's schedule goes on from there).
 *
 * @example
 * ```ts
 * import { stopUnheld } from "./_stop_unheld.ts";
 * console.log((await stopUnheld("/tmp/pidkit-example", "web", {}, performance.now())).status);
 * ```
 */
export async function stopUnheld(
  dir: string,
  name: string,
  options: StopInOptions,
  t0: number,
  askedAway = false,
  round = 0,
): Promise<StopServiceResult> {
  const info = await inspectService(dir, name);
  const pidfile = info.record?.pidfile ?? servicePaths(dir, name).pidfile;
  const verdict = info.verdict;
  if (verdict?.status === "running" && !verdict.locked && verdict.target) {
    // A daemon's own unlocked PID file in the run dir (no pidkit state).
    const { stopRoots } = await import("../pidfile/_stop_foreign.ts");
    const retry = options.schedule?.steps ?? DEFAULT_RETRY;
    return { name, status: "stopped", ...await stopRoots([verdict.target], retry) };
  }
  switch (info.phase) {
    case "running":
    case "reloading":
    case "restarting":
    case "scheduled":
    case "starting":
    case "stopping":
      return await stopHeldElsewise(dir, name, pidfile, info, options, { t0, askedAway, round });
    case "orphaned": {
      const elapsed = askedAway ? performance.now() - t0 : 0;
      const record = orphanRecord(info, pidfile);
      return await stopOrphan(dir, name, pidfile, record, options, elapsed, {
        t0,
        askedAway,
        round,
      });
    }
    case "unknown":
      throw new PidkitError(`cannot tell whether ${name} runs: ${info.error ?? "unknown error"}`);
    default:
      return { name, status: "not-running" };
  }
}

/**
 * How often a stop looks again after the holder it found let go in the
 * meantime (a supervisor killed while its lock was being released, a
 * concurrent stop or restart that ended the service between the look and
 * the ask). Each look follows an event (an answer, the lock's release),
 * never a guessed sleep; a service that changes hands this often is reported.
 */
const MAX_LOOKS = 8;

/** How long to wait for a PID file's lock that no supervisor answers for to come free. */
const HOLDER_EXIT_MS = 5000;

/** Where a stop is: when it began, whether a supervisor took it and went away, how often it looked. */
interface Pass {
  t0: number;
  askedAway?: boolean;
  round: number;
}

/** Its lock is held, by a process that did not answer as its holder. */
async function stopHeldElsewise(
  dir: string,
  name: string,
  pidfile: string,
  info: ServiceInfo,
  options: StopInOptions,
  pass: Pass,
): Promise<StopServiceResult> {
  const { t0 } = pass;
  const { supervisorPid, record: state } = info;
  // Only the supervisor of this one service (`pidkit run`) may get SIGTERM:
  // never a run directory's resident supervisor, which holds every service
  // of its directory (its record not written yet, unreadable or garbage).
  const holder = supervisorPid === undefined ? "none" : supervisorLockOf(supervisorPid);
  if (
    state?.supervisor.kind === "dir" || (typeof holder === "object" && sameDir(holder.dir, dir))
  ) {
    // The directory's supervisor holds it but did not say so when asked: it
    // took it meanwhile (adopted it, or was starting). Asked once more.
    const seen = { away: false, answered: false };
    const held = await askHolder(dir, name, options, seen);
    if (held !== undefined) return stoppedResult(name, held, performance.now() - t0, info.pid);
    // Nobody holds it now: the holder let go meanwhile (a concurrent stop
    // ended it), or it is dying (killed: its socket is gone, its locks go
    // with its last thread). Look again once its lock is free.
    return await lookAgain(dir, name, options, pass, {
      ...seen,
      why: `${name} runs (${info.phase}) but the supervisor of ${dir} does not hold it`,
    });
  }
  if (supervisorPid === undefined) {
    throw new PidkitError(`cannot find the process holding ${pidfile} (is /proc mounted?)`);
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
  return await stopBySignal(dir, name, pidfile, info, state!, options);
}

/**
 * A supervisor of one service that takes no request (0.2's `pidkit run`,
 * 0.1's supervisors; or a later run whose socket is gone): SIGTERM, through
 * a pidfd opened before it is checked to hold the PID file, then wait for it
 * to exit on that pidfd (it exits once its tree is empty and its lock
 * released).
 */
async function stopBySignal(
  dir: string,
  name: string,
  pidfile: string,
  info: ServiceInfo,
  state: ServiceRecord,
  options: StopInOptions,
): Promise<StopServiceResult> {
  const pid = state.supervisor.pid;
  const of01 = state.version === 1;
  // Only 0.1 reads a schedule (its control file); the others stop on their own.
  const own = !of01 || options.schedule === undefined;
  const spec = own ? state.options.retry ?? DEFAULT_RETRY : options.schedule!.spec;
  const steps = own ? parseRetry(spec) : options.schedule!.steps;
  const limit = options.timeout ?? scheduleMs(steps) + STOP_MARGIN_MS;
  const [{ Pidfd, signalProcess }, control] = await Promise.all([
    import("../../os/pidfd.ts"),
    of01 ? import("../control/legacy_control_file.ts") : undefined,
  ]);
  const ctl = control?.controlPath(dir, name);
  if (ctl) await control!.writeControl(ctl, { retry: spec, requestedBy: Deno.pid, at: now() });
  const progress = options.onProgress ?? (() => {});
  const t0 = performance.now();
  progress({ kind: "begin", name, steps });
  let exited: boolean;
  try {
    const fd = Pidfd.open(pid);
    if (fd instanceof Pidfd) {
      try {
        // "gone" when it exits meanwhile: its exit is what is waited for anyway.
        if (holdsFile(pid, pidfile)) fd.signal("SIGTERM");
        exited = await fd.waitExit(limit);
      } finally {
        fd.close();
      }
    } else if (fd === "gone") {
      exited = true;
    } else {
      // No pidfds (an old kernel): the same checks, then the lock's release.
      signalProcess({ pid }, "SIGTERM", () => holdsFile(pid, pidfile));
      const { waitForRelease } = await import("../../lock/probe.ts");
      exited = await waitForRelease(pidfile, Number.isFinite(limit) ? { timeout: limit } : {});
    }
  } finally {
    progress({ kind: "end" });
  }
  const durationMs = performance.now() - t0;
  if (!exited) {
    throw new PidkitError(
      `${name} did not stop within ${
        formatDuration(limit)
      }: supervisor pid ${pid} still holds ${pidfile}`,
    );
  }
  const report = ctl ? await control!.takeControlResult(ctl) : undefined;
  if (report === undefined) {
    // No report (0.2's run writes none; a 0.1 supervisor killed meanwhile
    // wrote none): a tree it left is stopped directly.
    const latest = await readServiceRecord(servicePaths(dir, name).state).catch(() => undefined);
    const tree = latest?.tree ?? state.tree;
    const left = tree ? await tryAttach(tree) : undefined;
    if (left && left.members().length > 0) {
      const record = { ...(latest ?? state), tree: tree! };
      return await stopOrphan(dir, name, pidfile, record, options, durationMs);
    }
  }
  const result = stoppedResult(name, report, durationMs, info.pid);
  if (!own || options.schedule === undefined) return result;
  const why = state.supervisor.socket
    ? "its pidkit run did not answer on its socket"
    : "a pidkit run of 0.2 takes no --retry";
  return { ...result, note: `${why}: it stopped on its own schedule, ${spec}` };
}

async function tryAttach(ref: NonNullable<ServiceRecord["tree"]>, mainLives = false) {
  const { attachTree, checkTreeRef, ProcessTree } = await import("../../tree/process_tree.ts");
  try {
    return attachTree(ref);
  } catch {
    if (!mainLives) return undefined;
  }
  // Nothing of the tree left that its tier sees, but its main process runs.
  try {
    checkTreeRef(ref);
    return new ProcessTree(ref);
  } catch {
    return undefined;
  }
}

/**
 * Stop the orphaned tree of `state` directly, holding its PID file's lock
 * meanwhile: a supervisor starting meanwhile must not adopt (and maybe
 * restart) what is being stopped. `elapsedMs`: how far into the schedule a
 * killed supervisor got. When the lock is taken already (a supervisor
 * adopted the tree since it was inspected), the holder is asked; the stop
 * never starts over.
 *
 * @example
 * ```ts
 * import { stopOrphan } from "./_stop_unheld.ts";
 * import { readServiceRecord } from "../model/service_record.ts";
 * const state = await readServiceRecord("/tmp/pidkit-example/web.json");
 * if (state?.tree) {
 *   console.log(await stopOrphan("/tmp/pidkit-example", "web", state.pidfile, state, {}, 0));
 * }
 * ```
 */
export async function stopOrphan(
  dir: string,
  name: string,
  pidfile: string,
  state: ServiceRecord,
  options: StopInOptions,
  elapsedMs: number,
  pass: Pass = { t0: performance.now(), round: 0 },
): Promise<StopServiceResult> {
  // A --forking service's main process, by its recorded PID and start time
  // (the group tier does not see a daemon that left the session and cleared
  // its environment): stopped with the tree.
  const main = state.options?.forking && state.mainStartTime !== undefined
    ? (await import("../inspect/recorded_main.ts")).recordedMainProcess(state)
    : undefined;
  const tree = await tryAttach(state.tree!, main !== undefined);
  if (tree === undefined) return { name, status: "not-running" };
  const { PidFile } = await import("../../lock/pid_file.ts");
  let lock;
  try {
    lock = await PidFile.acquire(pidfile, { removeOnExit: false, pid: tree.pid });
  } catch (err) {
    // Taken already: a supervisor adopted it (asked), or the killed one's
    // lock had not gone yet (looked at again once its holder exited).
    const seen = { away: false, answered: false };
    const held = await askHolder(dir, name, options, seen);
    if (held !== undefined) return stoppedResult(name, held, performance.now() - pass.t0);
    if (!(err instanceof AlreadyRunningError)) throw err;
    return await lookAgain(dir, name, options, pass, {
      ...seen,
      why: `cannot lock ${pidfile} to stop ${name}: another process holds it`,
    });
  }
  // Loaded only for an orphan (rare): not on every stop's start-up.
  const { noteOrphanStop, remainingSteps } = await import("./_orphan_stop.ts");
  const asked = options.schedule?.steps ?? parseRetry(state.options.retry ?? DEFAULT_RETRY);
  const steps: RetryStep[] = remainingSteps(asked, elapsedMs);
  const done = await noteOrphanStop(servicePaths(dir, name).state, state);
  const pid = recordedMain(state, state.tree); // before the stop: it must be alive
  const progress: (e: ServiceStopProgress) => void = options.onProgress ?? (() => {});
  progress({ kind: "begin", name, steps });
  let report;
  try {
    const { stopRoots } = await import("../../tree/process_family.ts");
    const [stopped, others] = await Promise.all([
      tree.stop({
        retry: steps,
        onProgress: (e) => progress({ kind: "signal", signal: e.signal, timeoutMs: e.timeoutMs }),
      }),
      main ? stopRoots([main], steps) : undefined,
    ]);
    report = stopped;
    if (others) report.survivors = [...new Set([...report.survivors, ...others.survivors])];
  } finally {
    progress({ kind: "end" });
  }
  const lastSignal = report.signalsSent.at(-1)?.signal;
  await done({ lastSignal, durationMs: report.durationMs, survivors: report.survivors });
  await lock.release().catch(() => {});
  await removeOutputFifo(servicePaths(dir, name).output);
  return {
    name,
    status: "stopped",
    pid,
    orphaned: true,
    lastSignal,
    signalsSent: report.signalsSent,
    durationMs: report.durationMs,
    survivors: report.survivors,
  };
}

/**
 * The holder found did not stop the service: wait for the PID file's lock
 * to come free (its holder let go: a supervisor killed meanwhile, whose
 * locks go with its last thread, or a concurrent stop of the orphan that is
 * carrying it out), bounded, then inspect again and go on from what is
 * found then. A directory's supervisor that answered it does not hold the
 * service while it holds the lock took it since it was asked (a start):
 * looked at again at once. Gives up with `why` after {@linkcode MAX_LOOKS}.
 */
async function lookAgain(
  dir: string,
  name: string,
  options: StopInOptions,
  pass: Pass,
  found: { away: boolean; answered: boolean; why: string },
): Promise<StopServiceResult> {
  if (pass.round + 1 >= MAX_LOOKS) {
    throw new PidkitError(`${found.why} (it changed hands ${MAX_LOOKS} times); try again`);
  }
  const { probe, waitForRelease } = await import("../../lock/probe.ts");
  const { pidfile } = servicePaths(dir, name);
  const now = await probe(pidfile).catch(() => undefined);
  const by = now?.status === "running" ? now.holderPid : undefined;
  const supervisor = by !== undefined && found.answered && isSupervisorOf(by, dir);
  if (now?.status === "running" && !supervisor) {
    await waitForRelease(pidfile, { timeout: HOLDER_EXIT_MS }).catch(() => false);
  }
  const away = pass.askedAway === true || found.away;
  return await stopUnheld(dir, name, options, pass.t0, away, pass.round + 1);
}

/** Whether process `pid` is the supervisor of run directory `dir`. */
function isSupervisorOf(pid: number, dir: string): boolean {
  const lock = supervisorLockOf(pid);
  return typeof lock === "object" && sameDir(lock.dir, dir);
}

/** Remove the output FIFO a killed supervisor left (only a FIFO: nothing else at the path). */
async function removeOutputFifo(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isFifo) await Deno.remove(path);
  } catch { /* gone already */ }
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

function now(): string {
  return new Date().toISOString();
}

/**
 * The record of an orphan to stop: the one read, or, for a tree found by its
 * marker beside a record that cannot be read, one naming that tree only.
 */
function orphanRecord(info: ServiceInfo, pidfile: string): ServiceRecord {
  if (info.record?.tree) return info.record;
  const tree = info.marked!;
  const at = now();
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
    createdAt: at,
    updatedAt: at,
  };
}
