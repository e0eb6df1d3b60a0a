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
 * A `--forking` service is adopted too: its main process is verified (the
 * record's, by PID and start time, or its main PID file's, read again)
 * and followed as forking_start.ts follows one (adopted_forking.ts).
 *
 * Not adopted (refused as before, `pidkit stop NAME` ends them): a tree
 * whose supervisor still runs (its PID file was deleted or replaced). `pidkit run` itself never adopts: it refuses beside
 * an orphan. The orphan of a killed `pidkit run` is adopted by a resident
 * supervisor like any other when it had a log (without one its output went
 * to a terminal or pipe that is gone: only a `start` of its name adopts it).
 *
 * @module
 */

import { isProcessAlive, readBootId, readCmdline, readProcStat } from "../../os/proc.ts";
import { messageLine } from "../../os/errors.ts";
import { cgroupPopulated, removeCgroup } from "../../tree/cgroup.ts";
import { attachTree, checkTreeRef, ProcessTree, type TreeRef } from "../../tree/process_tree.ts";
import { recordedMainProcess } from "../inspect/recorded_main.ts";
import { isStartGate, removeGateLeftovers } from "../../tree/spawn_gated.ts";
import { survivingTree } from "../inspect/inspect_service.ts";
import {
  readServiceRecordSync,
  type ServiceRecord,
  writeServiceRecord,
} from "../model/service_record.ts";
import { SUPERVISE_COMMAND, type SupervisorConfig } from "../control/supervisor_protocol.ts";
import { servicePaths } from "../model/run_dir.ts";
import { PidFile } from "../../lock/pid_file.ts";
import { LogSink } from "../output/log_sink.ts";
import { DEFAULT_RETRY } from "../../tree/stop_schedule.ts";
import { DEFAULT_MAX_RESTARTS, DEFAULT_RESTART_DELAY_MS } from "../model/restart_policy.ts";

/**
 * Whether a tree `previous` names, once found alive, is an orphan a new
 * supervisor may adopt: its supervisor is gone.
 */
export function adoptable(previous: ServiceRecord): boolean {
  const { pid, startTime } = previous.supervisor;
  return !isProcessAlive(pid, startTime);
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
    // Gone, or a reference that does not check out; or a --forking daemon
    // the group tier cannot see (it left the session and cleared its
    // environment) whose recorded main process runs (adopted_forking.ts).
    const escaped = ref === previous.tree && previous.mainStartTime !== undefined &&
      recordedMainProcess(previous) !== undefined;
    if (!escaped) return undefined;
    try {
      checkTreeRef(ref);
    } catch {
      return undefined;
    }
    tree = new ProcessTree(ref);
  }
  // Only a live leader can be a gate (a forking tree's leader exited long
  // ago, and its PID may be another's now).
  if (isProcessAlive(tree.pid, tree.ref.startTime) && isStartGate(tree.pid)) {
    // Killed between the spawn and the gate's release: the command never
    // ran, and the gate would wait for ever. End it; nothing to adopt.
    await tree.stop({ retry: "KILL/2" }).catch(() => {});
    return undefined;
  }
  return tree;
}

/** The record of an adopted service: the old one, with this supervisor and tree. */
export function adoptedRecord(
  previous: ServiceRecord,
  tree: ProcessTree,
  envNames: string[],
): ServiceRecord {
  const now = new Date().toISOString();
  // 0.2 kept the --env values here, in a file everyone reads: now in NAME.env.
  const { spawning: _spawning, env: _env, ...rest } = previous;
  return {
    ...rest,
    envNames,
    // Killed before the service was ready: its readiness is still owed
    // (machine/adopted_start.ts); anything else runs on.
    phase: previous.phase === "starting" && previous.tree ? "starting" : "running",
    version: 2,
    // Adoption is the resident supervisor's work only (see the module doc).
    supervisor: { pid: Deno.pid, startTime: readProcStat("self")?.startTime ?? 0, kind: "dir" },
    tree: tree.ref,
    updatedAt: now,
  };
}

/**
 * What a start finds of the previous run of a service: its record, and a
 * live tree of its name found by its marker (marked_trees.ts) that the
 * record does not name -- a record left stale by a full disk, corrupt, or
 * removed with its run directory. The lock on NAME.pid and the marker are
 * the truth: such a tree is an instance, whatever the record says.
 */
