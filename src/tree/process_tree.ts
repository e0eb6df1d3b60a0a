/**
 * Process trees: start a command in its own session and process group,
 * track every descendant, signal them all, stop them on a schedule, and
 * know when the last one is gone.
 *
 * Two ways of tracking membership, best first (the tree says which one it
 * uses in {@linkcode ProcessTree.tracking}; it never claims cgroup tracking
 * it does not have):
 *
 * 1. `"cgroup"`: a cgroup v2 per tree (see `src/tree/cgroup.ts`). Nothing
 *    escapes it, not even a process that clears its environment and calls
 *    `setsid`.
 * 2. `"group"`: members are the processes in the leader's process group or
 *    session, or whose environment carries `PIDKIT_SERVICE=<name>:<nonce>`
 *    (see `src/tree/group_scanner.ts`), and their descendants (the parent chain) and
 *    orphans adopted by a subreaper supervisor. A process that clears its
 *    environment, leaves the session and is orphaned with no subreaper for
 *    the tree escapes this tier.
 *
 * Everything here reads `/proc`: Linux only, and Deno needs `-A`.
 *
 * @module
 */

import { cgroupKill, cgroupPids, cgroupPopulated, placeInCgroup, removeCgroup } from "./cgroup.ts";
import { findCgroup2, isInCgroup2 } from "./cgroup.ts";
import { waitCgroupEmpty } from "./cgroup.ts";
import { messageLine, PidkitError, UsageError } from "../os/errors.ts";
import { checkProgram, findSetpriv, spawnGated } from "./spawn_gated.ts";
import { GroupScanner } from "./group_scanner.ts";
import { ownChild } from "../os/reaper.ts";
import { requireOwnProc } from "../os/pid_namespace.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  pageSize,
  procAvailable,
  readCgroupV2Path,
  readCmdline,
  readProcStat,
  readUptimeSeconds,
} from "../os/proc.ts";
import type { ProcStat } from "../os/proc.ts";
import { DEFAULT_RETRY, parseRetry, runSchedule } from "./stop_schedule.ts";
import type { RetryStep } from "./stop_schedule.ts";
import { wantsContinue } from "../os/signals.ts";
import { signalProcess, type SignalTarget } from "../os/pidfd.ts";

export { DEFAULT_RETRY, parseRetry } from "./stop_schedule.ts";
export type { RetryStep } from "./stop_schedule.ts";

/** How a tree's members are found: a cgroup v2, or process group + session + marker. */
export type Tracking = "cgroup" | "group";

/** Options for {@linkcode spawnTree}. */
export interface SpawnTreeOptions {
  /** Working directory of the command. */
  cwd?: string;
  /** Extra environment variables (the marker `PIDKIT_SERVICE` is always added). */
  env?: Record<string, string>;
  /** Start from an empty environment (plus `env` and the marker). */
  clearEnv?: boolean;
  /** Run as this user id. */
  uid?: number;
  /** Run as this group id. */
  gid?: number;
  /**
   * Supplementary groups, with `uid` (as root). Deno cannot set them, so a
   * non-empty list starts the command through `setpriv(1)` (util-linux,
   * looked up in /usr/bin, /bin, /usr/sbin, /sbin only) and throws a
   * {@linkcode PidkitError} when there is none. Without it a command started
   * with `uid` has no supplementary groups at all.
   */
  groups?: number[];
  /** Standard input: `"inherit"` (default), `"null"` or `"piped"` ({@linkcode ProcessTree.stdin}). */
  stdin?: "inherit" | "null" | "piped";
  /** Standard output: `"inherit"` (default), `"null"` or `"piped"`. */
  stdout?: "inherit" | "null" | "piped";
  /** Standard error: `"inherit"` (default), `"null"` or `"piped"`. */
  stderr?: "inherit" | "null" | "piped";
  /**
   * `"auto"` (default): a cgroup when a writable cgroup2 hierarchy works
   * here, else `"group"`. `"cgroup"`: a cgroup or a {@linkcode PidkitError}.
   * `"group"`: process group + session + marker.
   */
  tracking?: "auto" | Tracking;
  /**
   * The nonce of the marker (`NAME:NONCE`), 8 to 32 lowercase hex digits;
   * default: a random one. A supervisor picks it and records the marker
   * before it spawns, so a tree started just before the supervisor died is
   * still found by its marker.
   */
  nonce?: string;
  /** Name used in the marker and the cgroup name (`[A-Za-z0-9._-]`, at most 64); default: the program's base name. */
  name?: string;
  /**
   * This process is a child subreaper for the tree (see `becomeSubreaper`
   * in `reaper.ts`) and spawns nothing else: the orphans the kernel
   * reparents to it are members (group tracking), so a descendant that
   * clears its environment and leaves the session is still found.
   */
  adoptOrphans?: boolean;
}

