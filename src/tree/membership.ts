/**
 * The one tree-membership rule: whether a process belongs to a process
 * tree, decided over a process table and nothing else (no `/proc` reads
 * here: `proc_table.ts` reads the live one, tests build plain ones). Every
 * view asks this module: `list` and `ps` (ProcSnapshot), `status`, `stop`
 * and `signal` (attachTree and its trackers), a notify sender's check
 * (tree_member.ts).
 *
 * The rule, for a tree led by `ref`:
 *
 * - it is alive (a zombie only when asked), not the process looking
 *   (`table.self`), and started no earlier than the leader;
 * - cgroup tracking: it sits in the tree's cgroup or below it (the
 *   cgroup's name carries the tree's nonce; nothing else is needed);
 * - group tracking:
 *   - was seen as a member before (same PID and start time: a member stays
 *     one after it calls `setsid` or its parent dies), or
 *   - is in the leader's process group or session (unless the leader's PID
 *     now names a later process: the kernel hands out no PID still used as
 *     a group or session id, so nobody is left in them), or
 *   - its parent is a member, or
 *   - carries the tree's marker (`PIDKIT_SERVICE=<name>:<nonce>`), or
 *   - is an orphan reparented to `table.self`, the child subreaper of the
 *     tree, that only this tree can be the origin of ({@linkcode claimsOrphan}).
 *
 * A mere child of the subreaper (a resident supervisor holds every service
 * of its run directory) is no member for that reason alone.
 *
 * @module
 */

/** One process as the membership rule needs it (a subset of `/proc/PID/stat`). */
export interface ProcEntry {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Session id. */
  sid: number;
  /** Start time after boot in clock ticks: with the PID, identifies a process. */
  startTime: number;
  /** State letter (`Z` zombie, `X`/`x` dead). */
  state: string;
}

/**
 * A process table: what the membership rule reads. `proc_table.ts` reads
 * `/proc` ({@linkcode LiveProcTable}); a test builds one from plain data.
 */
export interface ProcTable<E extends ProcEntry = ProcEntry> {
  /** The process looking: never a member (a supervisor started from inside a service inherits its marker). */
  readonly self: number;
  /** Every PID in the table. */
  pids(): Iterable<number>;
  /** One process, or `undefined` when there is none with that PID. */
  get(pid: number): E | undefined;
  /**
   * The value of `PIDKIT_SERVICE` in the process's environment: `undefined`
   * without one, `null` when the environment cannot be read.
   */
  marker(pid: number): string | undefined | null;
  /** The PIDs in cgroup directory `path` (absolute cgroup2 path; its `cgroup.procs`). */
  cgroupPids(path: string): number[];
  /** The absolute cgroup2 directory of a process, when known. */
  cgroup(pid: number): string | undefined;
}

/** A tree as the rule needs it (a `TreeRef` fits). */
export interface MembershipRef {
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
  /** How members are tracked. */
  tracking: "cgroup" | "group";
  /** The tree's cgroup (absolute path), with cgroup tracking. */
  cgroupPath?: string;
}

/** A tree's leader: PID and start time. */
export interface TreeLeader {
  /** Leader PID. */
  pid: number;
  /** Leader start time (clock ticks after boot). */
  startTime: number;
}

/** What the child subreaper of the trees it spawned (a supervisor) knows about them. */
export interface OrphanRegistry {
  /** The subreaper's PID: orphans of its trees are reparented to it. */
  subreaper: number;
  /** The trees whose orphans it adopts (orphan_claims.ts registers them). */
  adopted: readonly TreeLeader[];
  /** Children it spawned itself (tree leaders among them): never orphans. */
  ownChildren: ReadonlySet<number>;
}

/** What a caller knows beyond the table. */
export interface MembershipContext {
  /** Members seen before, PID to start time: a member stays one. */
  known?: ReadonlyMap<number, { startTime: number }>;
  /** The leader's PID was seen naming a later process (sticky: its group and session are gone). */
  leaderReused?: boolean;
  /** A subreaper adopts orphans of these trees: its unmarked orphans may be claimed. */
  orphans?: OrphanRegistry;
  /** Count a zombie as a member (a notify sender that just exited); never its children. */
  zombies?: boolean;
}

/** Decisions already taken over one table for one tree (reuse only with the same table, ref and context). */
export type MembershipMemo = Map<number, boolean>;

/** True for the state letters of a process that has exited (zombie `Z`, dead `X`/`x`). */
function isDead(state: string): boolean {
  return state === "Z" || state === "X" || state === "x";
}