export interface PreviousRun {
  /**
   * The record; when a tree was found by its marker alone, the record (or,
   * unreadable or missing, one made from the configuration) naming that tree.
   */
  record?: ServiceRecord;
  /** Why the record could not be read. */
  recordError?: string;
  /** The live tree found by its marker alone, and the live supervisor holding it, if any. */
  marked?: { ref: TreeRef; holder?: { pid: number; startTime: number }; noRecord?: boolean };
}

/** The record at `path` (none when absent), or why it cannot be read. */
export function readRecordOrError(path: string): { record?: ServiceRecord; recordError?: string } {
  try {
    return { record: readServiceRecordSync(path) };
  } catch (err) {
    return { recordError: messageLine(err) };
  }
}

/**
 * The previous run of `cfg`'s service: its record and, when the record names
 * no live tree, the newest live tree among `marked` (the trees of its name
 * and run directory found by their marker).
 */
export async function findPreviousRun(
  cfg: SupervisorConfig,
  markedTrees: (fresh: boolean) => TreeRef[],
): Promise<PreviousRun> {
  const { record, recordError } = readRecordOrError(cfg.state);
  const err = recordError === undefined ? {} : { recordError };
  if (record && await survivingTree(record)) return { record, ...err };
  // A run directory's supervisor scanned for marked trees as it started;
  // a record it cannot read, or one of another kind of supervisor (`pidkit
  // run`, which may have died since), calls for a scan now.
  const fresh = recordError !== undefined ||
    (record !== undefined && record.supervisor.kind !== "dir");
  const live = markedTrees(fresh).filter((ref) =>
    ref.marker !== record?.tree?.marker && ref.marker !== record?.spawning &&
    treeAlive(ref)
  ).sort((a, b) => b.startTime - a.startTime);
  if (live.length === 0) return { ...(record ? { record } : {}), ...err };
  const ref = live[0];
  const holder = supervisorOf(ref);
  const base = record ?? recordFromConfig(cfg);
  const dead = record && !isProcessAlive(record.supervisor.pid, record.supervisor.startTime)
    ? record.supervisor
    : { pid: ref.pid, startTime: 0, kind: "dir" as const }; // no process has start time 0
  const { spawning: _spawning, ...rest } = base;
  return {
    record: {
      ...rest,
      phase: ["starting", "reloading", "stopping"].includes(base.phase) ? base.phase : "running",
      supervisor: holder ? { ...holder, kind: "dir" } : dead,
      tree: ref,
      bootId: readBootId(),
    },
    ...err,
    marked: { ref, ...(holder ? { holder } : {}), ...(record ? {} : { noRecord: true }) },
  };
}

