/**
 * `--cron` and `--cron-restart` through the real CLI and the run
 * directory's supervisor: a schedule with seconds drives a task, whose runs'
 * timestamps must fall on the ticks; a restart schedule replaces the
 * running tree at each tick; bad input starts nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { alive, exists, tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

/** The run times (ms since the epoch) a task appended to `file`, one per line. */
function runTimes(file: string): number[] {
  if (!exists(file)) return [];
  return Deno.readTextFileSync(file).trim().split("\n").filter((l) => l)
    .map((l) => Math.round(Number(l) * 1000));
}

Deno.test({
  name:
    "--cron: a task starts at each tick only (not at start), its runs on the ticks; stop ends it",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("cron");
    const runs = services.dir.join("runs");
    const r = await services.cli([
      "start",
      name,
      "--cron",
      "*/2 * * * * *",
      "--",
      "sh",
      "-c",
      `date +%s.%N >> ${runs}`,
    ]);
    const answeredAt = Date.now();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /scheduled, next run \d{4}-\d\d-\d\dT/);
    const state = await services.state(name);
    assert.equal(state.phase, "scheduled");
    assert.equal(state.nextRun?.action, "start");
    const status = await services.cli(["status", name, "--json"]);
    const s = JSON.parse(status.stdout);
    assert.equal(s.state, "scheduled");
    assert.equal(s.pid, null);
    assert.equal(s.nextRun.action, "start");
    assert.equal(Date.parse(s.nextRun.at) % 2000, 0, "the next run is on an even second");

    await waitUntil(() => runTimes(runs).length >= 3, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: "three runs of the task",
    });
    const times = runTimes(runs);
    // Nothing ran at `start`: the first run is at the first tick after it.
    assert.ok(times[0] >= Date.parse(state.nextRun!.at) - 5, `${times[0]} before its tick`);
    for (const t of times) {
      // Each run starts on an even second: the tick, plus the spawn (generous: a loaded machine).
      const late = t % 2000;
      assert.ok(late < 1500, `run at ${new Date(t).toISOString()} is ${late} ms after its tick`);
    }
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i] - times[i - 1] >= 1000, `two runs in one tick: ${times.join(", ")}`);
    }
    assert.ok(times[0] >= answeredAt - 2000);

    const list = await services.cli(["list"]);
    assert.match(list.stdout, /NEXT RUN/);
    assert.match(list.stdout, new RegExp(`${name}\\s+(scheduled|running|starting)`));
    const human = await services.cli(["status", name]);
    assert.match(human.stdout, /last cron start: .*schedule '\*\/2 \* \* \* \* \*'/);

    const stop = await services.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    const after = await services.state(name);
    assert.equal(after.phase, "stopped");
    const supervisor = after.supervisor.pid;
    await waitUntil(() => !alive(supervisor), {
      timeoutMs: 20_000,
      what: "the idle supervisor to exit once the task is stopped",
    });
    const count = runTimes(runs).length;
    await new Promise((r) => setTimeout(r, 2500)); // a tick passes: nothing runs any more
    assert.equal(runTimes(runs).length, count);
  },
});

Deno.test({
  name: "--cron: a tick that finds the task still running is skipped and logged",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("cron-busy");
    const runs = services.dir.join("runs");
    await services.start(name, ["--cron", "* * * * * *"], [
      "sh",
      "-c",
      `date +%s.%N >> ${runs}; sleep 2.5`,
    ]);
    const log = services.dir.join(`${name}.log`);
    await waitUntil(
      () => exists(log) && /still runs; this tick is skipped/.test(Deno.readTextFileSync(log)),
      { timeoutMs: 30_000, intervalMs: 100, what: "a skipped tick in the log" },
    );
    const times = runTimes(runs);
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i] - times[i - 1] >= 2400, `a run started while one ran: ${times}`);
    }
    assert.equal((await services.cli(["stop", name])).code, 0);
  },
});

Deno.test({
  name: "--cron-restart: the running service is restarted at each tick; status shows it",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("cron-restart");
    // --max-restarts 1: the schedule's restarts are no crashes, they never reach the bound.
    const first = await services.start(name, [
      "--cron-restart",
      "*/2 * * * * *",
      "--restart",
      "on-failure",
      "--max-restarts",
      "1",
    ], ["sleep", "1000"]);
    assert.equal(first.phase, "running");
    const pids = new Set([first.tree!.pid]);
    await waitUntil(async () => {
      const s = await services.state(name);
      if (s.tree) pids.add(s.tree.pid);
      return pids.size >= 3;
    }, { timeoutMs: 30_000, intervalMs: 100, what: "two restarts by the schedule" });
    for (const pid of [...pids].slice(0, -1)) assert.ok(!alive(pid), `old tree ${pid} lives`);
    const s = JSON.parse((await services.cli(["status", name, "--json"])).stdout);
    assert.equal(s.nextRun.action, "restart");
    assert.equal(s.policyAction.policy, "cron");
    assert.equal(s.policyAction.action, "restart");
    // Each restart counts (pm2 counts its cron_restart): the record, the metric.
    assert.notEqual(s.state, "failed");
    assert.ok(s.restarts >= 2, `restarts: ${s.restarts}`);
    const metrics = (await services.cli(["metrics"])).stdout;
    const counted = metrics.match(
      new RegExp(`pidkit_service_restarts_total\\{service="${name}"\\} (\\d+)`),
    );
    assert.ok(counted && Number(counted[1]) >= 2, `metrics:\n${metrics}`);
    const log = Deno.readTextFileSync(services.dir.join(`${name}.log`));
    assert.match(log, /restarting .*: cron: schedule '\*\/2 \* \* \* \* \*' \(tick /);
    assert.equal((await services.cli(["stop", name])).code, 0);
  },
});