/** Deeper chains than any real tree (a guard against a malformed table's cycles). */
const MAX_CHAIN = 4096;

/**
 * Whether process `pid` is a live member of the tree `ref` describes, by
 * the rule in the module doc, over `table`. Pass one `memo` to many calls
 * over the same table to decide each ancestor once.
 *
 * @example
 * ```ts
 * import { isMember, type ProcEntry, type ProcTable } from "./membership.ts";
 * const procs = new Map<number, ProcEntry>([
 *   [10, { pid: 10, ppid: 1, pgid: 10, sid: 10, startTime: 5, state: "S" }],
 *   [11, { pid: 11, ppid: 10, pgid: 11, sid: 11, startTime: 6, state: "S" }],
 * ]);
 * const table: ProcTable = {
 *   self: 1,
 *   pids: () => procs.keys(),
 *   get: (pid) => procs.get(pid),
 *   marker: () => undefined,
 *   cgroupPids: () => [],
 *   cgroup: () => undefined,
 * };
 * const ref = { pid: 10, startTime: 5, pgid: 10, sid: 10, marker: "web:ab12cd34", tracking: "group" as const };
 * console.log(isMember(table, ref, 11)); // true: its parent is the leader
 * ```
 */
export function isMember(
  table: ProcTable,
  ref: MembershipRef,
  pid: number,
  ctx: MembershipContext = {},
  memo: MembershipMemo = new Map(),
): boolean {
  const st = candidate(table, ref, pid, ctx);
  if (st === undefined) return false;
  if (ref.tracking === "cgroup" && ref.cgroupPath !== undefined) {
    const dir = table.cgroup(pid);
    return dir !== undefined && (dir === ref.cgroupPath || dir.startsWith(`${ref.cgroupPath}/`));
  }
  return inGroupTree(table, ref, st, ctx, memo);
}

/** The process, when it is alive (or a zombie asked for), not `self`, and started no earlier than the leader. */
function candidate<E extends ProcEntry>(
  table: ProcTable<E>,
  ref: MembershipRef,
  pid: number,
  ctx: MembershipContext,
): E | undefined {
  const st = table.get(pid);
  if (st === undefined || pid === table.self || !(pid > 0)) return undefined;
  if (isDead(st.state) && !(ctx.zombies === true && st.state === "Z")) return undefined;
  // Started before the leader: not of this tree (a PID reused since).
  return st.startTime < ref.startTime ? undefined : st;
}

/**
 * Every live member of the tree `ref` describes, in PID order, by the rule
 * in the module doc, over `table`.
 *
 * @example
 * ```ts
 * import { type ProcEntry, type ProcTable, treeMembers } from "./membership.ts";
 * const procs = new Map<number, ProcEntry>([
 *   [10, { pid: 10, ppid: 1, pgid: 10, sid: 10, startTime: 5, state: "S" }],
 *   [12, { pid: 12, ppid: 1, pgid: 12, sid: 12, startTime: 7, state: "S" }],
 * ]);
 * const table: ProcTable = {
 *   self: 1,
 *   pids: () => procs.keys(),
 *   get: (pid) => procs.get(pid),
 *   marker: (pid) => pid === 12 ? "web:ab12cd34" : undefined,
 *   cgroupPids: () => [],
 *   cgroup: () => undefined,
 * };
 * const ref = { pid: 10, startTime: 5, pgid: 10, sid: 10, marker: "web:ab12cd34", tracking: "group" as const };
 * console.log(treeMembers(table, ref).map((p) => p.pid)); // [10, 12]
 * ```
 */
export function treeMembers<E extends ProcEntry>(
  table: ProcTable<E>,
  ref: MembershipRef,
  ctx: MembershipContext = {},
): E[] {
  if (ref.tracking === "cgroup" && ref.cgroupPath !== undefined) {
    const out: E[] = [];
    // The cgroup's own list: every PID in it is in it (no per-process read).
    for (const pid of table.cgroupPids(ref.cgroupPath)) {
      const st = candidate(table, ref, pid, ctx);
      if (st !== undefined) out.push(st);
    }
    return out.sort((a, b) => a.pid - b.pid);
  }
  return new MembershipIndex(table).members(ref, ctx);
}

/**
 * Options of {@linkcode MembershipIndex}.
 *
 * @example
 * ```ts
 * import type { MembershipIndexOptions } from "./membership.ts";
 * const options: MembershipIndexOptions = { manyTrees: true };
 * ```
 */
