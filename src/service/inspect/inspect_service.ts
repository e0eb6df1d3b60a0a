/**
 * What a named service is doing ({@linkcode inspectService}) or the program
 * behind any PID file ({@linkcode inspectPidFile}): decided by the PID file
 * lock, cross-checked against the kernel, never signalling anything.
 *
 * Kept free of `node:` imports and loads the PID file and process-tree
 * modules only when the fast path cannot decide: `pidkit status` loads
 * this, and every module costs start-up time.
 *
 * @module
 */

import { PidFileError, PidkitError } from "../../os/errors.ts";
import { findOpenFd, isProcessAlive, readBootId, readProcStat } from "../../os/proc.ts";
import { readServiceRecordSync, type ServiceRecord } from "../model/service_record.ts";
import type { ProbeResult } from "../../lock/probe.ts";
import type { PidFileVerdict } from "../../lock/verify_pid_file.ts";
import type { IdentityOptions } from "../../os/process_identity.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import { parsePlainPid } from "../../lock/plain_pid.ts";
import { servicePaths } from "../model/run_dir.ts";
import { heldPhase, lostFilePhase } from "./implied_phase.ts";

/**
 * What a service is doing, as `status` reports it:
 * - `running`: the supervisor holds the PID file lock;
 * - `starting` / `stopping`: the lock is held and the supervisor says so;
 * - `restarting`: the lock is held and the supervisor waits to start the
 *   service again (restart back-off): no process runs meanwhile;
 * - `scheduled`: the lock is held and the supervisor waits for the next
 *   tick of a `--cron` task: no process runs meanwhile;
 * - `orphaned`: the lock is free (the supervisor is gone) but the recorded
 *   tree still lives (leader verified by start time, else other members);
 * - `stale`: a PID file with content, its lock free, nothing alive;
 * - `stopped` / `failed`: no PID file; the state says it stopped (or never
 *   existed) or gave up after too many restarts;
 * - `unknown`: cannot tell (permission denied, content that cannot be read).
 *
 * @example
 * ```ts
 * import { type ServicePhase, serviceStatus } from "@pidkit/pidkit/service";
 * const phase: ServicePhase = (await serviceStatus("web")).state;
 * console.log(phase === "running");
 * ```
 */
export type ServicePhase =
  | "running"
  | "reloading"
  | "starting"
  | "restarting"
  | "scheduled"
  | "stopping"
  | "orphaned"
  | "stale"
  | "stopped"
  | "failed"
  | "unknown";

/**
 * Whether a service in `phase` runs: its supervisor holds the lock
 * (running, starting, stopping) or its tree outlived the supervisor
 * (orphaned). What `status` exits 0 for, and what `wait` waits out.
 *
 * @example
 * ```ts
 * import { isRunningPhase } from "./inspect_service.ts";
 * console.log(isRunningPhase("orphaned"), isRunningPhase("stale")); // true false
 * ```
 */
export function isRunningPhase(phase: ServicePhase): boolean {
  return phase === "running" || phase === "starting" || phase === "stopping" ||
    phase === "orphaned" || phase === "reloading" || phase === "restarting" ||
    phase === "scheduled";
}

/** What {@linkcode inspectService} found out. */
export interface ServiceInfo {
  /** The service name (or the PID file path for {@linkcode inspectPidFile}). */
  name: string;
  /** The state, decided by the lock. */
  phase: ServicePhase;
  /** The service's main PID (the tree leader), when there is one. */
  pid?: number;
  /** The supervisor's PID (the lock holder as the kernel reports it, when held). */
  supervisorPid?: number;
  /** The state file, when there is a readable one. */
  record?: ServiceRecord;
  /** The PID file probe, when it could be done. */
  probe?: ProbeResult;
  /** Why the phase is `unknown`, or what else went wrong, as one line. */
  error?: string;
  /**
   * Set when a third party deleted or replaced the PID file while its
   * supervisor still runs (it still holds the lock on the unlinked file):
   * the service runs, but the PID file no longer says so.
   */
  pidfileLost?: boolean;
  /**
   * A live tree of the service found by its marker alone (its record is
   * stale, unreadable or gone): the service is `orphaned`.
   */
  marked?: TreeRef;
  /**
   * For a PID file without a pidkit state (a daemon's own, or `status
   * --pidfile`): the verdict of the lock, the verification ladder for
   * unlocked files, and the identity options.
   */
  verdict?: PidFileVerdict;
}