/**
 * What identifies a running tree, to re-attach to it later from another
 * process ({@linkcode attachTree}). JSON-serialisable; the CLI records it.
 */
export interface TreeRef {
  /** Leader PID. */
  pid: number;
  /** Leader start time, clock ticks after boot (field 22 of `/proc/PID/stat`). */
  startTime: number;
  /** The tree's process group (the leader's PID). */
  pgid: number;
  /** The tree's session (the leader's PID). */
  sid: number;
  /** The value of `PIDKIT_SERVICE` in every member's environment: `<name>:<nonce>`. */
  marker: string;
  /** How members are tracked. */
  tracking: Tracking;
  /** The tree's cgroup directory (cgroup tracking only). */
  cgroupPath?: string;
}

/** One live member of a tree. */
export interface TreeMember {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Process group. */
  pgid: number;
  /** Session. */
  sid: number;
  /** Start time, clock ticks after boot. */
  startTime: number;
  /** Command line joined with spaces (`[comm]` when it has none). */
  command: string;
  /** Resident memory in bytes. */
  rssBytes: number;
  /** User + system CPU time in seconds. */
  cpuSeconds: number;
}

/** What {@linkcode ProcessTree.stop} did. */
export interface StopReport {
  /** Every signal sent, when (ms after the stop began) and to how many processes. */
  signalsSent: { signal: Deno.Signal; atMs: number; targets: number }[];
  /** Processes that ended during the stop. */
  killed: number;
  /** How long the stop took, ms. */
  durationMs: number;
  /** PIDs still alive when the schedule ran out (normally empty). */
  survivors: number[];
}

/** Progress of a stop: a signal was just sent to `remaining` processes. */
export interface StopProgress {
  /** The signal sent. */
  signal: Deno.Signal;
  /** How long the schedule now waits (absent when the next item is not a wait; Infinity for `forever`). */
  timeoutMs?: number;
  /** Live members the signal went to. */
  remaining: number;
}

/** Options for {@linkcode ProcessTree.stop}. */
export interface StopOptions {
  /** The schedule, as {@linkcode parseRetry} takes it or already parsed; default {@linkcode DEFAULT_RETRY}. */
  retry?: RetryStep[] | string;
  /** Called after each signal. */
  onProgress?: (e: StopProgress) => void;
}

/** How the leader ended; `code`/`signal` are `null` when unknown (attached trees). */
export interface TreeExit {
  /** True when it exited with status 0. */
  success: boolean;
  /** Exit status, or null (killed by a signal, or unknown). */
  code: number | null;
  /** The signal that killed it, or null. */
  signal: Deno.Signal | null;
}

/** The tier-specific half of a tree. */
interface Tracker {
  /** Live members (zombies excluded). */
  members(): ProcStat[];
  /** Send `sig` to live members not in `done`; add them; return how many got it. */
  signal(sig: Deno.Signal, done: Set<number>): number;
  /** Wait until empty or `timeoutMs`; `onNew` gets members that appeared meanwhile. */
  waitEmpty(timeoutMs: number, onNew?: (pids: number[]) => void): Promise<boolean>;
  /** Empty now? */
  isEmpty(): boolean;
  /** Remove what the tier created (the cgroup), once empty. */
  release(): Promise<void>;
}