export interface MembershipIndexOptions {
  /**
   * Many trees will be asked (`list`, `top`): index every marker once (each
   * process started since the earliest leader asked), so a tree is answered
   * from its seeds alone. Without it, a tree reads only the markers of the
   * processes that are not its members otherwise (`stop` of one big tree).
   */
  manyTrees?: boolean;
}

/**
 * The process tree of one table, built once (children by parent, processes
 * by group and by session, markers as asked): answers
 * {@linkcode treeMembers} in the group tier for any number of trees with the
 * rule in the module doc, each tree from its own seeds (its group, session,
 * known members, marker, claimed orphans) and their descendants, instead of
 * walking every process of the host for each tree. The table must not change
 * while the index is used.
 *
 * @example
 * ```ts
 * import { MembershipIndex, type ProcEntry, type ProcTable } from "./membership.ts";
 * const procs = new Map<number, ProcEntry>([
 *   [10, { pid: 10, ppid: 1, pgid: 10, sid: 10, startTime: 5, state: "S" }],
 *   [11, { pid: 11, ppid: 10, pgid: 11, sid: 11, startTime: 6, state: "S" }],
 * ]);
 * const table: ProcTable = {
 *   self: 1,
 *   pids: () => procs.keys(),
 *   get: (pid) => procs.get(pid),
 *   marker: () => undefined,
 *   cgroupPids: () => [],
 *   cgroup: () => undefined,
 * };
 * const index = new MembershipIndex(table, { manyTrees: true });
 * const ref = { pid: 10, startTime: 5, pgid: 10, sid: 10, marker: "web:ab12cd34", tracking: "group" as const };
 * console.log(index.members(ref).map((p) => p.pid)); // [10, 11]
 * ```
 */
export class MembershipIndex<E extends ProcEntry = ProcEntry> {
  readonly #table: ProcTable<E>;
  readonly #manyTrees: boolean;
  readonly #children = new Map<number, E[]>();
  readonly #groups = new Map<number, E[]>();
  readonly #sessions = new Map<number, E[]>();
  /** Every process, latest start first. */
  readonly #byStart: E[] = [];
  /** With `manyTrees`: processes by marker, for `#byStart[0, #marked)`. */
  readonly #markers = new Map<string, E[]>();
  #marked = 0;
  #built = false;

  /** An index of `table`, built when a group-tier tree is first asked (a cgroup tree needs none). */
  constructor(table: ProcTable<E>, options: MembershipIndexOptions = {}) {
    this.#table = table;
    this.#manyTrees = options.manyTrees === true;
  }

