/**
 * Process trees: a tree started by `spawnTree` (spawn_tree.ts) or found
 * again by {@linkcode attachTree}: track every descendant, signal them all,
 * stop them on a schedule, and know when the last one is gone.
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
 *    (see `src/tree/marker.ts` and `src/tree/group_scanner.ts`), and their descendants (the parent chain) and
 *    orphans adopted by a subreaper supervisor. A process that clears its
 *    environment, leaves the session and is orphaned with no subreaper for
 *    the tree escapes this tier.
 *
 * The trackers of both tiers are in `_trackers.ts`.
 *
 * Everything here reads `/proc`: Linux only, and Deno needs `-A`.
 *
 * @module
 */

import { isInCgroup2 } from "./cgroup.ts";
import { delay } from "../os/delay.ts";
import { Pidfd } from "../os/pidfd.ts";
import { TreeError } from "../os/errors.ts";
import { CGROUP_PARENT, cgroupLeaf, isTreeCgroup, parseMarker } from "./marker.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  pageSize,
  readCmdline,
  readProcStat,
} from "../os/proc.ts";
import { DEFAULT_RETRY, parseRetry, runSchedule } from "./stop_schedule.ts";
import type { RetryStep } from "./stop_schedule.ts";
import { wantsContinue } from "../os/signals.ts";
import { CgroupTracker, GroupTracker, requireProc, type Tracker, trySignal } from "./_trackers.ts";

export { DEFAULT_RETRY, parseRetry } from "./stop_schedule.ts";
export type { RetryStep } from "./stop_schedule.ts";

/**
 * How a tree's members are found: a cgroup v2, or process group + session + marker.
 *
 * @example
 * ```ts
 * import { spawnTree, type Tracking } from "@pidkit/pidkit/tree";
 * await using tree = await spawnTree(["sleep", "5"], { tracking: "group" });
 * const how: Tracking = tree.tracking; // "group"
 * console.log(how);
 * ```
 */
export type Tracking = "cgroup" | "group";

/**
 * What identifies a running tree, to re-attach to it later from another
 * process ({@linkcode attachTree}). JSON-serialisable; the CLI records it.
 *
 * @example Record a tree, attach to it later
 * ```ts
 * import { attachTree, spawnTree, type TreeRef } from "@pidkit/pidkit/tree";
 * const tree = await spawnTree(["sleep", "60"], { name: "nap" });
 * await Deno.writeTextFile("/tmp/nap.tree.json", JSON.stringify(tree.ref));
 * // ... in another process:
 * const ref: TreeRef = JSON.parse(await Deno.readTextFile("/tmp/nap.tree.json"));
 * await attachTree(ref).stop();
 * ```
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

/**
 * One live member of a tree.
 *
 * @example
 * ```ts
 * import { spawnTree, type TreeMember } from "@pidkit/pidkit/tree";
 * await using tree = await spawnTree(["sh", "-c", "sleep 5 & sleep 5"]);
 * const members: TreeMember[] = tree.members();
 * for (const m of members) console.log(m.pid, m.command, m.rssBytes);
 * ```
 */
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

/**
 * What {@linkcode ProcessTree.stop} did.
 *
 * @example
 * ```ts
 * import { spawnTree, type StopReport } from "@pidkit/pidkit/tree";
 * const tree = await spawnTree(["sleep", "60"]);
 * const report: StopReport = await tree.stop();
 * console.log(report.signalsSent.map((s) => s.signal), report.survivors); // ["SIGTERM"] []
 * ```
 */
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

/**
 * Progress of a stop: a signal was just sent to `remaining` processes.
 *
 * @example
 * ```ts
 * import { spawnTree, type StopProgress } from "@pidkit/pidkit/tree";
 * const tree = await spawnTree(["sleep", "60"]);
 * const show = (p: StopProgress) => console.log(`${p.signal} to ${p.remaining}, waiting ${p.timeoutMs} ms`);
 * await tree.stop({ onProgress: show });
 * ```
 */
export interface StopProgress {
  /** The signal sent. */
  signal: Deno.Signal;
  /** How long the schedule now waits (absent when the next item is not a wait; Infinity for `forever`). */
  timeoutMs?: number;
  /** Live members the signal went to. */
  remaining: number;
}