/**
 * Send a signal; false when the process is gone or not ours to signal. A
 * process (not a group) is signalled through a pidfd (src/os/pidfd.ts): with
 * its start time, or a `verify` check run after the pidfd is open, a PID
 * that was reused meanwhile is never hit.
 */
function trySignal(
  target: number | SignalTarget,
  sig: Deno.Signal,
  verify?: () => boolean,
): boolean {
  if (typeof target !== "number" || target > 0) {
    const t = typeof target === "number" ? { pid: target } : target;
    return signalProcess(t, sig, verify) === "sent";
  }
  try {
    Deno.kill(target, sig);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      return false;
    }
    throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class GroupTracker implements Tracker {
  readonly #scanner: GroupScanner;
  readonly #pgid: number;

  constructor(ref: TreeRef & { adopter?: number }) {
    this.#scanner = new GroupScanner(ref);
    this.#pgid = ref.pgid;
  }

  members(): ProcStat[] {
    return this.#scanner.scan();
  }

  signal(sig: Deno.Signal, done: Set<number>): number {
    const members = this.#scanner.scan();
    let count = 0;
    for (const m of members) {
      if (done.has(m.pid)) continue;
      done.add(m.pid);
      if (trySignal({ pid: m.pid, startTime: m.startTime }, sig)) count++;
    }
    // The group as a whole as well: it also reaches a child forked between
    // the scan and now. Only while a member is in it (so the id is still ours).
    if (!this.#scanner.leaderReused && members.some((m) => m.pgid === this.#pgid)) {
      trySignal(-this.#pgid, sig);
    }
    return count;
  }

  async waitEmpty(timeoutMs: number, onNew?: (pids: number[]) => void): Promise<boolean> {
    const start = performance.now();
    const deadline = start + timeoutMs;
    for (;;) {
      const added = this.#scanner.update();
      if (added.length > 0) onNew?.(added);
      if (this.#scanner.isEmpty()) return true;
      const now = performance.now();
      if (now >= deadline) return false;
      // 2 ms keeps done() within a few ms of the last exit; after a second
      // of waiting, 4 ms halves the (small) cost of a long wait.
      await sleep(Math.min(now - start < 1000 ? 2 : 4, deadline - now));
    }
  }

  isEmpty(): boolean {
    return this.#scanner.isEmpty();
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}

class CgroupTracker implements Tracker {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  members(): ProcStat[] {
    const out: ProcStat[] = [];
    for (const pid of cgroupPids(this.#dir)) {
      const st = readProcStat(pid);
      if (st !== undefined && !isDeadState(st.state)) out.push(st);
    }
    return out;
  }

  signal(sig: Deno.Signal, done: Set<number>): number {
    // cgroup.procs lists live processes (the kernel unlinks a task from it
    // when it exits), so no per-PID stat is needed here.
    const fresh = cgroupPids(this.#dir).filter((pid) => !done.has(pid));
    if (sig === "SIGKILL" && fresh.length > 0 && cgroupKill(this.#dir)) {
      for (const pid of fresh) done.add(pid);
      return fresh.length;
    }
    let count = 0;
    // Still in this cgroup once the pidfd is open: the same process, not a PID reused meanwhile.
    const dir = this.#dir;
    for (const pid of fresh) {
      done.add(pid);
      if (trySignal(pid, sig, () => inCgroup(pid, dir))) count++;
    }
    return count;
  }

  waitEmpty(timeoutMs: number, onNew?: (pids: number[]) => void): Promise<boolean> {
    return waitCgroupEmpty(
      this.#dir,
      timeoutMs,
      onNew ? () => onNew(cgroupPids(this.#dir)) : undefined,
    );
  }

  isEmpty(): boolean {
    return !cgroupPopulated(this.#dir);
  }

  async release(): Promise<void> {
    if (!cgroupPopulated(this.#dir)) await removeCgroup(this.#dir);
  }
}

/** Whether process `pid` is in the cgroup directory `dir` (an absolute cgroup2 path). */
function inCgroup(pid: number, dir: string): boolean {
  const path = readCgroupV2Path(pid);
  return path !== undefined && (dir === path || dir.endsWith(path) && path !== "/");
}

/** Handed from spawnTree to the constructor (which cannot take it as a public parameter). */
let adopting: Deno.ChildProcess | undefined;
/** Handed from spawnTree to the constructor: this process adopts the tree's orphans. */
let adoptingOrphans = false;

/**
 * A running process tree: the leader started by {@linkcode spawnTree} (or
 * found by {@linkcode attachTree}) and every descendant it tracks.
 *
 * @example
 * ```ts
 * import { spawnTree } from "@pidkit/pidkit";
 *
 * await using tree = await spawnTree(["sh", "-c", "sleep 60 & sleep 60"], { name: "demo" });
 * console.log(tree.tracking, tree.members().length); // e.g. "cgroup" 3
 * const report = await tree.stop({ retry: "TERM/5/KILL/2" });
 * console.log(report.survivors); // []
 * ```
 */
export class ProcessTree implements AsyncDisposable {
  /** The leader's PID. */
  readonly pid: number;
  /** The tree's process group (the leader's PID). */
  readonly pgid: number;
  /** The tracking tier in use. */
  readonly tracking: Tracking;
  /** The tree's cgroup directory, with cgroup tracking. */
  readonly cgroupPath?: string;
  /** What identifies the tree, for {@linkcode attachTree} (JSON-serialisable). */
  readonly ref: TreeRef;
  /** The leader's stdin when spawned with `stdin: "piped"`, else null. */
  readonly stdin: WritableStream<Uint8Array> | null;
  /** The leader's stdout when spawned with `stdout: "piped"`, else null. */
  readonly stdout: ReadableStream<Uint8Array> | null;
  /** The leader's stderr when spawned with `stderr: "piped"`, else null. */
  readonly stderr: ReadableStream<Uint8Array> | null;
  readonly #tracker: Tracker;
  readonly #child: Deno.ChildProcess | undefined;
  #status: Promise<TreeExit> | undefined;
  #done: Promise<void> | undefined;
  #stopping: Promise<StopReport> | undefined;

  /**
   * Wrap a tree described by `ref` without any check. Use
   * {@linkcode spawnTree} or {@linkcode attachTree} instead.
   */
  constructor(ref: TreeRef) {
    this.ref = { ...ref };
    this.pid = ref.pid;
    this.pgid = ref.pgid;
    this.tracking = ref.tracking;
    if (ref.cgroupPath !== undefined) this.cgroupPath = ref.cgroupPath;
    this.#tracker = ref.tracking === "cgroup" && ref.cgroupPath !== undefined
      ? new CgroupTracker(ref.cgroupPath)
      : new GroupTracker(adoptingOrphans ? { ...ref, adopter: Deno.pid } : ref);
    const child = adopting;
    adopting = undefined;
    adoptingOrphans = false;
    this.#child = child?.pid === ref.pid ? child : undefined;
    this.stdin = this.#pipe(() => this.#child!.stdin);
    this.stdout = this.#pipe(() => this.#child!.stdout);
    this.stderr = this.#pipe(() => this.#child!.stderr);
    if (this.#child !== undefined) {
      this.#status = this.#child.status.then(async (s) => {
        // A cgroup left empty by the leader's exit is removed at once.
        if (this.tracking === "cgroup" && this.#tracker.isEmpty()) await this.#tracker.release();
        return { success: s.success, code: s.signal === null ? s.code : null, signal: s.signal };
      });
    }
  }

  #pipe<T>(get: () => T): T | null {
    if (this.#child === undefined) return null;
    try {
      return get();
    } catch {
      return null; // not piped
    }
  }

  /**
   * The leader's exit. For an attached tree (not our child) the exit status
   * cannot be known: it resolves `{ success: false, code: null, signal: null }`
   * once the leader is gone.
   */
  get status(): Promise<TreeExit> {
    this.#status ??= this.#watchLeader();
    return this.#status;
  }

  async #watchLeader(): Promise<TreeExit> {
    while (this.#leaderAlive()) await sleep(20);
    return { success: false, code: null, signal: null };
  }

  #leaderAlive(): boolean {
    const st = readProcStat(this.pid);
    return st !== undefined && !isDeadState(st.state) && st.startTime === this.ref.startTime;
  }

  /**
   * Every live member (zombies excluded), sorted by PID, with ppid, pgid,
   * sid, command line, memory and CPU time.
   */
  members(): TreeMember[] {
    const page = pageSize();
    const out: TreeMember[] = [];
    for (const st of this.#tracker.members()) {
      const argv = readCmdline(st.pid);
      if (argv === undefined) continue; // exited meanwhile
      out.push({
        pid: st.pid,
        ppid: st.ppid,
        pgid: st.pgid,
        sid: st.sid,
        startTime: st.startTime,
        command: argv.length > 0 ? argv.join(" ") : `[${st.comm}]`,
        rssBytes: st.rssPages * page,
        cpuSeconds: (st.utime + st.stime) / CLOCK_TICKS_PER_SECOND,
      });
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  /**
   * Send `sig` to every member. Returns how many processes got it; 0 (and
   * nothing sent) when the tree is gone.
   */
  signal(sig: Deno.Signal): number {
    return this.#tracker.signal(sig, new Set());
  }

  /**
   * Stop the tree on a schedule like start-stop-daemon's `--retry` (default
   * `TERM/10/KILL/5`): send each signal to every member, wait up to each
   * timeout for the tree to empty, go on with the next item while members
   * are left. Members that appear during a wait get the current signal too.
   * Works when the leader has already exited; a no-op on a gone tree. With
   * cgroup tracking, SIGKILL goes through `cgroup.kill` and the cgroup is
   * removed once empty. Concurrent calls share one stop. Every signal but
   * KILL is followed by SIGCONT (as systemd does), so a stopped member that
   * handles the signal acts on it now rather than at the next deadline.
   */
  stop(options: StopOptions = {}): Promise<StopReport> {
    this.#stopping ??= this.#stop(options).finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #stop(options: StopOptions): Promise<StopReport> {
    const retry = options.retry ?? DEFAULT_RETRY;
    const steps = typeof retry === "string" ? parseRetry(retry) : retry;
    const t0 = performance.now();
    const report: StopReport = { signalsSent: [], killed: 0, durationMs: 0, survivors: [] };
    const seen = new Set<number>();
    let signalled = new Set<number>();
    let current: Deno.Signal | undefined;
    const onNew = (pids: number[]) => {
      if (current === undefined) return;
      for (const pid of pids) {
        seen.add(pid);
        if (!signalled.has(pid)) {
          signalled.add(pid);
          if (trySignal(pid, current) && wantsContinue(current)) trySignal(pid, "SIGCONT");
        }
      }
    };
    // No emptiness check up front: the first signal finds the members anyway.
    const { sent, gone: empty } = await runSchedule(steps, {
      send: (sig) => {
        current = sig;
        signalled = new Set();
        const n = this.#tracker.signal(sig, signalled);
        for (const pid of signalled) {
          seen.add(pid);
          if (wantsContinue(sig)) trySignal(pid, "SIGCONT");
        }
        return n;
      },
      waitGone: (ms) => this.#tracker.waitEmpty(ms, onNew),
      isGone: () => this.#tracker.isEmpty(),
    }, (signal, remaining, timeoutMs) => options.onProgress?.({ signal, timeoutMs, remaining }));
    report.signalsSent = sent;
    report.survivors = empty ? [] : this.#tracker.members().map((m) => m.pid).sort((a, b) => a - b);
    for (const pid of report.survivors) seen.delete(pid);
    report.killed = seen.size;
    if (empty) await this.#tracker.release();
    report.durationMs = performance.now() - t0;
    return report;
  }

  /** Resolves when every member is gone (and, with cgroup tracking, the cgroup removed). */
  done(): Promise<void> {
    this.#done ??= (async () => {
      this.#tracker.members(); // learn the current members first
      await this.#tracker.waitEmpty(Infinity);
      await this.#tracker.release();
    })();
    return this.#done;
  }

  /** Stop the tree with the default schedule. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** The tree name: given (validated) or derived from the program. */
function treeName(given: string | undefined, program: string): string {
  if (given !== undefined) {
    if (!NAME_RE.test(given) || given === "." || given === "..") {
      throw new UsageError(`bad tree name '${given}': use 1-64 of A-Z a-z 0-9 . _ -`);
    }
    return given;
  }
  const base = program.slice(program.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9._-]/g, "_");
  const name = base.slice(0, 64).replace(/^\.+$/, "_");
  return name === "" ? "tree" : name;
}

function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function requireProc(what: string): void {
  requireOwnProc(); // PIDs of another namespace's /proc are not ours to signal
  if (!procAvailable()) {
    throw new PidkitError(
      Deno.build.os === "linux"
        ? `${what} needs /proc: run Deno with -A (a scoped --allow-read cannot read /proc)`
        : `${what} needs Linux /proc; process trees are not supported on ${Deno.build.os}`,
    );
  }
}

/**
 * Start `command` (`[program, ...args]`) as the leader of a new process
 * tree: its own session and process group, the marker
 * `PIDKIT_SERVICE=<name>:<nonce>` in its environment, and (tracking
 * `"auto"` or `"cgroup"`) its own cgroup, entered before the command runs:
 * the leader waits at a start gate until it has been moved. A program that
 * cannot be found or run is a {@linkcode PidkitError} here, not a tree that
 * dies silently.
 *
 * @example
 * ```ts
 * import { spawnTree } from "@pidkit/pidkit";
 *
 * const tree = await spawnTree(["sleep", "30"], { name: "nap", stdin: "null" });
 * console.log(tree.pid, tree.tracking, tree.ref.marker); // 1234 "cgroup" "nap:1f2e3d4c5b6a"
 * await tree.stop();
 * ```
 */
export async function spawnTree(
  command: string[],
  options: SpawnTreeOptions = {},
): Promise<ProcessTree> {
  if (!Array.isArray(command) || command.length === 0 || typeof command[0] !== "string") {
    throw new UsageError("spawnTree needs a command: [program, ...args]");
  }
  requireProc("spawnTree");
  const want = options.tracking ?? "auto";
  if (!["auto", "cgroup", "group"].includes(want)) {
    throw new UsageError(`bad tracking '${want}': use auto, cgroup or group`);
  }
  const name = treeName(options.name, command[0]);
  if (options.nonce !== undefined && !/^[0-9a-f]{8,32}$/.test(options.nonce)) {
    throw new UsageError(`bad nonce '${options.nonce}': 8 to 32 lowercase hex digits`);
  }
  const id = options.nonce ?? nonce();
  const marker = `${name}:${id}`;
  const env = { ...options.env, PIDKIT_SERVICE: marker };
  const cmdOptions: Deno.CommandOptions = {
    cwd: options.cwd,
    env,
    clearEnv: options.clearEnv,
    uid: options.uid,
    gid: options.gid,
    stdin: options.stdin ?? "inherit",
    stdout: options.stdout ?? "inherit",
    stderr: options.stderr ?? "inherit",
    detached: true,
  };
  const path = options.env?.PATH ?? (options.clearEnv ? undefined : Deno.env.get("PATH"));
  checkProgram(command[0], { path, cwd: options.cwd });
  let argv = command;
  if (options.groups !== undefined && options.groups.length > 0) {
    argv = withGroups(command, options);
    delete cmdOptions.uid; // setpriv switches, after setting the groups
    delete cmdOptions.gid;
  }

  let child: Deno.ChildProcess;
  let cgroupPath: string | undefined;
  let startTime: number | undefined;
  if (want !== "group" && (want === "cgroup" || findCgroup2() !== undefined)) {
    child = await spawnGated(argv, cmdOptions, (pid) => {
      startTime = readProcStat(pid)?.startTime;
      try {
        cgroupPath = placeInCgroup(pid, `${name}-${id}`);
      } catch (err) {
        if (want === "cgroup") throw err;
      }
    });
  } else {
    try {
      child = new Deno.Command(argv[0], { ...cmdOptions, args: argv.slice(1) }).spawn();
      ownChild(child); // Deno reaps it: an orphan reaper must not
    } catch (err) {
      throw new PidkitError(`cannot start ${command[0]}: ${messageLine(err)}`);
    }
    startTime = readProcStat(child.pid)?.startTime;
  }
  const ref: TreeRef = {
    pid: child.pid,
    // Unknown only when the leader already exited and was reaped: then a
    // start time a little in the past keeps its descendants' (later) ones in.
    startTime: startTime ??
      Math.max(0, Math.floor((readUptimeSeconds() - 1) * CLOCK_TICKS_PER_SECOND)),
    pgid: child.pid,
    sid: child.pid,
    marker,
    tracking: cgroupPath !== undefined ? "cgroup" : "group",
  };
  if (cgroupPath !== undefined) ref.cgroupPath = cgroupPath;
  adopting = child;
  adoptingOrphans = options.adoptOrphans === true;
  return new ProcessTree(ref);
}

/** `command` behind `setpriv`, which sets the groups, then gid and uid, then execs it. */
function withGroups(command: string[], options: SpawnTreeOptions): string[] {
  const { uid, gid, groups = [] } = options;
  if (uid === undefined || gid === undefined) {
    throw new UsageError("groups need uid and gid");
  }
  if (!groups.every((g) => Number.isInteger(g) && g >= 0)) {
    throw new UsageError(`bad groups ${JSON.stringify(groups)}: group ids are integers >= 0`);
  }
  const setpriv = findSetpriv();
  if (setpriv === undefined) {
    throw new PidkitError(
      "supplementary groups need setpriv(1) from util-linux, not found in /usr/bin, /bin, /usr/sbin or /sbin",
    );
  }
  return [
    setpriv,
    `--reuid=${uid}`,
    `--regid=${gid}`,
    `--groups=${groups.join(",")}`,
    "--",
    ...command,
  ];
}

/**
 * Check a tree reference read from a file before anything is signalled
 * through it; throws {@linkcode PidkitError} with a one-line reason. A ref
 * saying otherwise than spawnTree would have recorded (a corrupt or forged
 * state file) could aim signals at somebody else's processes.
 *
 * @example
 * ```ts
 * import { checkTreeRef } from "./process_tree.ts";
 * checkTreeRef({ pid: 1, startTime: 0, pgid: 1, sid: 1, marker: "web:1f", tracking: "group" });
 * ```
 */
export function checkTreeRef(ref: TreeRef): void {
  const ints = [ref?.pid, ref?.startTime, ref?.pgid, ref?.sid];
  if (!ints.every((n) => Number.isSafeInteger(n) && n >= 0) || !(ref.pid > 0)) {
    throw new PidkitError("bad tree reference: pid, startTime, pgid and sid must be integers");
  }
  // spawnTree starts every tree in its own session: the leader's PID is its
  // group and session id. A ref saying otherwise (a corrupt or forged state
  // file) would aim group signals at somebody else's processes.
  if (ref.pgid !== ref.pid || ref.sid !== ref.pid) {
    throw new PidkitError(
      `bad tree reference: pgid ${ref.pgid} and sid ${ref.sid} must equal the leader pid ${ref.pid}`,
    );
  }
  if (typeof ref.marker !== "string" || !/^[A-Za-z0-9._-]{1,64}:[0-9a-f]+$/.test(ref.marker)) {
    throw new PidkitError(`bad tree reference: marker '${ref.marker}' is not NAME:NONCE`);
  }
  if (ref.tracking !== "cgroup" && ref.tracking !== "group") {
    throw new PidkitError(`bad tree reference: tracking '${ref.tracking}'`);
  }
  if (ref.tracking === "cgroup") {
    const leaf = ref.marker.replace(":", "-");
    if (typeof ref.cgroupPath !== "string" || !ref.cgroupPath.endsWith(`/pidkit/${leaf}`)) {
      throw new PidkitError(
        `bad tree reference: cgroup path '${ref.cgroupPath}' is not .../pidkit/${leaf}`,
      );
    }
    // Its cgroup.procs is what gets signalled: it must be a real cgroup.
    if (!isInCgroup2(ref.cgroupPath)) {
      throw new PidkitError(
        `bad tree reference: cgroup path '${ref.cgroupPath}' is not inside a cgroup2 hierarchy`,
      );
    }
  }
}

/**
 * Re-attach, from any process, to a tree described by a {@linkcode TreeRef}
 * (as the CLI recorded it), to list, signal or stop it. The exact rule:
 *
 * 1. If the leader PID is alive (not a zombie) with the recorded start
 *    time, attach.
 * 2. Otherwise (the leader exited, or its PID now belongs to another
 *    process) attach only if members are left:
 *    - cgroup tracking: the recorded cgroup exists and is populated (its
 *      name carries the tree's nonce, so it cannot belong to anyone else);
 *    - group tracking: live processes started no earlier than the leader
 *      that are in its process group or session or carry the marker. When
 *      the leader's PID was reused, the kernel guarantees that nobody is left
 *      in the old group or session, so only the marker counts then.
 * 3. Otherwise throw {@linkcode PidkitError} (one line): the PID was reused
 *    and nothing of the tree is left, or the tree is gone.
 *
 * The attached tree's {@linkcode ProcessTree.status} carries no exit code.
 *
 * @example
 * ```ts
 * import { attachTree, PidkitError, type TreeRef } from "@pidkit/pidkit";
 *
 * const ref: TreeRef = JSON.parse(await Deno.readTextFile("/run/pidkit/web.tree.json"));
 * try {
 *   const tree = attachTree(ref);
 *   await tree.stop();
 * } catch (err) {
 *   if (err instanceof PidkitError) console.error(err.message); // gone or PID reused
 *   else throw err;
 * }
 * ```
 */
export function attachTree(ref: TreeRef): ProcessTree {
  checkTreeRef(ref);
  requireProc("attachTree");
  const leader = readProcStat(ref.pid);
  if (leader !== undefined && !isDeadState(leader.state) && leader.startTime === ref.startTime) {
    return new ProcessTree(ref);
  }
  const tree = new ProcessTree(ref);
  if (tree.members().length > 0) return tree;
  if (leader !== undefined && !isDeadState(leader.state)) {
    throw new PidkitError(
      `process tree ${ref.marker} is gone: pid ${ref.pid} now belongs to another process ` +
        `(start time ${leader.startTime}, recorded ${ref.startTime}); nothing to attach to`,
    );
  }
  throw new PidkitError(
    `process tree ${ref.marker} is gone: leader pid ${ref.pid} has exited and no member is left`,
  );
}
