/**
 * serviceLogs and serviceProcesses from code: the tail across rotated
 * files (a hole in the numbering is a warning item), following across
 * rotations that come faster than the reader looks, the times the sink
 * stamps, and the process tree `pidkit ps` prints.
 */
import assert from "node:assert/strict";
import {
  PidkitError,
  type ServiceLogItem,
  serviceLogs,
  serviceProcesses,
} from "../../../service.ts";
import { LogSink } from "../../../src/service/output/log_sink.ts";
import { rotatedPath } from "../../../src/service/output/log_rotation.ts";
import { SIZE_CHECK_MS, timesPath } from "../../../src/service/output/log_times.ts";
import { tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const enc = new TextEncoder();

function lines(items: ServiceLogItem[]): string[] {
  return items.flatMap((i) => i.type === "line" ? [i.text] : []);
}

Deno.test("serviceLogs: the last N lines across rotated files; a hole is a warning item, read past", async () => {
  await using tmp = tempDir();
  const log = tmp.join("web.log");
  await Deno.writeTextFile(rotatedPath(log, 3), "three-a\nthree-b\n");
  await Deno.writeTextFile(rotatedPath(log, 1), "one-a\none-b\n");
  await Deno.writeTextFile(log, "now-a\nnow-b");
  const all = await Array.fromAsync(serviceLogs("web", { dir: tmp.path, lines: 100 }));
  assert.equal(all[0].type, "warning");
  assert.match((all[0] as { message: string }).message, /web\.log\.2 is missing/);
  assert.deepEqual(lines(all), ["three-a", "three-b", "one-a", "one-b", "now-a", "now-b"]);
  const last = all.at(-1)!;
  assert.ok(last.type === "line" && !last.newline && last.service === "web");
  // Fewer lines: only the files needed, and no warning when the hole is not reached.
  const three = await Array.fromAsync(serviceLogs("web", { dir: tmp.path, lines: 3 }));
  assert.deepEqual(three.map((i) => i.type), ["line", "line", "line"]);
  assert.deepEqual(lines(three), ["one-b", "now-a", "now-b"]);
  assert.deepEqual(await Array.fromAsync(serviceLogs("web", { dir: tmp.path, lines: 0 })), []);
  await assert.rejects(
    Array.fromAsync(serviceLogs("nope", { dir: tmp.path })),
    (e) =>
      e instanceof PidkitError && /no log for nope: .*nope\.log does not exist/.test(e.message),
  );
});

Deno.test("serviceLogs follow: every line once, in order, across rotations faster than it looks", async () => {
  await using tmp = tempDir();
  const log = tmp.join("fast.log");
  const sink = await LogSink.open(log, { rotation: { maxBytes: 1024, keep: 20 }, times: true });
  await sink.write(enc.encode("before 1\nbefore 2\n"));
  const controller = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (
      const item of serviceLogs("fast", {
        dir: tmp.path,
        lines: 1,
        follow: true,
        signal: controller.signal,
      })
    ) {
      if (item.type === "line") seen.push(item.text);
    }
  })();
  try {
    await waitUntil(() => seen.length === 1, { what: "the tail" });
    // About 25 lines a file: each burst of 60 rotates two or three times
    // between two looks of the follower.
    for (let burst = 0; burst < 10; burst++) {
      const text = Array.from({ length: 60 }, (_, i) => `line ${burst * 60 + i} of the log\n`).join(
        "",
      );
      await sink.write(enc.encode(text));
      await new Promise((r) => setTimeout(r, 30));
    }
    await waitUntil(() => seen.at(-1) === "line 599 of the log", {
      timeoutMs: 20_000,
      what: "the last line",
    });
  } finally {
    controller.abort();
    await reading;
    await sink.close();
  }
  assert.equal(seen[0], "before 2");
  assert.deepEqual(seen.slice(1), Array.from({ length: 600 }, (_, i) => `line ${i} of the log`));
});

