/**
 * The group tracker: members of a process tree found by scanning `/proc`
 * for processes in the leader's process group or session, or whose
 * environment carries the tree's marker (`PIDKIT_SERVICE=<name>:<nonce>`),
 * which also catches children that called `setsid` or double-forked.
 *
 * A child of a member is a member too (the parent chain). A child of the
 * process tracking the tree, when that process is a child subreaper for it
 * (`becomeSubreaper` in `orphan_reaper.ts`; the supervisor is), is *not* a
 * member for that reason alone: a resident supervisor is the subreaper of
 * every service in its run directory. Such an orphan is a member by the
 * rules above (group, session, marker), or when `claimsOrphan` (membership.ts) can tie
 * it to this tree and no other. So a descendant that clears its
 * environment and calls `setsid` is found while its parent lives (and kept:
 * membership is kept once seen, same PID and start time), and when
 * orphaned under a supervisor that holds no other tree that could be its
 * origin.
 *
 * Limits (the cgroup tracker has none of them): a process that clears its
 * environment *and* leaves the session *and* is orphaned before it was seen
 * escapes, unless the subreaper can tie it to this tree alone; so does one
 * whose environment cannot be read and whose parent is not a member.
 *
 * Cost control: a member cannot have started before the leader, so the
 * (costly) environment is read only for processes that started at or after
 * the leader and are neither in its group nor its session, and only once
 * per process (cached by PID and start time). Waiting for emptiness checks
 * one known member at a time and rescans `/proc` only when a process was
 * created since the last look (the "last PID" of `/proc/loadavg` moved).
 *
 * @module
 */

import { isDeadState, readLastPid } from "../os/proc.ts";
import type { ProcStat } from "../os/proc.ts";
import { isMember, type MembershipMemo, type ProcTable } from "./membership.ts";
import { forgetAdopted, orphanRegistry, trackAdopted } from "./orphan_claims.ts";
import { LiveProcTable, type MarkerCache } from "./proc_table.ts";

/** Who the tree is: its leader and marker. */
export interface GroupIdentity {
  /** Leader PID. */
  pid: number;
  /** Leader start time (clock ticks after boot). */
  startTime: number;
  /** The leader's process group. */
  pgid: number;
  /** The leader's session. */
  sid: number;
  /** `<name>:<nonce>`, the value of `PIDKIT_SERVICE`. */
  marker: string;
  /**
   * This process is the child subreaper for the tree: orphans reparented to
   * it may be claimed (orphan_claims.ts), never merely for being its children.
   */
  adopter?: boolean;
}

/** A full rescan of /proc at least this often while waiting (catches PID reuse). */
const FULL_SCAN_MS = 1000;

/** Scans `/proc` for the members of one tree; keeps what it learnt between scans. */
export class GroupScanner {
  readonly #id: GroupIdentity;
  /** Markers read so far (by PID and start time): each environment is read once. */
  readonly #markers: MarkerCache = new Map();
  /** Known live members. */
  readonly #members = new Map<number, ProcStat>();
  /** PIDs seen by the last listing. */
  #seen = new Set<number>();
  #lastPid = -1;
  #lastFull = 0;
  /** True when the leader's PID now names another process: our group and session are gone. */
  #reused = false;
  readonly #table: () => ProcTable<ProcStat>;

  /**
   * Scan for the tree `id` names; `table` gives a fresh process table per
   * look (the live `/proc` unless a test passes its own).
   */
  constructor(id: GroupIdentity, table?: () => ProcTable<ProcStat>) {
    this.#id = id;
    this.#table = table ?? (() => new LiveProcTable({ markers: this.#markers }));
    if (id.adopter) trackAdopted(id);
  }