/**
 * Find out what service `name` in run directory `dir` is doing. The PID
 * file lock decides whether it runs; the state file says what the
 * supervisor is doing and which tree it started. Never signals anything and
 * never creates or changes a file.
 *
 * @example
 * ```ts
 * import { inspectService } from "./inspect_service.ts";
 * import { resolveRunDir } from "../model/run_dir.ts";
 * const info = await inspectService(resolveRunDir(), "web");
 * console.log(info.phase, info.pid);
 * ```
 */
export async function inspectService(
  dir: string,
  name: string,
  memo?: InspectMemo,
): Promise<ServiceInfo> {
  const paths = servicePaths(dir, name);
  let state: ServiceRecord | undefined;
  let stateError: string | undefined;
  try {
    state = (memo?.readRecord ?? readServiceRecordSync)(paths.state);
  } catch (err) {
    if (!(err instanceof PidFileError)) throw err;
    stateError = err.message;
  }
  const pidfile = state?.pidfile ?? paths.pidfile;
  let probed: ProbeResult;
  try {
    probed = quickProbe(pidfile, state, memo) ?? await probe(pidfile);
  } catch (err) {
    return {
      name,
      phase: "unknown",
      pid: state?.tree?.pid,
      supervisorPid: state?.supervisor.pid,
      record: state,
      error: errorLine(err, pidfile),
    };
  }
  const base = { name, record: state, probe: probed, ...(stateError ? { error: stateError } : {}) };
  if (probed.status === "running") {
    // The lock decides. A holder other than the recorded supervisor is a
    // new supervisor that has not written its state yet.
    const current = state !== undefined &&
      (probed.holderPid === undefined || probed.holderPid === state.supervisor.pid ||
        await isRecordedSupervisor(probed.holderPid, state.supervisor));
    // A `pidkit stop` holding the lock while it stops an orphaned tree.
    const stopper = state?.stopper !== undefined && probed.holderPid === state.stopper.pid &&
      readProcStat(state.stopper.pid)?.startTime === state.stopper.startTime;
    const phase = heldPhase({ recorded: state?.phase, current, stopper });
    // Waiting to restart: no process is the service's (the PID file is empty).
    const between = (phase === "restarting" || phase === "scheduled") && !state?.tree;
    return {
      ...base,
      phase,
      pid: between ? undefined : probed.pid ??
        ((current || stopper) && state ? recordedMain(state, state.tree) : undefined),
      // No supervisor while a stop command holds the lock: its supervisor is gone.
      ...(stopper ? {} : { supervisorPid: probed.holderPid ?? state?.supervisor.pid }),
    };
  }
  if (state && lostPidFile(state, pidfile)) {
    const phase = lostFilePhase(state.phase);
    return {
      ...base,
      phase,
      pid: recordedMain(state, state.tree),
      supervisorPid: state.supervisor.pid,
      pidfileLost: true,
      error: `${pidfile} was deleted or replaced by another process; supervisor pid ` +
        `${state.supervisor.pid} still runs ${name} (pidkit restart ${name} recreates the file)`,
    };
  }
  const orphan = state ? await survivingTree(state) : undefined;
  if (orphan) {
    return {
      ...base,
      // A tree found by its `spawning` marker is not in the state yet.
      record: orphan === state!.tree ? state : { ...state!, tree: orphan },
      phase: "orphaned",
      pid: recordedMain(state!, orphan),
      supervisorPid: state!.supervisor.pid,
    };
  }
  // The record may be stale (a full disk), corrupt or gone while a tree of
  // the name lives: found by its marker (only when something is amiss).
  if (stateError !== undefined || probed.status === "stale" || (state && LIVE.has(state.phase))) {
    const { newestMarkedTree } = await import("./marked_trees.ts");
    const marked = newestMarkedTree(dir, name);
    if (marked) {
      return {
        ...base,
        ...(state ? { record: { ...state, tree: marked } } : {}),
        phase: "orphaned",
        pid: marked.pid,
        marked,
        ...(state ? { supervisorPid: state.supervisor.pid } : {}),
      };
    }
  }
  if (stateError !== undefined) {
    // Lock free and a state we cannot read: an orphaned tree cannot be ruled out.
    return { ...base, phase: "unknown", pid: probed.status === "stale" ? probed.pid : undefined };
  }
  if (state?.phase === "scheduled" && !state.tree) {
    return {
      ...base,
      phase: "stale",
      error: `its supervisor (pid ${state.supervisor.pid}) was killed while ${name} waited for ` +
        `its next run; nothing runs (the next supervisor of ${dir} resumes the schedule)`,
    };
  }
  if (state?.phase === "restarting" && !state.tree) {
    // Its supervisor was killed while it waited to restart the service.
    const n = state.nextRestart;
    return {
      ...base,
      phase: "stale",
      error: `its supervisor (pid ${state.supervisor.pid}) was killed while ${name} waited to ` +
        `restart${n ? ` (attempt ${n.attempt} of ${n.of})` : ""}; nothing runs`,
    };
  }
  if (probed.status === "stale" && state === undefined) {
    // No pidkit state: a daemon's own PID file, most likely written without a lock.
    return { ...base, ...fromVerdict((await verifier()).judgePidFile(pidfile, probed)) };
  }
  if (probed.status === "stale") return { ...base, phase: "stale", pid: probed.pid };
  if (state?.phase === "failed") {
    return { ...base, phase: "failed", ...(state.failure ? { error: state.failure } : {}) };
  }
  return { ...base, phase: "stopped" };
}

