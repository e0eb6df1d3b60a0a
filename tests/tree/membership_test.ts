/**
 * The one tree-membership rule (src/tree/membership.ts) over a synthetic
 * process table: plain data, no process is started. Every view is asked
 * the same question and must give the same answer:
 *
 * - `list` and `ps`: ProcSnapshot.members (src/service/inspect/proc_snapshot.ts);
 * - `status`, `stop` and `signal`: attachTree's tracker, GroupScanner.scan
 *   (src/tree/group_scanner.ts), from the CLI and, with orphans adopted,
 *   from the supervisor that is the subreaper;
 * - `signal --main` and a notify sender's check: isTreeMember
 *   (src/tree/tree_member.ts), one PID at a time.
 *
 * From the CLI, `list` and `ps` are told by the records which supervisor
 * holds a tree and what else it holds, and claim the unmarked orphans that
 * supervisor claims when it stops or signals the tree.
 *
 * The table holds reused PIDs, setsid escapers, double-forked orphans
 * reparented to the subreaper (marked and not), zombies, two services
 * under one supervisor, a tree of another run dir with the same name, and
 * a cgroup-tracked tree.
 */
import assert from "node:assert/strict";
import type { ProcStat } from "../../src/os/proc.ts";
import { GroupScanner } from "../../src/tree/group_scanner.ts";
import { isMember, type ProcTable, treeMembers } from "../../src/tree/membership.ts";
import type { TreeRef } from "../../src/tree/process_tree.ts";
import { isTreeMember } from "../../src/tree/tree_member.ts";
import { type HeldTrees, ProcSnapshot } from "../../src/service/inspect/proc_snapshot.ts";

/** One row of the synthetic table. */
interface Row {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  startTime: number;
  state?: string;
  /** PIDKIT_SERVICE; `null`: environment unreadable. */
  marker?: string | null;
  /** PIDKIT_RUN_DIR (read by nobody here: membership never looks at it). */
  runDir?: string;
  /** Absolute cgroup2 directory. */
  cgroup?: string;
}

/** A process table from rows, seen by process `self`. */
class SyntheticTable implements ProcTable<ProcStat> {
  readonly self: number;
  readonly #rows: Map<number, Row>;
  readonly #stats: Map<number, ProcStat>;