/**
 * Options for {@linkcode ProcessTree.stop}.
 *
 * @example
 * ```ts
 * import { spawnTree, type StopOptions } from "@pidkit/pidkit/tree";
 * const tree = await spawnTree(["sleep", "60"]);
 * const options: StopOptions = { retry: "INT/3/TERM/5/KILL/2", onProgress: (p) => console.log(p.signal) };
 * await tree.stop(options);
 * ```
 */
export interface StopOptions {
  /** The schedule, as {@linkcode parseRetry} takes it or already parsed; default {@linkcode DEFAULT_RETRY}. */
  retry?: RetryStep[] | string;
  /** Called after each signal. */
  onProgress?: (e: StopProgress) => void;
}

/**
 * How the leader ended; `code`/`signal` are `null` when unknown (attached trees).
 *
 * @example
 * ```ts
 * import { spawnTree, type TreeExit } from "@pidkit/pidkit/tree";
 * const tree = await spawnTree(["sh", "-c", "exit 3"]);
 * const exit: TreeExit = await tree.status;
 * console.log(exit); // { success: false, code: 3, signal: null }
 * ```
 */
export interface TreeExit {
  /** True when it exited with status 0. */
  success: boolean;
  /** Exit status, or null (killed by a signal, or unknown). */
  code: number | null;
  /** The signal that killed it, or null. */
  signal: Deno.Signal | null;
}

/** Handed from {@linkcode treeOfSpawned} to the constructor (which cannot take it as a public parameter). */
let adopting: Deno.ChildProcess | undefined;
/** Handed from {@linkcode treeOfSpawned} to the constructor: this process adopts the tree's orphans. */
let adoptingOrphans = false;

/**
 * Internal, for spawn_tree.ts (not re-exported): the tree whose leader is
 * `child`, just spawned by this process, so its exit status and pipes are
 * known; with `adoptOrphans`, orphans reparented to this process are
 * members.
 */
export function treeOfSpawned(
  ref: TreeRef,
  child: Deno.ChildProcess,
  adoptOrphans: boolean,
): ProcessTree {
  adopting = child;
  adoptingOrphans = adoptOrphans;
  return new ProcessTree(ref);
}