/** The record a tree found by its marker alone stands under when none can be read. */
function recordFromConfig(cfg: SupervisorConfig): ServiceRecord {
  const now = new Date().toISOString();
  return {
    version: 2,
    name: cfg.name,
    phase: "running",
    supervisor: { pid: 1, startTime: 0, kind: "dir" },
    command: cfg.command,
    cwd: cfg.cwd,
    env: cfg.env,
    ...(cfg.user ? { user: cfg.user.name } : {}),
    options: cfg.options,
    ...(cfg.origin ? { origin: cfg.origin } : {}),
    pidfile: cfg.pidfile,
    log: cfg.log ?? "-",
    restarts: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** Whether a tree found by its marker still has its leader or another member. */
function treeAlive(ref: TreeRef): boolean {
  if (isProcessAlive(ref.pid, ref.startTime)) return true;
  try {
    return attachTree(ref).members().length > 0;
  } catch {
    return false;
  }
}

/**
 * A resident supervisor of `dir` other than this process that still holds
 * one of the trees `marked` (found by their markers): one whose run
 * directory was removed under it, and which makes it again within a second.
 */
export function otherResident(dir: string, marked: Iterable<TreeRef[]>): number | undefined {
  for (const refs of marked) {
    for (const ref of refs) {
      const holder = supervisorOf(ref);
      const argv = holder ? readCmdline(holder.pid) ?? [] : [];
      if (holder && argv.includes(dir)) return holder.pid;
    }
  }
  return undefined;
}

/**
 * The pidkit supervisor holding a tree: its leader's parent, when that is
 * a live supervisor other than this process (`__supervise`, `supervise` or
 * `run`). A supervisor whose run directory was removed still holds its
 * trees; an orphan's leader has another parent (init, a subreaper).
 */
export function supervisorOf(ref: TreeRef): { pid: number; startTime: number } | undefined {
  const leader = readProcStat(ref.pid);
  if (leader === undefined || leader.startTime !== ref.startTime) return undefined;
  const ppid = leader.ppid;
  if (ppid <= 1 || ppid === Deno.pid) return undefined;
  const parent = readProcStat(ppid);
  const argv = readCmdline(ppid) ?? [];
  if (parent === undefined) return undefined;
  const supervises = argv.includes(SUPERVISE_COMMAND) || argv.includes("supervise") ||
    argv.includes("run");
  return supervises ? { pid: ppid, startTime: parent.startTime } : undefined;
}

/**
 * Remove what a dead tree of `previous` left: its empty cgroup, the start
 * gate directories of its markers, and a notify socket's private directory
 * under /tmp. Not the output FIFO: a restart reads on from it.
 */
export async function removeLeftovers(previous: ServiceRecord, name: string): Promise<void> {
  await removeStaleCgroup(previous, name);
  for (const marker of [previous.tree?.marker, previous.spawning]) {
    if (marker !== undefined) await removeGateLeftovers(marker);
  }
  const notify = previous.notifySocket;
  if (notify !== undefined && /^\/tmp\/pidkit-n-[^/]+\/notify$/.test(notify)) {
    await Deno.remove(notify.slice(0, -"/notify".length), { recursive: true }).catch(() => {});
  }
}

/**
 * The configuration under which a resident supervisor adopts a tree found
 * by its marker alone when the service's record cannot be read or is gone:
 * the default files of the name, the leader's command line and working
 * directory as /proc shows them (shown, never run: without its record the
 * way it was started is unknown), no restart, the default stop schedule.
 */
export function orphanConfig(dir: string, name: string, ref: TreeRef): SupervisorConfig {
  const paths = servicePaths(dir, name);
  let cwd = "/";
  try {
    cwd = Deno.readLinkSync(`/proc/${ref.pid}/cwd`);
  } catch { /* gone, or not ours to read */ }
  return {
    name,
    dir,
    pidfile: paths.pidfile,
    state: paths.state,
    log: paths.log,
    command: readCmdline(ref.pid) ?? [],
    cwd,
    env: {},
    options: {
      restart: "no",
      maxRestarts: DEFAULT_MAX_RESTARTS,
      restartDelayMs: DEFAULT_RESTART_DELAY_MS,
      retry: DEFAULT_RETRY,
      tracking: ref.tracking,
    },
  };
}

/**
 * Whether the tree `record` names died while no supervisor ran: the record
 * of a resident supervisor, now dead, in a phase where its service was
 * meant to run (or to stop), and no live tree of it left.
 */
export function diedUnsupervised(record: ServiceRecord): boolean {
  return record.supervisor.kind === "dir" && record.log !== "-" &&
    ["starting", "running", "reloading", "restarting", "scheduled", "stopping"]
      .includes(record.phase) &&
    !isProcessAlive(record.supervisor.pid, record.supervisor.startTime);
}

/**
 * Close the books of a service whose tree died while no supervisor ran and
 * that is not restarted: under its PID file's lock, what the dead tree left
 * is removed, the record says how it ended (`stopped` when a stop was under
 * way, else `exited` with an unknown status), a line goes into its log, and
 * the PID file goes. False when someone holds the lock (nothing touched).
 */
export async function settleUnsupervised(
  dir: string,
  name: string,
  record: ServiceRecord,
  line: string,
): Promise<boolean> {
  let lock: PidFile;
  try {
    lock = await PidFile.acquire(record.pidfile, { removeOnExit: false, durable: false });
  } catch {
    return false;
  }
  try {
    await removeLeftovers(record, name);
    await removeFifo(servicePaths(dir, name).output);
    const now = new Date().toISOString();
    const { tree: _tree, spawning: _spawning, ...rest } = record;
    await writeServiceRecord(servicePaths(dir, name).state, {
      ...rest,
      phase: record.phase === "stopping" ? "stopped" : "exited",
      ...(record.phase === "stopping" ? {} : { lastExit: { code: null, signal: null, at: now } }),
      updatedAt: now,
    }).catch(() => {});
    const log = await LogSink.open(record.log, { times: true }).catch(() => undefined);
    await log?.line(line).catch(() => {});
    await log?.close();
  } finally {
    await lock.release().catch(() => {});
  }
  return true;
}

/** Remove the output FIFO at `path` (only a FIFO: nothing else at the path). */
export async function removeFifo(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isFifo) await Deno.remove(path);
  } catch { /* gone already */ }
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
