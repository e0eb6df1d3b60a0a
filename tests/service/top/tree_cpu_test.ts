/** CPU % of a tree from two looks at its processes (pure: no processes). */
import assert from "node:assert/strict";
import { type ProcessTicks, treeCpuPercent } from "../../../src/service/top/tree_cpu.ts";

const look = (...ps: ProcessTicks[]) => new Map(ps.map((p) => [p.pid, p]));
const one = { fromSeconds: 100, toSeconds: 102 }; // two seconds; 100 ticks a second

Deno.test("tree CPU: the same processes' tick deltas over the elapsed time, percent of one core", () => {
  const before = look({ pid: 1, startTime: 50, ticks: 100 }, { pid: 2, startTime: 60, ticks: 10 });
  const after = [{ pid: 1, startTime: 50, ticks: 200 }, { pid: 2, startTime: 60, ticks: 110 }];
  assert.equal(treeCpuPercent(before, after, one), 100); // 200 ticks in 2 s: one core
});

Deno.test("tree CPU: a process started since the earlier look counts whole; one that ended counts nothing", () => {
  const before = look({ pid: 1, startTime: 50, ticks: 100 }, { pid: 3, startTime: 70, ticks: 999 });
  const after = [
    { pid: 1, startTime: 50, ticks: 100 },
    { pid: 4, startTime: 100 * 101, ticks: 40 }, // started at 101 s
  ];
  assert.equal(treeCpuPercent(before, after, one), 20);
});

Deno.test("tree CPU: a reused PID is a new process; an old process unseen before adds nothing", () => {
  const before = look({ pid: 1, startTime: 50, ticks: 500 });
  // PID 1 now names a process started after the earlier look: all its ticks count.
  assert.equal(treeCpuPercent(before, [{ pid: 1, startTime: 10_100, ticks: 20 }], one), 10);
  // A process that ran before the earlier look but was not in the tree: no baseline.
  assert.equal(treeCpuPercent(before, [{ pid: 9, startTime: 40, ticks: 300 }], one), 0);
  // Ticks never go back; if they seem to, nothing is counted.
  assert.equal(treeCpuPercent(before, [{ pid: 1, startTime: 50, ticks: 400 }], one), 0);
});

Deno.test("tree CPU: null without an earlier look or without elapsed time", () => {
  assert.equal(treeCpuPercent(undefined, [], one), null);
  assert.equal(treeCpuPercent(look(), [], { fromSeconds: 5, toSeconds: 5 }), null);
  assert.equal(treeCpuPercent(look(), [], one), 0);
  assert.equal(
    treeCpuPercent(look({ pid: 1, startTime: 0, ticks: 0 }), [{ pid: 1, startTime: 0, ticks: 3 }], {
      fromSeconds: 1,
      toSeconds: 2,
      ticksPerSecond: 3,
    }),
    100,
  );
});