/**
 * The next tick of the service's schedule (`--cron`, `--cron-restart`)
 * while its supervisor holds it: when (ISO), in how many ms, and what
 * happens then; `null` without a schedule. Here, not in service_status.ts,
 * so that `list` does not load the status module for it.
 *
 * @example
 * ```ts
 * import { inspectService, nextRunOf } from "./inspect_service.ts";
 * console.log(nextRunOf(await inspectService("/tmp/pidkit-example", "web"))); // null
 * ```
 */
export function nextRunOf(
  info: ServiceInfo,
): { at: string; inMs: number; action: "start" | "restart" } | null {
  const next = isRunningPhase(info.phase) && info.phase !== "orphaned"
    ? info.record?.nextRun
    : undefined;
  if (next === undefined) return null;
  const inMs = Math.max(0, Date.parse(next.at) - Date.now());
  return { at: next.at, inMs: Number.isNaN(inMs) ? 0 : inMs, action: next.action };
}

/** The phases in which a record says its service runs (or is meant to). */
const LIVE = new Set(["starting", "running", "reloading", "restarting", "scheduled", "stopping"]);

/**
 * Find out whether the program behind any PID file runs (`status
 * --pidfile`): `running` when its lock is held (`supervisorPid` is then the
 * lock holder as the kernel reports it) or, for a file without a lock (a
 * daemon's own), when the verification ladder proves its PID is the writer
 * (see {@linkcode verifyPidFile}; `verdict` has the details); `stale` when
 * it is left over or (with `identity`) names another program; `stopped`
 * when it is absent; `unknown` when it cannot be read. Throws `UsageError`
 * for an `exec` file that does not exist or an unknown user.
 *
 * @example
 * ```ts
 * import { inspectPidFile } from "./inspect_service.ts";
 * const info = await inspectPidFile("/run/nginx.pid");
 * console.log(info.phase, info.pid, info.supervisorPid);
 * ```
 */