Deno.test("serviceLogs follow: a log that does not exist yet, then truncated; abort ends it", async () => {
  await using tmp = tempDir();
  const log = tmp.join("late.log");
  // Longer than what follows the truncation: the follower sees the file
  // shrink whenever it looks next (an append that outgrew the old length
  // before it looked could not be told from an append, as with tail -F).
  const first = "first, a line longer than the one after the truncation";
  const controller = new AbortController();
  const seen: string[] = [];
  // The log is made only once the follower has looked and found none (a
  // fixed wait would turn into the "log exists" case under load).
  let waiting: string | undefined;
  const onWaiting = (path: string) => waiting = path;
  const options = { dir: tmp.path, follow: true, signal: controller.signal, onWaiting };
  const reading = (async () => {
    for await (const item of serviceLogs("late", options)) {
      if (item.type === "line") seen.push(item.text);
    }
  })();
  try {
    await waitUntil(() => waiting !== undefined, {
      timeoutMs: 20_000,
      what: "the follower to look",
    });
    assert.equal(waiting, log);
    await Deno.writeTextFile(log, `${first}\n`);
    await waitUntil(() => seen.includes(first), { what: "first" });
    await Deno.truncate(log, 0);
    await Deno.writeTextFile(log, "after\n", { append: true });
    await waitUntil(() => seen.includes("after"), { what: "after" });
  } finally {
    controller.abort();
    await reading;
  }
  assert.deepEqual(seen, [first, "after"]);
});

Deno.test("the sink stamps lines beside the log; the log itself is what was written", async () => {
  await using tmp = tempDir();
  const log = tmp.join("stamped.log");
  const t0 = Date.now();
  const sink = await LogSink.open(log, { times: true });
  await sink.write(enc.encode("one\ntw"));
  await new Promise((r) => setTimeout(r, 20));
  const t1 = Date.now();
  await sink.write(enc.encode("o\nthree\n"));
  await sink.close();
  const t2 = Date.now();
  assert.equal(await Deno.readTextFile(log), "one\ntwo\nthree\n");
  const side = await Deno.readTextFile(timesPath(log));
  assert.match(side, /^(\d{20} \d{15} \d{13}\n){2}$/);
  const items = await Array.fromAsync(serviceLogs("stamped", { dir: tmp.path }));
  const times = items.map((i) => i.type === "line" ? i.time!.getTime() : NaN);
  assert.ok(times[0] >= t0 && times[0] <= t1, "one: the first write");
  assert.ok(times[1] >= t1 && times[1] <= t2, "two: when its newline was written");
  assert.equal(times[2], times[1]);
  // A log without a side file: no times.
  await Deno.writeTextFile(tmp.join("plain.log"), "x\n");
  const plain = await Array.fromAsync(serviceLogs("plain", { dir: tmp.path }));
  assert.ok(plain[0].type === "line" && plain[0].time === undefined);
});

Deno.test("serviceProcesses: the tree in ps's order and shape; not running is a PidkitError", async () => {
  await using svc = new Services();
  const name = uniqueName("tree");
  await svc.start(name, [], ["sh", "-c", "sleep 300 & sleep 300 & wait"]);
  await waitUntil(
    async () => (await serviceProcesses(name, { dir: svc.dir.path })).processes.length === 3,
    {
      what: "three processes",
    },
  );
  const tree = await serviceProcesses(name, { dir: svc.dir.path });
  const cli = JSON.parse((await svc.cli(["ps", name, "--json"])).stdout);
  assert.deepEqual(Object.keys(tree), Object.keys(cli));
  assert.deepEqual(
    tree.processes.map((p) => [p.pid, p.depth]),
    cli.processes.map((p: { pid: number; depth: number }) => [p.pid, p.depth]),
  );
  assert.equal(tree.processes[0].depth, 0);
  assert.deepEqual(tree.processes.slice(1).map((p) => p.depth), [1, 1]);
  assert.equal(tree.state, "running");
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assert.rejects(
    serviceProcesses(name, { dir: svc.dir.path }),
    (e) => e instanceof PidkitError && e.message === `${name} is not running (stopped)`,
  );
});

Deno.test("times after a truncation (copytruncate) are the new lines', not the old file's", async () => {
  await using tmp = tempDir();
  const log = tmp.join("cut.log");
  const sink = await LogSink.open(log, { times: true });
  await sink.write(enc.encode("old line that is long enough\n"));
  await new Promise((r) => setTimeout(r, 5));
  await sink.write(enc.encode("another old line\n")); // a second stamp, further on
  await Deno.truncate(log, 0);
  await new Promise((r) => setTimeout(r, SIZE_CHECK_MS + 100)); // the sink reads the size again
  const t1 = Date.now();
  await sink.write(enc.encode("new\n"));
  await sink.close();
  const [line] = await Array.fromAsync(serviceLogs("cut", { dir: tmp.path }));
  assert.ok(line.type === "line" && line.text === "new");
  assert.ok(line.time!.getTime() >= t1, `${line.time!.toISOString()} is the new line's`);
});