  constructor(self: number, rows: Row[]) {
    this.self = self;
    this.#rows = new Map(rows.map((r) => [r.pid, r]));
    this.#stats = new Map(rows.map((r) => [r.pid, {
      pid: r.pid,
      comm: `p${r.pid}`,
      state: r.state ?? "S",
      ppid: r.ppid,
      pgid: r.pgid,
      sid: r.sid,
      utime: 0,
      stime: 0,
      threads: 1,
      startTime: r.startTime,
      rssPages: 1,
    }]));
  }

  pids(): number[] {
    return [...this.#rows.keys()];
  }
  get(pid: number): ProcStat | undefined {
    return this.#stats.get(pid);
  }
  marker(pid: number): string | undefined | null {
    const row = this.#rows.get(pid);
    return row === undefined ? null : row.marker;
  }
  cgroupPids(path: string): number[] {
    return [...this.#rows.values()].filter((r) => r.cgroup === path).map((r) => r.pid);
  }
  cgroup(pid: number): string | undefined {
    return this.#rows.get(pid)?.cgroup;
  }
}

const SUP = 100; // the run dir's supervisor: child subreaper of every service it holds
const CLI = 900; // a pidkit command looking
const WEB = "web:aaaa1111aaaa";
const API = "api:bbbb2222bbbb";
const OTHER_WEB = "web:cccc3333cccc"; // another run dir's service of the same name
const OLD = "old:dddd4444dddd";
const CG = "/sys/fs/cgroup/pidkit/db-eeee5555eeee";
const DB = "db:eeee5555eeee";

const ref = (pid: number, startTime: number, marker: string, cgroupPath?: string): TreeRef => ({
  pid,
  startTime,
  pgid: pid,
  sid: pid,
  marker,
  tracking: cgroupPath ? "cgroup" : "group",
  ...(cgroupPath ? { cgroupPath } : {}),
});

const trees = {
  web: ref(200, 2000, WEB),
  api: ref(300, 3000, API),
  otherWeb: ref(400, 2100, OTHER_WEB),
  old: ref(500, 1500, OLD), // its leader's PID now names a later process
  db: ref(700, 2600, DB, CG),
};

const rows: Row[] = [
  { pid: 1, ppid: 0, pgid: 1, sid: 1, startTime: 1 },
  { pid: SUP, ppid: 1, pgid: SUP, sid: SUP, startTime: 1000, marker: undefined },
  { pid: CLI, ppid: 1, pgid: CLI, sid: CLI, startTime: 9000, marker: WEB }, // run from inside web
  // web, held by SUP
  { pid: 200, ppid: SUP, pgid: 200, sid: 200, startTime: 2000, marker: WEB, runDir: "/run/a" },
  { pid: 201, ppid: 200, pgid: 200, sid: 200, startTime: 2001, marker: WEB },
  { pid: 202, ppid: 201, pgid: 202, sid: 202, startTime: 2002, marker: WEB }, // setsid escaper
  { pid: 203, ppid: 202, pgid: 203, sid: 203, startTime: 2003 }, // setsid + env -i, parent lives
  { pid: 204, ppid: SUP, pgid: 204, sid: 204, startTime: 2004, marker: WEB }, // double-forked, marked
  { pid: 205, ppid: 200, pgid: 200, sid: 200, startTime: 2005, state: "Z", marker: null }, // zombie
  { pid: 206, ppid: SUP, pgid: 206, sid: 206, startTime: 2500 }, // double-forked, env -i: only web's
  { pid: 207, ppid: 206, pgid: 206, sid: 206, startTime: 2501 }, // its child
  { pid: 208, ppid: 1, pgid: 208, sid: 208, startTime: 2006, marker: WEB }, // reparented to init
  // api, held by SUP too
  { pid: 300, ppid: SUP, pgid: 300, sid: 300, startTime: 3000, marker: API, runDir: "/run/a" },
  { pid: 301, ppid: 300, pgid: 300, sid: 300, startTime: 3001, marker: API },
  { pid: 306, ppid: SUP, pgid: 306, sid: 306, startTime: 3500 }, // env -i orphan: web's or api's?
  // another run dir's "web"
  { pid: 400, ppid: 1, pgid: 400, sid: 400, startTime: 2100, marker: OTHER_WEB, runDir: "/run/b" },
  { pid: 401, ppid: 400, pgid: 400, sid: 400, startTime: 2101, marker: OTHER_WEB },
  // old's leader PID 500 reused by a later stranger (own session), with a child
  { pid: 500, ppid: 1, pgid: 500, sid: 500, startTime: 4000 },
  { pid: 502, ppid: 500, pgid: 500, sid: 500, startTime: 4001 },
  { pid: 501, ppid: 1, pgid: 501, sid: 501, startTime: 1600, marker: OLD }, // old's survivor
  // db, cgroup-tracked
  { pid: 700, ppid: SUP, pgid: 700, sid: 700, startTime: 2600, marker: DB, cgroup: CG },
  { pid: 701, ppid: 1, pgid: 701, sid: 701, startTime: 2601, cgroup: CG }, // escaped all but its cgroup
  {
    pid: 702,
    ppid: 700,
    pgid: 700,
    sid: 700,
    startTime: 2602,
    marker: DB,
    cgroup: "/sys/fs/cgroup/x",
  }, // moved out
  // strangers
  { pid: 600, ppid: 1, pgid: 600, sid: 600, startTime: 5000 },
  { pid: 601, ppid: 1, pgid: 601, sid: 601, startTime: 100, marker: null }, // unreadable, early
];

/** What each tree holds, from the CLI (no orphan can be claimed there). */
const FROM_CLI: Record<keyof typeof trees, number[]> = {
  web: [200, 201, 202, 203, 204, 208],
  api: [300, 301],
  otherWeb: [400, 401],
  old: [501],
  db: [700, 701],
};
/**
 * From the supervisor, the subreaper: web also claims its unmarked orphan
 * and that one's child, and counts the CLI run from inside it (no longer
 * the process looking).
 */
const FROM_SUPERVISOR: Record<keyof typeof trees, number[]> = {
  ...FROM_CLI,
  web: [...FROM_CLI.web, 206, 207, CLI].sort((a, b) => a - b),
};

/** Every view's answer for one tree, by view name. */
function views(table: SyntheticTable, tree: TreeRef, adopter: boolean): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  out["list/ps (ProcSnapshot)"] = new ProcSnapshot(table, 10_000).members(tree).map((m) => m.pid);
  out["treeMembers"] = treeMembers(table, tree).map((m) => m.pid);
  if (tree.tracking === "group") {
    const scanner = new GroupScanner({ ...tree, adopter }, () => table);
    out["status/stop/signal (GroupScanner)"] = scanner.scan().map((m) => m.pid).sort(num);
    if (!adopter) scanner.retire(); // an adopter's registration is asSupervisor's to end
  }
  out["signal --main / notify (isTreeMember)"] = table.pids()
    .filter((pid) => table.get(pid)!.state !== "Z" && isTreeMember(tree, pid, table))
    .sort(num);
  return out;
}

const num = (a: number, b: number) => a - b;