export async function inspectPidFile(
  path: string,
  identity: IdentityOptions = {},
): Promise<ServiceInfo> {
  // Loaded here, not with the module: `status NAME` and `list` never need it.
  const { resolveIdentity } = await import("../../os/process_identity.ts");
  const resolved = resolveIdentity(identity);
  let probed: ProbeResult;
  try {
    probed = quickProbe(path, undefined) ?? await probe(path);
  } catch (err) {
    return { name: path, phase: "unknown", error: errorLine(err, path) };
  }
  if (probed.status === "running") {
    // Held by a run directory's supervisor: the service it holds it for,
    // whose main process (not the supervisor) --exec, --name, --user check.
    // Loaded only here (it reads the run dirs' supervisor locks): not on `status NAME`'s path.
    const { heldBySupervisor, judgeHeldFile } = await import("./_held_by_supervisor.ts");
    const held = await heldBySupervisor(path, probed.holderPid);
    if (held?.name !== undefined) {
      const info = await inspectService(held.dir, held.name);
      const service = { name: held.name, mainPid: info.pid };
      const verdict = judgeHeldFile(path, probed, resolved, service);
      if (verdict.status === "running") return { ...info, name: path, verdict };
      return { name: path, probe: probed, ...fromVerdict(verdict) };
    }
  }
  const verdict = (await verifier()).judgePidFile(path, probed, resolved);
  return { name: path, probe: probed, ...fromVerdict(verdict) };
}

/** The phase, PIDs and error line `status` shows for a PID file verdict. */
/** The judge of PID files without a lock (a daemon's own): loaded only for one. */
function verifier(): Promise<typeof import("../../lock/verify_pid_file.ts")> {
  return import("../../lock/verify_pid_file.ts");
}

function fromVerdict(verdict: PidFileVerdict): Omit<ServiceInfo, "name"> {
  switch (verdict.status) {
    case "running":
      return {
        phase: "running",
        pid: verdict.pid ?? verdict.target?.pid,
        ...(verdict.holderPid !== undefined ? { supervisorPid: verdict.holderPid } : {}),
        verdict,
      };
    case "stale":
      return { phase: "stale", pid: verdict.pid, verdict };
    case "mismatch":
      return {
        phase: "stale",
        pid: verdict.pid,
        verdict,
        error: `not that program: ${verdict.reason}`,
      };
    default:
      return { phase: "stopped", verdict };
  }
}

/**
 * The fast path of `status`, for the common cases, before the full
 * {@linkcode probe} (whose module, the whole lock protocol, is then loaded
 * on demand):
 * - no file at the path: absent;
 * - a regular file whose lock is free with a plain PID in it: stale;
 * - its lock held, and the supervisor recorded in the state alive (same PID
 *   and start time): that supervisor is the holder, since supervisors hold
 *   the lock for their whole life. This also skips `/proc/locks`, whose
 *   first read in a process costs 5 to 20 ms (the kernel waits for an RCU
 *   grace period).
 * Anything else (symlinks, JSON or odd content, errors, a holder that is
 * not the recorded supervisor) returns `undefined`: the full probe decides.
 * Synchronous on purpose: each first asynchronous file operation of a
 * process costs start-up time, and these files are tiny.
 */