Deno.test({
  name: "bad schedules: one line, exit 2, nothing started",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const cases: [string[], RegExp][] = [
      [
        ["--cron", "61 * * * *"],
        /^pidkit start: bad --cron '61 \* \* \* \*': minute field '61': 61 is out of range 0-59$/,
      ],
      [["--cron", "0 0 30 2 *"], /bad --cron '0 0 30 2 \*': it never ticks/],
      [["--cron-restart", "* * * FOO *"], /bad --cron-restart '.*': month field 'FOO'/],
      [["--cron", "* * * * *", "--tz", "Nowhere/Land"], /bad --tz 'Nowhere\/Land'/],
      [["--tz", "UTC"], /--tz needs --cron or --cron-restart/],
      [["--cron", "* * * * *", "--cron-restart", "* * * * *"], /exclude each other/],
      [["--cron", "* * * * *", "--restart", "always"], /--restart always never lets it complete/],
    ];
    for (const [options, why] of cases) {
      const r = await services.cli(["start", "task", ...options, "--", "true"]);
      assert.equal(r.code, 2, `${options.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.trim(), why);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.deepEqual([...Deno.readDirSync(services.dir.path)].map((e) => e.name), []);
  },
});

/**
 * Kill the supervisor of a scheduled task while it waits, let its tick
 * pass, start another service (a new supervisor adopts the directory):
 * the run times after that say whether the missed tick was caught up.
 */
async function missedTick(
  catchUp: boolean,
): Promise<{ resumedAt: number; runs: number[]; tick: number }> {
  await using services = new Services();
  const name = uniqueName("cron-missed");
  const runs = services.dir.join("runs");
  const state = await services.start(name, [
    "--cron",
    "*/4 * * * * *",
    ...(catchUp ? ["--cron-catch-up"] : []),
  ], ["sh", "-c", `date +%s.%N >> ${runs}`]);
  assert.equal(state.phase, "scheduled");
  Deno.kill(state.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(state.supervisor.pid), { what: "the supervisor to die" });
  const tick = Date.parse(state.nextRun!.at);
  await waitUntil(() => Date.now() > tick + 300, {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: "the tick to pass",
  });
  assert.deepEqual(runTimes(runs), [], "a run without a supervisor");
  const resumedAt = Date.now();
  await services.start(uniqueName("other"), [], ["sleep", "1000"]);
  await waitUntil(() => runTimes(runs).length >= 1, {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: "a run once a supervisor holds the task again",
  });
  const out = { resumedAt, runs: runTimes(runs), tick };
  const log = await Deno.readTextFile(services.dir.join(`${name}.log`));
  if (catchUp) assert.match(log, /missed tick .* caught up \(--cron-catch-up\)/);
  else assert.doesNotMatch(log, /caught up/);
  return out;
}

Deno.test({
  name:
    "--cron: a tick missed while no supervisor ran is skipped, or caught up with --cron-catch-up",
  sanitizeResources: false,
  async fn() {
    const skipped = await missedTick(false);
    // Not caught up: the first run is on a later tick (a multiple of 4 s).
    assert.ok(skipped.runs[0] % 4000 < 1500, `run at ${skipped.runs[0]} is off its tick`);
    assert.ok(skipped.runs[0] > skipped.tick + 2000);
    const caught = await missedTick(true);
    // Caught up: a run as soon as the new supervisor holds it, off the ticks.
    assert.ok(caught.runs[0] >= caught.resumedAt);
  },
});

Deno.test({
  name:
    "--cron-restart: a tick during the start waits for it: start still hears the service is ready",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("cron-starting");
    // Ticks every second while the start takes 1.5 s to be ready.
    const r = await services.cli([
      "start",
      name,
      "--ready-after",
      "1500ms",
      "--cron-restart",
      "* * * * * *",
      "--",
      "sleep",
      "1000",
    ], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /started .* \(pid \d+\)/);
    assert.equal((await services.cli(["stop", name])).code, 0);
  },
});

Deno.test("--cron without the cron library at hand (empty DENO_DIR, registry unreachable): says so, exit 1, not 'bad --cron'", async () => {
  await using services = new Services();
  using denoDir = tempDir();
  const name = uniqueName("cron-offline");
  const r = await services.cli(["start", name, "--cron", "*/5 * * * * *", "--", "true"], {
    env: { DENO_DIR: denoDir.path, NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/" },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^pidkit start: cannot load the cron library \(npm:croner\) for --cron: /);
  assert.doesNotMatch(r.stderr, /bad --cron/);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.ok(!(await exists(services.dir.join(`${name}.json`))), "no record");
});