/**
 * A running process tree: the leader started by {@linkcode spawnTree} (or
 * found by {@linkcode attachTree}) and every descendant it tracks.
 *
 * @example
 * ```ts
 * import { spawnTree } from "@pidkit/pidkit/tree";
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
      ? new CgroupTracker({ ...ref, cgroupPath: ref.cgroupPath })
      : new GroupTracker(adoptingOrphans ? { ...ref, adopter: true } : ref);
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
   *
   * @example
   * ```ts
   * import { spawnTree } from "@pidkit/pidkit/tree";
   * const tree = await spawnTree(["true"]);
   * console.log((await tree.status).code); // 0
   * ```
   */
  get status(): Promise<TreeExit> {
    this.#status ??= this.#watchLeader();
    return this.#status;
  }

  async #watchLeader(): Promise<TreeExit> {
    // A pidfd (readable on exit) where there is one: an attached tree may be
    // watched for days (a supervisor that adopted it), not polled 50 times a
    // second. It is opened before the start time is checked, so it is the
    // recorded leader's.
    const fd = Pidfd.open(this.pid);
    try {
      while (this.#leaderAlive()) {
        // Readable on exit: the timeout only bounds a wait the kernel would end anyway.
        if (fd instanceof Pidfd) await fd.waitExit(30_000);
        else await delay(20);
      }
    } finally {
      if (fd instanceof Pidfd) fd.close();
    }
    return { success: false, code: null, signal: null };
  }

  #leaderAlive(): boolean {
    const st = readProcStat(this.pid);
    return st !== undefined && !isDeadState(st.state) && st.startTime === this.ref.startTime;
  }

  /**
   * Every live member (zombies excluded), sorted by PID, with ppid, pgid,
   * sid, command line, memory and CPU time.
   *
   * @example
   * ```ts
   * import { spawnTree } from "@pidkit/pidkit/tree";
   * await using tree = await spawnTree(["sh", "-c", "sleep 5 & sleep 5"]);
   * for (const m of tree.members()) console.log(m.pid, m.ppid, m.command);
   * ```
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
   *
   * @example Ask every process of the tree to reload
   * ```ts
   * import { spawnTree } from "@pidkit/pidkit/tree";
   * await using tree = await spawnTree(["sh", "-c", "trap '' HUP; sleep 5 & sleep 5"]);
   * console.log(tree.signal("SIGHUP")); // e.g. 3
   * ```
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
   *
   * @example
   * ```ts
   * import { spawnTree } from "@pidkit/pidkit/tree";
   * const tree = await spawnTree(["sh", "-c", "sleep 60 & sleep 60"]);
   * const report = await tree.stop({ retry: "TERM/5/KILL/2" });
   * console.log(report.killed, report.survivors); // 3 []
   * ```
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

  /**
   * Resolves when every member is gone (and, with cgroup tracking, the
   * cgroup removed).
   *
   * @example Wait for a tree whose leader exits before its children
   * ```ts
   * import { spawnTree } from "@pidkit/pidkit/tree";
   * const tree = await spawnTree(["sh", "-c", "sleep 1 &"]);
   * await tree.status; // the leader is gone at once ...
   * await tree.done(); // ... its child a second later
   * ```
   */
  done(): Promise<void> {
    this.#done ??= (async () => {
      this.#tracker.members(); // learn the current members first
      await this.#tracker.waitEmpty(Infinity);
      await this.#tracker.release();
    })();
    return this.#done;
  }

  /**
   * Stop the tree with the default schedule ({@linkcode ProcessTree.stop}).
   *
   * @example
   * ```ts
   * import { spawnTree } from "@pidkit/pidkit/tree";
   * {
   *   await using tree = await spawnTree(["sleep", "60"]);
   *   console.log(tree.pid);
   * } // stopped here: TERM, then KILL if needed
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Check a tree reference read from a file before anything is signalled
 * through it; throws a `"bad-ref"` {@linkcode TreeError} with a one-line
 * reason. A ref
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
    throw badRef("pid, startTime, pgid and sid must be integers");
  }
  // spawnTree starts every tree in its own session: the leader's PID is its
  // group and session id. A ref saying otherwise (a corrupt or forged state
  // file) would aim group signals at somebody else's processes.
  if (ref.pgid !== ref.pid || ref.sid !== ref.pid) {
    throw badRef(`pgid ${ref.pgid} and sid ${ref.sid} must equal the leader pid ${ref.pid}`);
  }
  if (parseMarker(ref.marker) === undefined) {
    throw badRef(`marker '${ref.marker}' is not NAME:NONCE`);
  }
  if (ref.tracking !== "cgroup" && ref.tracking !== "group") {
    throw badRef(`tracking '${ref.tracking}'`);
  }
  if (ref.tracking === "cgroup") {
    if (typeof ref.cgroupPath !== "string" || !isTreeCgroup(ref.cgroupPath, ref.marker)) {
      throw badRef(
        `cgroup path '${ref.cgroupPath}' is not .../${CGROUP_PARENT}/${cgroupLeaf(ref.marker)}`,
      );
    }
    // Its cgroup.procs is what gets signalled: it must be a real cgroup.
    if (!isInCgroup2(ref.cgroupPath)) {
      throw badRef(`cgroup path '${ref.cgroupPath}' is not inside a cgroup2 hierarchy`);
    }
  }
}

function badRef(why: string): TreeError {
  return new TreeError("bad-ref", `bad tree reference: ${why}`);
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
 * 3. Otherwise throw a {@linkcode TreeError} with reason `"gone"` (one
 *    line): the PID was reused and nothing of the tree is left, or the tree
 *    is gone.
 *
 * A reference that fails {@linkcode checkTreeRef} is a `"bad-ref"`
 * {@linkcode TreeError}; no `/proc` to read is `"unsupported"`.
 *
 * The attached tree's {@linkcode ProcessTree.status} carries no exit code.
 *
 * @example
 * ```ts
 * import { attachTree, TreeError, type TreeRef } from "@pidkit/pidkit/tree";
 *
 * // The tree of pidkit service "web", as its state file (DIR/NAME.json) records it:
 * const state: { tree: TreeRef } = JSON.parse(await Deno.readTextFile("/run/pidkit/web.json"));
 * try {
 *   const tree = attachTree(state.tree);
 *   console.log(tree.members().map((m) => `${m.pid} ${m.command}`));
 * } catch (err) {
 *   if (err instanceof TreeError && err.reason === "gone") console.error(err.message); // gone or PID reused
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
    throw new TreeError(
      "gone",
      `process tree ${ref.marker} is gone: pid ${ref.pid} now belongs to another process ` +
        `(start time ${leader.startTime}, recorded ${ref.startTime}); nothing to attach to`,
    );
  }
  throw new TreeError(
    "gone",
    `process tree ${ref.marker} is gone: leader pid ${ref.pid} has exited and no member is left`,
  );
}
