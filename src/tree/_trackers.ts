/**
 * The trackers: the tier-specific half of a process tree, one per way of
 * finding its members (a cgroup v2, or the process group, session and
 * marker; see `process_tree.ts`), and the signalling they share.
 *
 * @module
 */

import { cgroupKill, cgroupPids, cgroupPopulated, removeCgroup } from "./cgroup.ts";
import { waitCgroupEmpty } from "./cgroup.ts";
import { type GroupIdentity, GroupScanner } from "./group_scanner.ts";
import { delay } from "../os/delay.ts";
import { PidkitError, TreeError } from "../os/errors.ts";
import { requireOwnProc } from "../os/pid_namespace.ts";
import { procAvailable, readCgroupV2Path } from "../os/proc.ts";
import { type MembershipRef, treeMembers } from "./membership.ts";
import { LiveProcTable } from "./proc_table.ts";
import type { ProcStat } from "../os/proc.ts";
import { signalProcess, type SignalTarget } from "../os/pidfd.ts";

/** The tier-specific half of a tree. */
export interface Tracker {
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
export function trySignal(
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

export class GroupTracker implements Tracker {
  readonly #scanner: GroupScanner;
  readonly #pgid: number;

  constructor(ref: GroupIdentity) {
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
      await delay(Math.min(now - start < 1000 ? 2 : 4, deadline - now));
    }
  }

  isEmpty(): boolean {
    return this.#scanner.isEmpty();
  }

  release(): Promise<void> {
    this.#scanner.retire();
    return Promise.resolve();
  }
}

export class CgroupTracker implements Tracker {
  readonly #dir: string;
  readonly #ref: MembershipRef;

  constructor(ref: MembershipRef & { cgroupPath: string }) {
    this.#dir = ref.cgroupPath;
    this.#ref = ref;
  }

  members(): ProcStat[] {
    return treeMembers(new LiveProcTable(), this.#ref);
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

/**
 * Throw a `"unsupported"` {@linkcode TreeError} unless this process can read
 * its own PID namespace's `/proc` (Linux, Deno with `-A`).
 */
export function requireProc(what: string): void {
  try {
    requireOwnProc(); // PIDs of another namespace's /proc are not ours to signal
  } catch (err) {
    if (err instanceof PidkitError) throw new TreeError("unsupported", err.message, { cause: err });
    throw err;
  }
  if (!procAvailable()) {
    throw new TreeError(
      "unsupported",
      Deno.build.os === "linux"
        ? `${what} needs /proc: run Deno with -A (a scoped --allow-read cannot read /proc)`
        : `${what} needs Linux /proc; process trees are not supported on ${Deno.build.os}`,
    );
  }
}