  /** Every process of the table, once. */
  #build(): void {
    if (this.#built) return;
    this.#built = true;
    const table = this.#table;
    for (const pid of table.pids()) {
      const st = table.get(pid);
      if (st === undefined) continue;
      this.#byStart.push(st);
      push(this.#children, st.ppid, st);
      push(this.#groups, st.pgid, st);
      push(this.#sessions, st.sid, st);
    }
    this.#byStart.sort((a, b) => b.startTime - a.startTime);
  }

  /**
   * Every live member of the tree `ref` describes, in PID order: what
   * {@linkcode treeMembers} gives (whose answer agrees with
   * {@linkcode isMember} for every process). A cgroup-tracked tree is read
   * from its cgroup, without the index.
   */
  members(ref: MembershipRef, ctx: MembershipContext = {}): E[] {
    const table = this.#table;
    if (ref.tracking === "cgroup" && ref.cgroupPath !== undefined) {
      return treeMembers(table, ref, ctx);
    }
    this.#build();
    const leader = table.get(ref.pid);
    const reused = ctx.leaderReused === true ||
      (leader !== undefined && leader.startTime !== ref.startTime);
    const subreaper = ctx.orphans?.subreaper;
    const inTree = new Set<number>();
    const todo: E[] = [];
    // Never a member, nor a parent members descend from: the process
    // looking, and any process started before the leader.
    const seed = (st: E) => {
      if (st.pid === table.self || st.startTime < ref.startTime || inTree.has(st.pid)) return;
      inTree.add(st.pid);
      todo.push(st);
    };
    // A member's child is one (an orphan of the subreaper only when claimed).
    const descend = () => {
      for (let st = todo.pop(); st !== undefined; st = todo.pop()) {
        if (st.pid !== subreaper) this.#children.get(st.pid)?.forEach(seed);
      }
    };
    for (const [pid, seen] of ctx.known ?? []) {
      const st = table.get(pid);
      if (st?.startTime === seen.startTime) seed(st);
    }
    if (!reused) {
      this.#groups.get(ref.pgid)?.forEach(seed);
      this.#sessions.get(ref.sid)?.forEach(seed);
    }
    if (ctx.orphans !== undefined) {
      for (const st of this.#children.get(ctx.orphans.subreaper) ?? []) {
        if (!inTree.has(st.pid) && claimsOrphan(table, ctx.orphans, ref, st)) seed(st);
      }
    }
    descend();
    // Its marker: read only now, and only of processes started since its leader.
    if (this.#manyTrees) {
      this.#indexMarkers(ref.startTime);
      this.#markers.get(ref.marker)?.forEach(seed);
    } else {
      for (const st of this.#byStart) {
        if (st.startTime < ref.startTime) break;
        if (!inTree.has(st.pid) && st.pid !== table.self && table.marker(st.pid) === ref.marker) {
          seed(st);
        }
      }
    }
    descend();
    const out: E[] = [];
    for (const pid of inTree) {
      const st = candidate(table, ref, pid, ctx);
      if (st !== undefined) out.push(st);
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  /** Index the markers of every process started at `startTime` or later. */
  #indexMarkers(startTime: number): void {
    const all = this.#byStart;
    for (; this.#marked < all.length && all[this.#marked].startTime >= startTime; this.#marked++) {
      const st = all[this.#marked];
      if (st.pid === this.#table.self) continue;
      const marker = this.#table.marker(st.pid);
      if (typeof marker === "string") push(this.#markers, marker, st);
    }
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** The group tier: walk up the parent chain to the first process whose membership is decided. */
function inGroupTree(
  table: ProcTable,
  ref: MembershipRef,
  st: ProcEntry,
  ctx: MembershipContext,
  memo: MembershipMemo,
): boolean {
  const leader = table.get(ref.pid);
  const reused = ctx.leaderReused === true ||
    (leader !== undefined && leader.startTime !== ref.startTime);
  const chain: ProcEntry[] = [];
  let decided = false;
  for (let cur: ProcEntry | undefined = st; cur !== undefined && chain.length < MAX_CHAIN;) {
    const known = memo.get(cur.pid);
    if (known !== undefined) {
      decided = known;
      break;
    }
    if (cur.pid === table.self || cur.startTime < ref.startTime) {
      memo.set(cur.pid, false);
      break;
    }
    if (
      ctx.known?.get(cur.pid)?.startTime === cur.startTime ||
      !reused && (cur.pgid === ref.pgid || cur.sid === ref.sid)
    ) {
      memo.set(cur.pid, true);
      decided = true;
      break;
    }
    chain.push(cur);
    // An orphan of the subreaper: its real origin is lost; claimsOrphan decides below.
    if (cur.ppid === ctx.orphans?.subreaper) break;
    cur = table.get(cur.ppid);
  }
  // Down the chain again: a member's child is one; otherwise its own marker
  // (read only now: it is the costly part) or a claim as an orphan.
  for (let i = chain.length - 1; i >= 0; i--) {
    const p = chain[i];
    decided = decided || table.marker(p.pid) === ref.marker ||
      (ctx.orphans !== undefined && p.ppid === ctx.orphans.subreaper &&
        claimsOrphan(table, ctx.orphans, ref, p));
    memo.set(p.pid, decided);
  }
  return decided;
}

/**
 * Whether `orphan`, a child of `registry.subreaper` (the child subreaper of
 * the trees in `registry`), belongs to the tree led by `leader`. The kernel
 * keeps no trace of where an orphan came from, so it is claimed only when
 * nothing else can be its origin:
 *
 * - it carries no marker (with this tree's it is a member anyway, with
 *   another tree's it is that tree's) and its environment can be read;
 * - it is not a child the subreaper spawned itself (another tree's leader);
 * - every orphan descends from a tree spawned by the subreaper and started no
 *   earlier than that tree's leader, so when this tree is the only one
 *   adopted (or being spawned: an own child) whose leader started at or
 *   before the orphan, it is this tree's.
 *
 * Otherwise nobody claims it: pidkit never signals a process it cannot tie
 * to the tree (the group tier's documented limit).
 *
 * @example
 * ```ts
 * import { claimsOrphan, type ProcEntry, type ProcTable } from "./membership.ts";
 * const orphan: ProcEntry = { pid: 20, ppid: 1, pgid: 20, sid: 20, startTime: 9, state: "S" };
 * const table: ProcTable = {
 *   self: 1,
 *   pids: () => [20],
 *   get: (pid) => pid === 20 ? orphan : undefined,
 *   marker: () => undefined,
 *   cgroupPids: () => [],
 *   cgroup: () => undefined,
 * };
 * const registry = { subreaper: 1, adopted: [{ pid: 10, startTime: 5 }], ownChildren: new Set<number>() };
 * console.log(claimsOrphan(table, registry, { pid: 10, startTime: 5 }, orphan)); // true
 * ```
 */
export function claimsOrphan(
  table: ProcTable,
  registry: OrphanRegistry,
  leader: TreeLeader,
  orphan: ProcEntry,
): boolean {
  if (orphan.ppid !== registry.subreaper || registry.ownChildren.has(orphan.pid)) return false;
  if (orphan.startTime < leader.startTime) return false;
  const same = (t: TreeLeader) => t.pid === leader.pid && t.startTime === leader.startTime;
  if (!registry.adopted.some(same)) return false;
  if (registry.adopted.some((t) => !same(t) && t.startTime <= orphan.startTime)) return false;
  // A leader spawned but not yet registered (or whose tree is not tracked).
  for (const pid of registry.ownChildren) {
    if (pid === leader.pid) continue;
    const st = table.get(pid);
    if (st !== undefined && st.startTime <= orphan.startTime) return false;
  }
  return table.marker(orphan.pid) === undefined;
}

/**
 * What a subreaper (a run directory's supervisor) knows about the orphans
 * of its trees, told from outside it: the trees it spawned are those of
 * `trees` (the ones it holds, from their records) whose leader started no
 * earlier than it did; its own children are its children in `table` that
 * lead one of `trees`. So `list` and `ps` claim the orphans the supervisor
 * claims when it stops or signals a tree.
 *
 * @example
 * ```ts
 * import { subreaperRegistry, type ProcEntry, type ProcTable } from "./membership.ts";
 * const procs = new Map<number, ProcEntry>([
 *   [10, { pid: 10, ppid: 5, pgid: 10, sid: 10, startTime: 50, state: "S" }],
 * ]);
 * const table: ProcTable = {
 *   self: 1,
 *   pids: () => procs.keys(),
 *   get: (pid) => procs.get(pid),
 *   marker: () => undefined,
 *   cgroupPids: () => [],
 *   cgroup: () => undefined,
 * };
 * const trees = [{ pid: 10, startTime: 50, tracking: "group" as const }];
 * console.log(subreaperRegistry(table, { pid: 5, startTime: 40 }, trees).adopted.length); // 1
 * ```
 */
export function subreaperRegistry(
  table: ProcTable,
  subreaper: TreeLeader,
  trees: readonly (TreeLeader & { tracking: "cgroup" | "group" })[],
): OrphanRegistry {
  const ownChildren = new Set<number>();
  for (const t of trees) {
    const st = table.get(t.pid);
    if (st?.ppid === subreaper.pid && st.startTime === t.startTime) ownChildren.add(t.pid);
  }
  const adopted = trees.filter((t) => t.tracking === "group" && t.startTime >= subreaper.startTime)
    .map((t) => ({ pid: t.pid, startTime: t.startTime }));
  return { subreaper: subreaper.pid, adopted, ownChildren };
}

/**
 * The start time of the latest live orphan of `subreaper` in `table` that
 * no marker names, or `undefined` when there is none: a subreaper's
 * registry can change what belongs to a tree only when such an orphan
 * started no earlier than the tree's leader (so it need not be built
 * otherwise).
 *
 * @example
 * ```ts
 * import { latestUnmarkedOrphan, type ProcTable } from "./membership.ts";
 * const table: ProcTable = {
 *   self: 1,
 *   pids: () => [],
 *   get: () => undefined,
 *   marker: () => undefined,
 *   cgroupPids: () => [],
 *   cgroup: () => undefined,
 * };
 * console.log(latestUnmarkedOrphan(table, 5)); // undefined
 * ```
 */
export function latestUnmarkedOrphan(table: ProcTable, subreaper: number): number | undefined {
  let latest: number | undefined;
  for (const pid of table.pids()) {
    const st = table.get(pid);
    if (st === undefined || st.ppid !== subreaper || isDead(st.state)) continue;
    if (latest !== undefined && st.startTime <= latest) continue;
    if (table.marker(pid) === undefined) latest = st.startTime;
  }
  return latest;
}
