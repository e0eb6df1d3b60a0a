/**
 * `--max-memory`: a service whose tree grows over the limit is restarted
 * through its stop schedule within about a sample, once; `status` shows
 * the restart, which counts in `restarts` (a manual restart starts the
 * count again); bad sizes start nothing. The cgroup `memory.max` path runs
 * only where the memory controller can be had (it skips, saying why).
 *
 * @module
 */
import assert from "node:assert/strict";
import { alive, exists, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { memoryControllerAt, MemoryPolicy } from "../../../src/service/policies/memory_policy.ts";
import type { PolicyTarget } from "../../../src/service/model/policy.ts";
import type { TreeRef } from "../../../src/tree/process_tree.ts";

/** A service that holds ~80 MiB on its first run (perl) and little on the next (sleep). */
function growOnce(dir: string): string[] {
  const mark = `${dir}/grown`;
  return [
    "sh",
    "-c",
    `if [ -e ${mark} ]; then exec sleep 1000; fi; touch ${mark}; ` +
    `exec perl -e '$x = "a" x (80 << 20); sleep 1000'`,
  ];
}

/** The ms of a `[pidkit] ISO text` log line matching `re`. */
function lineTime(log: string, re: RegExp): number {
  const line = log.split("\n").find((l) => re.test(l));
  assert.ok(line, `no line ${re} in:\n${log}`);
  return Date.parse(line.split(" ")[1]);
}

Deno.test({
  name:
    "--max-memory: a tree over the limit is restarted once, through its stop schedule; status says so",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("hog");
    const first = await services.start(
      name,
      ["--max-memory", "40M", "--retry", "TERM/5/KILL/2"],
      growOnce(services.dir.path),
    );
    await waitUntil(async () => (await services.state(name)).policyAction !== undefined, {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: "the memory restart",
    });
    await waitUntil(async () => {
      const s = await services.state(name);
      return s.phase === "running" && s.tree !== undefined && s.tree.pid !== first.tree!.pid;
    }, { timeoutMs: 20_000, intervalMs: 100, what: "the new tree" });
    const restarted = await services.state(name);
    assert.ok(!alive(first.tree!.pid), "the old tree still lives");
    assert.equal(restarted.policyAction?.policy, "memory");
    assert.equal(restarted.policyAction?.action, "restart");
    assert.match(restarted.policyAction!.reason, /MiB over --max-memory 40 MiB/);
    // An automatic restart counts (pm2 counts its max_memory_restart): the record, the metric.
    assert.equal(restarted.restarts, 1);
    const metrics = (await services.cli(["metrics"])).stdout;
    assert.match(metrics, new RegExp(`pidkit_service_restarts_total\\{service="${name}"\\} 1\n`));
    const log = await Deno.readTextFile(services.dir.join(`${name}.log`));
    assert.match(log, /stopping .*: TERM\/5s\/KILL\/2s/);
    // Sampled every second: the restart comes within a sample or two of the start.
    const started = lineTime(log, /started .* \(pid /);
    const over = lineTime(log, /over --max-memory 40 MiB: restarting it/);
    assert.ok(over - started < 5000, `over the limit noticed ${over - started} ms after the start`);
    const human = await services.cli(["status", name]);
    assert.match(human.stdout, /last memory restart: \S+: \d.* MiB over --max-memory 40 MiB/);
    const json = JSON.parse((await services.cli(["status", name, "--json"])).stdout);
    assert.equal(json.policyAction.policy, "memory");
    // The new tree stays under the limit: no second restart over a few samples.
    const pid = restarted.tree!.pid;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await services.state(name)).tree?.pid, pid);
    // A manual restart is a new start: the count starts again (as systemd's NRestarts).
    assert.equal((await services.cli(["restart", name])).code, 0);
    const manual = await services.state(name);
    assert.notEqual(manual.tree?.pid, pid);
    assert.equal(manual.restarts, 0);
    assert.equal((await services.cli(["stop", name])).code, 0);
  },
});

Deno.test({
  name: "--max-memory: bad sizes are one line, exit 2, nothing started",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    for (
      const [value, why] of [
        ["0", /bad --max-memory '0': must be more than 0/],
        ["abc", /bad --max-memory 'abc' \(use a size such as 200M or 1G\)/],
        ["10X", /bad --max-memory '10X'/],
      ] as const
    ) {
      const r = await services.cli(["start", "x", "--max-memory", value, "--", "true"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
    assert.deepEqual([...Deno.readDirSync(services.dir.path)], []);
  },
});

Deno.test("MemoryPolicy: restarts only a running tree over the limit, and only once per tree", () => {
  const ref = {
    pid: 42,
    startTime: 1,
    pgid: 42,
    sid: 42,
    marker: "m:1",
    tracking: "group",
  } as TreeRef;
  let running = true;
  let used = 10;
  const restarts: string[] = [];
  const target: PolicyTarget = {
    name: "web",
    running: () => running,
    tree: () => ref,
    restart: ({ reason }) => {
      restarts.push(reason);
      running = false; // the supervisor is restarting it
    },
    start: () => {},
    log: () => {},
    scheduled: () => {},
  };
  const policy = new MemoryPolicy(target, { maxBytes: 100, measure: () => used });
  policy.sample();
  assert.deepEqual(restarts, []);
  used = 200;
  policy.sample();
  policy.sample();
  assert.deepEqual(restarts, ["200 B over --max-memory 100 B"]);
});

Deno.test({
  name: "--max-memory with the cgroup memory controller: memory.max is set",
  sanitizeResources: false,
  async fn(t) {
    await using services = new Services();
    const name = uniqueName("cg");
    const r = await services.cli([
      "start",
      name,
      "--tracking",
      "cgroup",
      "--max-memory",
      "64M",
      "--",
      "sleep",
      "1000",
    ]);
    const path = r.code === 0 ? (await services.state(name)).tree?.cgroupPath : undefined;
    const why = r.code !== 0
      ? `no cgroup tier here (${r.stderr.trim()})`
      : path === undefined
      ? "the tree is not in a cgroup"
      : !memoryControllerAt(path)
      ? `the cgroup v2 hierarchy has no memory controller (${
        path.replace(/\/[^/]+$/, "")
      }/cgroup.controllers): only the sampled limit applies`
      : undefined;
    if (why !== undefined) {
      console.log(`skip: ${why}`);
      await t.step({ name: `memory.max (skipped: ${why})`, ignore: true, fn: () => {} });
      if (r.code === 0) await services.cli(["stop", name]);
      return;
    }
    await waitUntil(() =>
      exists(`${path}/memory.max`) &&
      Deno.readTextFileSync(`${path}/memory.max`).trim() === String(64 << 20), {
      timeoutMs: 10_000,
      what: "memory.max to be set",
    });
    assert.equal((await services.cli(["stop", name])).code, 0);
  },
});
