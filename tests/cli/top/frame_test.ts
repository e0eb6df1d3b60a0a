/** `pidkit top`'s screen as pure functions: sorting, the selection, one frame's lines. */
import assert from "node:assert/strict";
import {
  moveSelection,
  nextSort,
  renderFrame,
  SORT_KEYS,
  sortServices,
  type TopFrame,
} from "../../../src/cli/top/frame.ts";
import type { TopService } from "../../../src/service/top/top_sampler.ts";

function service(name: string, change: Partial<TopService> = {}): TopService {
  return {
    name,
    state: "running",
    ready: true,
    statusText: null,
    pid: 100,
    processes: 1,
    memoryBytes: 1024 * 1024,
    cpuPercent: 0,
    restarts: 0,
    uptimeMs: 65_000,
    ...change,
  };
}

const SERVICES = [
  service("web", { cpuPercent: 12.5, memoryBytes: 50 * 1024 * 1024, restarts: 1, pid: 4101 }),
  service("db", { cpuPercent: 40, memoryBytes: 10 * 1024 * 1024, restarts: 0, pid: 4102 }),
  service("worker", {
    state: "starting",
    ready: false,
    cpuPercent: null,
    restarts: 7,
    pid: 4103,
    processes: 3,
    statusText: "warming\tcache\x1b[31m",
  }),
  service("old", {
    state: "stopped",
    ready: null,
    pid: null,
    processes: 0,
    memoryBytes: 0,
    cpuPercent: null,
    uptimeMs: null,
    restarts: 2,
  }),
];

const names = (s: TopService[]) => s.map((x) => x.name);

Deno.test("sort: by name; busiest first by cpu, memory, restarts; unknown last, ties by name", () => {
  assert.deepEqual(names(sortServices(SERVICES, "name")), ["db", "old", "web", "worker"]);
  assert.deepEqual(names(sortServices(SERVICES, "cpu")), ["db", "web", "old", "worker"]);
  assert.deepEqual(names(sortServices(SERVICES, "memory")), ["web", "db", "worker", "old"]);
  assert.deepEqual(names(sortServices(SERVICES, "restarts")), ["worker", "old", "web", "db"]);
  assert.deepEqual(names(SERVICES), ["web", "db", "worker", "old"], "input untouched");
  assert.deepEqual(SORT_KEYS.map(nextSort), ["cpu", "memory", "restarts", "name"]);
});

Deno.test("selection: by name, clamped at both ends, paging, a vanished one starts at the top", () => {
  const rows = sortServices(SERVICES, "name"); // db old web worker
  assert.equal(moveSelection(rows, "db", "down", 2), "old");
  assert.equal(moveSelection(rows, "db", "up", 2), "db");
  assert.equal(moveSelection(rows, "worker", "down", 2), "worker");
  assert.equal(moveSelection(rows, "db", "page-down", 2), "web");
  assert.equal(moveSelection(rows, "web", "page-up", 10), "db");
  assert.equal(moveSelection(rows, "old", "end", 2), "worker");
  assert.equal(moveSelection(rows, "web", "home", 2), "db");
  assert.equal(moveSelection(rows, "gone", "down", 2), "db");
  assert.equal(moveSelection(rows, "web", "sort", 2), "web");
  assert.equal(moveSelection([], "web", "down", 2), undefined);
});

function frame(change: Partial<TopFrame> = {}): TopFrame {
  const sorted = sortServices(SERVICES, "name");
  return {
    sample: { dir: "/run/pidkit", uptimeSeconds: 1000, services: SERVICES, stoppedSupervisors: [] },
    sorted,
    sort: "name",
    selected: "old",
    clock: "20:14:03",
    color: false,
    columns: 100,
    rows: 10,
    ...change,
  };
}

Deno.test("frame: title, headings, rows with the selection marked, help; exactly `rows` lines", () => {
  const lines = renderFrame(frame());
  assert.equal(lines.length, 10);
  assert.equal(
    lines[0],
    "pidkit top  /run/pidkit  4 services, 3 running  sort: name  20:14:03",
  );
  assert.equal(
    lines[1],
    "  NAME    STATE       READY      PID  PROCS    CPU%        MEM  RESTARTS   UPTIME  STATUS",
  );
  assert.equal(
    lines[2],
    "  db      running     yes       4102      1    40.0     10 MiB         0    1m05s",
  );
  assert.equal(
    lines[3],
    "> old     stopped     -            -      -       -          -         2        -",
  );
  assert.equal(
    lines[5],
    "  worker  starting    no        4103      3       -    1.0 MiB         7    1m05s  warming cache?[31", // cut at 100
  );
  assert.deepEqual(lines.slice(6, 9), ["", "", ""]);
  assert.equal(lines[9], "q quit  s sort  up/down select  l logs");
});

Deno.test("frame: nothing wider than the terminal; a tiny one gets what fits", () => {
  for (const columns of [1, 20, 47, 80]) {
    for (const line of renderFrame(frame({ columns }))) assert.ok(line.length <= columns, line);
  }
  assert.deepEqual(renderFrame(frame({ rows: 0 })), []);
  assert.equal(renderFrame(frame({ rows: 2 })).length, 2);
  assert.equal(renderFrame(frame({ rows: 3 })).at(-1), "q quit  s sort  up/down select  l logs");
});

Deno.test("frame: the window scrolls to keep the selection in view", () => {
  const many = Array.from({ length: 50 }, (_, i) => service(`s${String(i).padStart(2, "0")}`));
  const lines = renderFrame(frame({ sorted: many, selected: "s30", rows: 8 })); // 5 table rows
  assert.deepEqual(lines.slice(2, 7).map((l) => l.slice(0, 5)), [
    "  s26",
    "  s27",
    "  s28",
    "  s29",
    "> s30",
  ]);
  const top = renderFrame(frame({ sorted: many, selected: "s00", rows: 8 }));
  assert.equal(top[2].slice(0, 5), "> s00");
});

Deno.test("frame: the log pane takes the lower half with the last lines, control bytes made harmless", () => {
  const lines = renderFrame(frame({
    rows: 12,
    logs: { name: "old", lines: ["one", "two", "three\x1b[2J", "four"] },
  }));
  assert.equal(lines.length, 12);
  // 9 rows below the headings: 5 for the table, 4 for the pane (its title and 3 lines).
  assert.match(lines[7], /^-- old: last log lines -+$/);
  assert.deepEqual(lines.slice(8, 11), ["two", "three?[2J", "four"]);
  assert.equal(lines[11], "q quit  s sort  up/down select  l logs (l/Esc close)");
});

Deno.test("frame: colour paints the state word and the selected row, and keeps the width", () => {
  const lines = renderFrame(frame({ color: true, columns: 30 }));
  assert.ok(lines[2].includes("\x1b[32mrunning"), lines[2]);
  assert.ok(lines[3].startsWith("\x1b[7m> old"), lines[3]);
  // deno-lint-ignore no-control-regex
  for (const l of lines) assert.ok(l.replace(/\x1b\[[0-9;]*m/g, "").length <= 30);
  const stopped = renderFrame(frame({
    sample: { ...frame().sample, stoppedSupervisors: [77] },
  }));
  assert.match(stopped.at(-1)!, /supervisor 77 stopped \(kill -CONT resumes\)/);
});

Deno.test("frame: the title says 1 service, not 1 services", () => {
  const full = frame();
  const lines = renderFrame(frame({ sorted: full.sorted.slice(0, 1) }));
  assert.match(lines[0], /^pidkit top {2}\/run\/pidkit {2}1 service, 1 running {2}sort: name/);
});
