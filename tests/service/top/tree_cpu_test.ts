/** CPU % of a tree from two looks at its processes (pure: no processes). */
import assert from "node:assert/strict";
import { type ProcessTicks, treeCpuPercent } from "../../../src/service/top/tree_cpu.ts";

const look = (...ps: ProcessTicks[]) => new Map(ps.map((p) => [p.pid, p]));
const two = { fromSeconds: 100, toSeconds: 102 }; // two seconds; 100 ticks a second

Deno.test("tree CPU: the same processes' tick deltas over the elapsed time, percent of one core", () => {
  const before = look({ pid: 1, startTime: 50, ticks: 100 }, { pid: 2, startTime: 60, ticks: 10 });
  const after = look({ pid: 1, startTime: 50, ticks: 200 }, { pid: 2, startTime: 60, ticks: 110 });
  assert.equal(treeCpuPercent(before, after, two), 100); // 200 ticks in 2 s: one core
});

Deno.test("tree CPU: a process started since the earlier look counts whole", () => {
  const before = look({ pid: 1, startTime: 50, ticks: 100 });
  const after = look({ pid: 1, startTime: 50, ticks: 100 }, {
    pid: 4,
    startTime: 10_100,
    ticks: 40,
  });
  assert.equal(treeCpuPercent(before, after, two), 20);
});

Deno.test("tree CPU: a member that ended moves its time into its parent's: only the new part counts", () => {
  // Child 3 had used 30 ticks; it used 10 more, ended, and its parent 1 waited for it (40 into
  // its children's time), while 1 itself used 20.
  const before = look({ pid: 1, startTime: 50, ticks: 100 }, { pid: 3, startTime: 70, ticks: 30 });
  const after = look({ pid: 1, startTime: 50, ticks: 160 });
  assert.equal(treeCpuPercent(before, after, two), 15); // 30 ticks in 2 s
  // Commands that ran and ended between the looks (a shell loop): all in the parent's.
  const shell = look({ pid: 1, startTime: 50, ticks: 100 });
  assert.equal(treeCpuPercent(shell, look({ pid: 1, startTime: 50, ticks: 180 }), two), 40);
});

Deno.test("tree CPU: a reused PID is a new process; an old unseen one adds nothing; never below 0", () => {
  const before = look({ pid: 1, startTime: 50, ticks: 500 });
  // PID 1 now names a process started after the earlier look: its ticks count, the old one's go.
  assert.equal(
    treeCpuPercent(
      look({ pid: 1, startTime: 50, ticks: 10 }),
      look({ pid: 1, startTime: 10_100, ticks: 20 }),
      two,
    ),
    5,
  );
  // A process that ran before the earlier look but was not in the tree: no baseline.
  assert.equal(
    treeCpuPercent(look(), look({ pid: 9, startTime: 40, ticks: 300 }), two),
    0,
  );
  // The leader ended, waited for by its supervisor (outside the tree): its time is gone.
  assert.equal(treeCpuPercent(before, look(), two), 0);
});

Deno.test("tree CPU: null without an earlier look or without elapsed time", () => {
  assert.equal(treeCpuPercent(undefined, look(), two), null);
  assert.equal(treeCpuPercent(look(), look(), { fromSeconds: 5, toSeconds: 5 }), null);
  assert.equal(treeCpuPercent(look(), look(), two), 0);
  assert.equal(
    treeCpuPercent(
      look({ pid: 1, startTime: 0, ticks: 0 }),
      look({ pid: 1, startTime: 0, ticks: 3 }),
      { fromSeconds: 1, toSeconds: 2, ticksPerSecond: 3 },
    ),
    100,
  );
});