function quickProbe(
  pidfile: string,
  state: ServiceRecord | undefined,
  memo?: InspectMemo,
): ProbeResult | undefined {
  try {
    const st = Deno.lstatSync(pidfile);
    if (!st.isFile) return undefined;
  } catch (err) {
    return err instanceof Deno.errors.NotFound ? { status: "absent" } : undefined;
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(pidfile, { read: true });
  } catch {
    return undefined;
  }
  try {
    const free = file.tryLockSync(false);
    const text = readSmall(file);
    if (text === undefined) return undefined;
    const pid = parsePlainPid(text);
    if (pid === undefined) return undefined;
    const record = { pid, format: "plain" as const };
    if (free) return { status: "stale", pid, record };
    if (state && supervisorAlive(state.supervisor, memo)) {
      return { status: "running", pid, holderPid: state.supervisor.pid, record };
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * The content of an open PID file through the same descriptor (no second
 * open), or `undefined` when it is 4 KiB or more or not ASCII: not a plain
 * PID, so the full probe decides. Decoded by hand: a `TextDecoder` costs
 * ~0.2 ms to make and use the first time, and a plain PID is ASCII.
 */
function readSmall(file: Deno.FsFile): string | undefined {
  const buf = new Uint8Array(4096);
  let len = 0;
  for (;;) {
    const n = file.readSync(buf.subarray(len));
    if (n === null || n === 0) break;
    len += n;
    if (len === buf.length) return undefined;
  }
  let text = "";
  for (let i = 0; i < len; i++) {
    if (buf[i] >= 0x80) return undefined;
    text += String.fromCharCode(buf[i]);
  }
  return text;
}

/**
 * What one listing of many services learns once: whether a supervisor (the
 * same one for every service of a run dir) is alive, and whether a lock
 * holder is in our PID namespace. Only for answers given at one moment.
 *
 * @example
 * ```ts
 * import { inspectService, type InspectMemo } from "./inspect_service.ts";
 * const memo: InspectMemo = { alive: new Map(), sameNamespace: new Map() };
 * for (const name of ["web", "db"]) console.log((await inspectService("/run/pidkit", name, memo)).phase);
 * ```
 */
export interface InspectMemo {
  /** `PID:startTime` of a supervisor: alive. */
  alive: Map<string, boolean>;
  /** A lock holder's PID: in our PID namespace. */
  sameNamespace: Map<number, boolean>;
  /**
   * Reads a state file instead of `readServiceRecordSync` (same contract):
   * `pidkit top` passes one that re-reads a record only when it changed.
   */
  readRecord?: (path: string) => ServiceRecord | undefined;
}

function supervisorAlive(sup: ServiceRecord["supervisor"], memo: InspectMemo | undefined): boolean {
  const key = `${sup.pid}:${sup.startTime}`;
  const known = memo?.alive.get(key);
  if (known !== undefined) return known;
  const alive = isProcessAlive(sup.pid, sup.startTime);
  memo?.alive.set(key, alive);
  return alive;
}

/**
 * The PID file module loads only when the fast path cannot decide: it is
 * not needed by `status` of a running service, and each module costs
 * start-up time.
 */
async function probe(path: string): Promise<ProbeResult> {
  return await (await import("../../lock/probe.ts")).probe(path);
}

/**
 * Whether the PID file lock is free only because someone deleted or replaced
 * the file under a supervisor that still runs: the recorded supervisor is
 * alive (same PID and start time), in a live phase, and still has the
 * unlinked PID file open (`/proc/PID/fd` shows "PATH (deleted)").
 */
function lostPidFile(state: ServiceRecord, pidfile: string): boolean {
  if (
    !["starting", "running", "reloading", "restarting", "scheduled", "stopping"]
      .includes(state.phase)
  ) {
    return false;
  }
  const sup = state.supervisor;
  if (!sup || !isProcessAlive(sup.pid, sup.startTime)) return false;
  const deleted = `${pidfile} (deleted)`;
  return findOpenFd(sup.pid, (fd) => fd.link() === deleted).found !== undefined;
}

/** The live tree of a `spawning` marker (marked_trees.ts), loaded only when needed. */
async function treeByMarker(marker: string): Promise<TreeRef | undefined> {
  return (await import("./marked_trees.ts")).treeOfMarker(marker);
}

/**
 * The tree that the supervisor which wrote `state` left running, if any:
 * the recorded tree while it lives (same boot; its leader, checked by start
 * time, or other members), or a tree carrying the `spawning` marker (the
 * supervisor died between spawning it and recording it). Only meaningful
 * when no supervisor holds the lock.
 *
 * @example
 * ```ts
 * import { survivingTree } from "./inspect_service.ts";
 * import { readServiceRecordSync } from "../model/service_record.ts";
 * const state = readServiceRecordSync("/run/pidkit/web.json");
 * if (state) console.log((await survivingTree(state))?.pid);
 * ```
 */
export async function survivingTree(state: ServiceRecord): Promise<TreeRef | undefined> {
  if (state.tree && await treeLives(state)) return state.tree;
  return state.spawning ? await treeByMarker(state.spawning) : undefined;
}

/**
 * When the supervisor that wrote `state` (the previous run of service
 * `name`) left its tree running, the error a new start gives: "already
 * running", with the tree leader's PID. A supervisor killed with SIGKILL
 * leaves its tree (orphaned); a third party deleting a PID file leaves the
 * lock free while the supervisor still runs. Starting then would make a
 * second instance and lose track of the first.
 *
 * @example
 * ```ts
 * import { describeSurvivor } from "./inspect_service.ts";
 * import { readServiceRecordSync } from "../model/service_record.ts";
 * const state = readServiceRecordSync("/run/pidkit/web.json");
 * if (state) console.log((await describeSurvivor("web", state))?.error);
 * ```
 */
export async function describeSurvivor(
  name: string,
  state: ServiceRecord,
): Promise<{ pid: number; error: string } | undefined> {
  const tree = await survivingTree(state);
  if (tree === undefined) return undefined;
  const { pid, startTime } = state.supervisor;
  let why = "";
  if (!isProcessAlive(pid, startTime)) {
    why = `, orphaned: its supervisor is gone; pidkit stop ${name} stops it`;
  } else if (!(await holdsLock(state.pidfile, pid))) {
    why = `, its PID file was deleted or replaced; supervisor pid ${pid} still runs it`;
  } // else: an ordinary running service (its supervisor took the lock meanwhile)
  return { pid: tree.pid, error: `${name} is already running (pid ${tree.pid}${why})` };
}

/**
 * The main PID of a service whose PID file does not say (empty, lost, or
 * its supervisor gone): the recorded main process while it lives, else the
 * tree's leader -- except for a `--forking` service, whose leader exited
 * during start-up: its main process is then unknown.
 *
 * @example
 * ```ts
 * import { recordedMain } from "./inspect_service.ts";
 * import { readServiceRecordSync } from "../model/service_record.ts";
 * const state = readServiceRecordSync("/run/pidkit/web.json");
 * if (state) console.log(recordedMain(state, state.tree));
 * ```
 */
export function recordedMain(
  state: ServiceRecord,
  tree: { pid: number } | undefined,
): number | undefined {
  if (state.mainPid !== undefined && isProcessAlive(state.mainPid)) return state.mainPid;
  return state.options?.forking ? undefined : tree?.pid;
}

/** A supervisor recorded inside a PID namespace (a container), seen here as `holderPid`. */
async function isRecordedSupervisor(
  holderPid: number,
  recorded: ServiceRecord["supervisor"],
): Promise<boolean> {
  return (await import("../../os/pid_namespace.ts")).isRecordedProcess(holderPid, recorded);
}

/** Whether process `pid` holds the lock on `pidfile` (false when it cannot be told). */
async function holdsLock(pidfile: string, pid: number): Promise<boolean> {
  try {
    const probed = await probe(pidfile);
    return probed.status === "running" && probed.holderPid === pid;
  } catch {
    return false;
  }
}

/**
 * Whether the tree recorded in `state` still has a live member, or its
 * recorded `--forking` main process still runs (same boot only).
 */
async function treeLives(state: ServiceRecord): Promise<boolean> {
  const ref: TreeRef = state.tree!;
  if (state.bootId !== undefined && state.bootId !== readBootId()) return false;
  if (isProcessAlive(ref.pid, ref.startTime)) return true;
  const { attachTree } = await import("../../tree/process_tree.ts");
  try {
    if (attachTree(ref).members().length > 0) return true;
  } catch (err) {
    if (!(err instanceof PidkitError)) throw err; // else gone, or the PID was reused
  }
  if (!state.options?.forking || state.mainStartTime === undefined) return false;
  // A --forking daemon the group tier cannot see (it left the session and
  // cleared its environment): it lives while its recorded main process does
  // (by PID and start time: a record before 0.3 keeps none, and is not trusted).
  const { recordedMainProcess } = await import("./recorded_main.ts");
  return recordedMainProcess(state) !== undefined;
}

function errorLine(err: unknown, path: string): string {
  if (err instanceof PidkitError) return err.message;
  if (err instanceof Deno.errors.PermissionDenied) return `cannot read ${path}: permission denied`;
  if (err instanceof Deno.errors.NotCapable) {
    return `cannot read ${path}: Deno needs -A to read /proc and lock files`;
  }
  return `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`;
}