  /** The tree is gone: stop claiming orphans for it. */
  retire(): void {
    if (this.#id.adopter) forgetAdopted(this.#id);
  }

  /** Whether the leader's PID was seen reused by an unrelated process. */
  get leaderReused(): boolean {
    return this.#reused;
  }

  #checkLeader(table: ProcTable<ProcStat>): void {
    if (this.#reused) return;
    const leader = table.get(this.#id.pid);
    // The kernel does not hand out a PID while any process still uses it as
    // its process group or session id; so once the leader's PID names a
    // process that started later, nobody is left in our group or session and
    // only the marker can identify members.
    if (leader !== undefined && leader.startTime !== this.#id.startTime) this.#reused = true;
  }

  /**
   * Add to `members` every live member among `pids` by the one rule
   * (membership.ts), the members known so far vouching for their children.
   * Returns the members added.
   */
  #classify(
    table: ProcTable<ProcStat>,
    pids: Iterable<number>,
    members: Map<number, ProcStat>,
  ): ProcStat[] {
    const ctx = {
      known: members,
      leaderReused: this.#reused,
      // This process (the table's looker) is the subreaper of the trees it adopts.
      ...(this.#id.adopter ? { orphans: { ...orphanRegistry(), subreaper: table.self } } : {}),
    };
    const ref = { ...this.#id, tracking: "group" as const };
    const memo: MembershipMemo = new Map();
    const added: ProcStat[] = [];
    for (const pid of pids) {
      if (members.has(pid) || !isMember(table, ref, pid, ctx, memo)) continue;
      added.push(table.get(pid)!);
    }
    for (const st of added) members.set(st.pid, st);
    return added;
  }

  /** Rescan all of `/proc`; returns every live member. */
  scan(): ProcStat[] {
    const last = readLastPid();
    const table = this.#table();
    this.#checkLeader(table);
    const pids = [...table.pids()];
    // Known members still alive keep their place (and vouch for their children).
    const members = new Map<number, ProcStat>();
    for (const known of this.#members.values()) {
      if (this.#stillMember(known, table)) members.set(known.pid, known);
    }
    this.#classify(table, pids, members);
    this.#seen = new Set(pids);
    LiveProcTable.prune(this.#markers, this.#seen);
    this.#members.clear();
    for (const [pid, st] of members) this.#members.set(pid, st);
    this.#lastPid = last;
    this.#lastFull = performance.now();
    return [...members.values()];
  }

  /**
   * Look for members created since the last look: nothing to do when no
   * process was created at all, otherwise read only PIDs that are new.
   * Returns the members found now.
   */
  update(): number[] {
    if (performance.now() - this.#lastFull > FULL_SCAN_MS) {
      const before = new Set(this.#members.keys());
      return this.scan().map((m) => m.pid).filter((pid) => !before.has(pid));
    }
    const last = readLastPid();
    if (last === this.#lastPid) return [];
    const table = this.#table();
    this.#checkLeader(table);
    const pids = [...table.pids()];
    const fresh = pids.filter((pid) => !this.#seen.has(pid));
    const added = this.#classify(table, fresh, this.#members).map((st) => st.pid);
    this.#seen = new Set(pids);
    this.#lastPid = last;
    return added;
  }

  /**
   * Whether a known member is still alive and still the same process: a
   * member stays one (a descendant stays a descendant, even after it called
   * `setsid` or its parent died).
   */
  #stillMember(known: ProcStat, table?: ProcTable<ProcStat>): boolean {
    const st = (table ?? this.#table()).get(known.pid);
    return st !== undefined && !isDeadState(st.state) && st.startTime === known.startTime;
  }

  /**
   * The first known member still alive, dropping dead ones on the way; cheap
   * while the tree lives (usually one read).
   */
  firstAlive(): number | undefined {
    for (const [pid, st] of this.#members) {
      if (this.#stillMember(st)) return pid;
      this.#members.delete(pid);
    }
    return undefined;
  }

  /** Whether the tree is empty now: no known member alive and none created meanwhile. */
  isEmpty(): boolean {
    for (;;) {
      if (this.firstAlive() !== undefined) return false;
      // A member may have forked and died between the last update and now:
      // its fork moved the last PID, so this finds the child.
      if (this.update().length === 0) return true;
    }
  }
}