/** Register both group-tier services as the supervisor does (adopted trees), run `fn`, unregister. */
function asSupervisor(fn: () => void): void {
  const held = [trees.web, trees.api].map((t) => new GroupScanner({ ...t, adopter: true }));
  try {
    fn();
  } finally {
    for (const s of held) s.retire();
  }
}

Deno.test("membership: every view agrees on a synthetic table, seen from the CLI", () => {
  const table = new SyntheticTable(CLI, rows);
  for (const [name, tree] of Object.entries(trees) as [keyof typeof trees, TreeRef][]) {
    for (const [view, pids] of Object.entries(views(table, tree, false))) {
      assert.deepEqual(pids, FROM_CLI[name], `${name}: ${view}`);
    }
  }
});

Deno.test("membership: every view agrees on a synthetic table, seen from the supervisor (subreaper)", () => {
  const table = new SyntheticTable(SUP, rows);
  asSupervisor(() => {
    for (const [name, tree] of Object.entries(trees) as [keyof typeof trees, TreeRef][]) {
      const adopter = name !== "otherWeb" && name !== "old";
      const seen = views(table, tree, adopter);
      // ProcSnapshot (list/ps) runs in the CLI, never with the supervisor's registry.
      delete seen["list/ps (ProcSnapshot)"];
      delete seen["treeMembers"];
      for (const [view, pids] of Object.entries(seen)) {
        const want = adopter ? FROM_SUPERVISOR[name] : FROM_CLI[name];
        assert.deepEqual(pids, want, `${name}: ${view}`);
      }
    }
  });
});

Deno.test("membership: list and ps claim the orphans the supervisor claims (told by the records)", () => {
  const table = new SyntheticTable(CLI, rows);
  // The supervisor and the trees its records say it holds.
  const held: HeldTrees = {
    supervisor: { pid: SUP, startTime: 1000 },
    trees: () => [trees.web, trees.api, trees.db],
  };
  const sup = new SyntheticTable(SUP, rows);
  asSupervisor(() => {
    for (const name of ["web", "api", "db"] as const) {
      const fromCli = new ProcSnapshot(table, 10_000).members(trees[name], held).map((m) => m.pid);
      // The supervisor's own view (stop and signal go through it), but for
      // the CLI itself: the process looking is never a member of anything.
      const scanner = name === "db"
        ? undefined
        : new GroupScanner({ ...trees[name], adopter: true }, () => sup);
      const fromSup = scanner
        ? scanner.scan().map((m) => m.pid).sort(num)
        : sup.pids().filter((pid) => isTreeMember(trees[name], pid, sup)).sort(num);
      assert.deepEqual(fromSup, FROM_SUPERVISOR[name], name);
      assert.deepEqual(fromCli, fromSup.filter((pid) => pid !== CLI), name);
    }
  });
  // A tree no supervisor of ours holds claims nothing.
  assert.deepEqual(
    new ProcSnapshot(table, 10_000).members(trees.otherWeb).map((m) => m.pid),
    FROM_CLI.otherWeb,
  );
});

Deno.test("membership: details of the rule", () => {
  const table = new SyntheticTable(CLI, rows);
  // A zombie counts only for a notify sender's check.
  assert.equal(isMember(table, trees.web, 205), false);
  assert.equal(isTreeMember(trees.web, 205, table), true);
  // The looking process never counts, marker or not.
  assert.equal(isMember(table, trees.web, CLI), false);
  // The supervisor's own child leading another tree is not web's; the ambiguous orphan nobody's.
  const sup = new SyntheticTable(SUP, rows);
  asSupervisor(() => {
    assert.equal(isTreeMember(trees.web, 300, sup), false);
    assert.equal(isTreeMember(trees.web, 306, sup), false);
    assert.equal(isTreeMember(trees.api, 306, sup), false);
  });
  // A member seen before stays one while its PID names the same process, and not after reuse.
  const moved = rows.map((r) => r.pid === 202 ? { ...r, ppid: 1, marker: undefined } : r);
  const later = new SyntheticTable(CLI, moved);
  assert.equal(isMember(later, trees.web, 203), false, "a fresh look cannot tie 203 to web");
  const reused = new SyntheticTable(
    CLI,
    moved.map((r) => r.pid === 203 ? { ...r, ppid: 1, startTime: 6000 } : r),
  );
  let current: ProcTable<ProcStat> = table;
  const scannerKept = new GroupScanner(trees.web, () => current);
  assert.ok(scannerKept.scan().some((m) => m.pid === 203), "seen once");
  current = later;
  assert.ok(scannerKept.scan().some((m) => m.pid === 203), "kept: same PID and start time");
  current = reused;
  assert.ok(!scannerKept.scan().some((m) => m.pid === 203), "dropped: its PID was reused");
});
