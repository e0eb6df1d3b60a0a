/**
 * The membership rule's index (MembershipIndex in src/tree/membership.ts,
 * what `list`, `ps` and `top` ask for every group-tier tree of one
 * snapshot) against the rule one process at a time (isMember), over
 * random synthetic tables: parents, groups, sessions, markers (some
 * unreadable), zombies, reused leader PIDs, members seen before and orphans
 * of a subreaper. Plain data, no process is started.
 */
import assert from "node:assert/strict";
import {
  isMember,
  type MembershipContext,
  MembershipIndex,
  type MembershipRef,
  type ProcEntry,
  type ProcTable,
  subreaperRegistry,
} from "../../src/tree/membership.ts";

/** A small deterministic generator (xorshift), so a failure can be replayed by its seed. */
function random(seed: number): (n: number) => number {
  let x = seed || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

interface World {
  table: ProcTable;
  refs: MembershipRef[];
  ctxs: MembershipContext[];
}

function world(seed: number): World {
  const r = random(seed);
  const procs = new Map<number, ProcEntry>();
  const markers = new Map<number, string | undefined | null>();
  const names = ["a:1", "b:2", "c:3", "d:4", "e:5"];
  const count = 20 + r(60);
  procs.set(1, { pid: 1, ppid: 0, pgid: 1, sid: 1, startTime: 1, state: "S" });
  const sup = 2;
  procs.set(sup, { pid: sup, ppid: 1, pgid: sup, sid: sup, startTime: 2, state: "S" });
  for (let i = 0; i < count; i++) {
    const pid = 3 + r(200);
    if (procs.has(pid)) continue;
    const all = [...procs.values()];
    const parent = all[r(all.length)];
    const startTime = r(4) === 0 ? r(50) : parent.startTime + 1 + r(20);
    const own = r(3) === 0;
    procs.set(pid, {
      pid,
      ppid: r(8) === 0 ? sup : parent.pid,
      pgid: own ? pid : parent.pgid,
      sid: own && r(2) === 0 ? pid : parent.sid,
      startTime,
      state: ["S", "S", "S", "R", "Z", "X"][r(6)],
    });
    const m = r(5);
    markers.set(pid, m === 0 ? undefined : m === 1 ? null : names[r(names.length)]);
  }
  const self = r(3) === 0 ? sup : [...procs.keys()][r(procs.size)];
  const table: ProcTable = {
    self,
    pids: () => procs.keys(),
    get: (pid) => procs.get(pid),
    marker: (pid) => procs.has(pid) ? markers.get(pid) : null,
    cgroupPids: () => [],
    cgroup: () => undefined,
  };
  const refs: MembershipRef[] = [];
  const ctxs: MembershipContext[] = [];
  const entries = [...procs.values()];
  for (let t = 0; t < 6; t++) {
    const leader = entries[r(entries.length)];
    const ref: MembershipRef = {
      pid: leader.pid,
      startTime: r(4) === 0 ? leader.startTime - 1 : leader.startTime,
      pgid: r(4) === 0 ? entries[r(entries.length)].pgid : leader.pgid,
      sid: leader.sid,
      marker: names[r(names.length)],
      tracking: "group",
    };
    refs.push(ref);
    const known = new Map<number, { startTime: number }>();
    for (let k = r(4); k > 0; k--) {
      const e = entries[r(entries.length)];
      known.set(e.pid, { startTime: r(3) === 0 ? e.startTime + 1 : e.startTime });
    }
    ctxs.push({ known, leaderReused: r(6) === 0, zombies: r(3) === 0 });
  }
  // The subreaper's view: its trees' orphans may be claimed.
  const registry = subreaperRegistry(table, { pid: sup, startTime: 2 }, refs);
  for (let t = 0; t < refs.length; t++) if (r(2) === 0) ctxs[t].orphans = registry;
  return { table, refs, ctxs };
}

Deno.test("membership index: agrees with isMember for every process of random tables", () => {
  for (let seed = 1; seed <= 400; seed++) {
    const { table, refs, ctxs } = world(seed);
    const shared = new MembershipIndex(table, { manyTrees: true });
    refs.forEach((ref, t) => {
      const want = [...table.pids()].filter((pid) => isMember(table, ref, pid, ctxs[t]))
        .sort((a, b) => a - b);
      const many = shared.members(ref, ctxs[t]).map((p) => p.pid);
      const one = new MembershipIndex(table).members(ref, ctxs[t]).map((p) => p.pid);
      assert.deepEqual(many, want, `seed ${seed}, tree ${t} (many trees)`);
      assert.deepEqual(one, want, `seed ${seed}, tree ${t} (one tree)`);
    });
  }
});
