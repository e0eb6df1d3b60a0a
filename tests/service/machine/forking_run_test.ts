// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads and writes small files of the daemon between steps; nothing else runs meanwhile
/**
 * `pidkit run NAME --forking` (the foreground supervisor) with a real
 * daemon: its leader forks a master (the main process) that starts a
 * worker and a descendant that leaves the session and clears its
 * environment, then exits 0. The run stays in the foreground, the service
 * is `starting` until its `--ready-file` exists, then `running` with the
 * main PID (from `--main-pidfile`, or guessed without it). SIGTERM to the
 * run stops the main process and the whole tree, the escaped descendant
 * too, and the run exits with the leader's status (0: the main process's
 * own status is unknown, it is not pidkit's child). The main process dying
 * on its own ends the run with 1 (an unknown status, a failure), or is
 * restarted under `--restart always`. Both tracking tiers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, CLI, exists, Reaper, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { trackingTiers } from "../../_util/tiers.ts";

const tiers = await trackingTiers("the forking run tests");

/**
 * The master: a worker, a descendant that leaves the session and clears
 * its environment (the group tier cannot see it), its PID file; the ready
 * file once `go` exists; exits 5 once `die` exists. Each run appends to
 * `mains`, so a restart is seen.
 */
function masterScript(d: string, trap = ""): string {
  return `D=${d}
${trap}
setsid env -i sleep 1000 &
echo $! >> $D/pids
sleep 1000 &
echo $! >> $D/pids
echo $$ >> $D/mains
echo $$ > $D/main.pid.tmp && mv $D/main.pid.tmp $D/main.pid
while [ ! -e $D/go ]; do sleep 0.1; done
touch $D/ready
while [ ! -e $D/die ]; do sleep 0.1; done
rm -f $D/die
exit 5
`;
}

interface Daemon {
  s: Services;
  reaper: Reaper;
  name: string;
  d: string;
  run: Deno.ChildProcess;
}

/** `pidkit run NAME --forking ... -- sh -c 'sh master &'` in the background. */
function startRun(s: Services, reaper: Reaper, options: string[]): Daemon {
  const d = s.dir.join("daemon");
  Deno.mkdirSync(d);
  Deno.writeTextFileSync(`${d}/master.sh`, masterScript(d));
  const name = uniqueName("forkrun");
  const run = reaper.spawn([
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    CLI,
    "run",
    name,
    "--log",
    s.dir.join(`${name}.log`),
    "--forking",
    "--ready-file",
    `${d}/ready`,
    ...options,
    "--",
    "sh",
    "-c",
    `sh ${d}/master.sh & exit 0`,
  ], { env: { PIDKIT_DIR: s.dir.path } });
  return { s, reaper, name, d, run };
}

function lines(path: string): number[] {
  try {
    return Deno.readTextFileSync(path).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function statusOf(x: Daemon): Promise<{ state: string; pid: number | null }> {
  const r = await x.s.cli(["status", x.name, "--json"]);
  return JSON.parse(r.stdout);
}

/** The daemon's main process is up: `starting` until the ready file, then `running` with it. */
async function becomesRunning(x: Daemon): Promise<number> {
  await waitUntil(() => exists(`${x.d}/main.pid`) && lines(`${x.d}/pids`).length >= 2, {
    what: "the master's PID file and descendants",
    timeoutMs: 20_000,
  });
  const main = lines(`${x.d}/mains`).at(-1)!;
  x.reaper.pid(main);
  for (const p of lines(`${x.d}/pids`)) x.reaper.pid(p);
  await waitUntil(async () => (await statusOf(x)).state === "starting", {
    what: `${x.name} starting`,
    timeoutMs: 20_000,
  });
  await x.s.state(x.name);
  assert.equal((await statusOf(x)).state, "starting", "not ready before its ready file");
  Deno.writeTextFileSync(`${x.d}/go`, "");
  await waitUntil(async () => (await statusOf(x)).state === "running", {
    what: `${x.name} running`,
    timeoutMs: 20_000,
  });
  const status = await statusOf(x);
  assert.equal(status.pid, main, "status shows the main PID, not the leader");
  assert.equal(Number(Deno.readTextFileSync(x.s.dir.join(`${x.name}.pid`)).trim()), main);
  assert.ok(alive(x.run.pid), "pidkit run stays in the foreground while the daemon lives");
  return main;
}

for (const tier of tiers) {
  const tracking = tier === "group" ? ["--tracking", "group"] : [];
  for (const withPidfile of [true, false]) {
    const how = withPidfile ? "--main-pidfile" : "main guessed";
    Deno.test(`pidkit run --forking (${tier} tier, ${how}): starting until ready, running with the main PID; SIGTERM stops the whole tree, the run exits 0`, async () => {
      await using reaper = new Reaper();
      await using s = new Services();
      const d = s.dir.join("daemon");
      const x = startRun(s, reaper, [
        ...tracking,
        ...(withPidfile ? ["--main-pidfile", `${d}/main.pid`] : []),
      ]);
      const main = await becomesRunning(x);
      const tree = lines(`${d}/pids`);
      Deno.kill(x.run.pid, "SIGTERM");
      const { code } = await x.run.status;
      assert.equal(code, 0, "the leader's status: the main process's own is unknown");
      for (const p of [main, ...tree]) assert.ok(!alive(p), `pid ${p} left running`);
      const status = await statusOf(x);
      assert.notEqual(status.state, "running");
    });
  }

  Deno.test(`pidkit run --forking (${tier} tier): the main process exiting on its own ends the run with 1, the rest of the tree stopped`, async () => {
    await using reaper = new Reaper();
    await using s = new Services();
    const d = s.dir.join("daemon");
    const x = startRun(s, reaper, [...tracking, "--main-pidfile", `${d}/main.pid`]);
    const main = await becomesRunning(x);
    const tree = lines(`${d}/pids`);
    Deno.writeTextFileSync(`${d}/die`, "");
    const { code } = await x.run.status;
    assert.equal(code, 1, "an unknown status: a failure");
    for (const p of [main, ...tree]) assert.ok(!alive(p), `pid ${p} left running`);
    const log = Deno.readTextFileSync(s.dir.join(`${x.name}.log`));
    assert.match(log, new RegExp(`main pid ${main} exited`));
  });

  Deno.test(`pidkit run --forking --restart always (${tier} tier): the main process exiting is restarted in the run, the old tree stopped first`, async () => {
    await using reaper = new Reaper();
    await using s = new Services();
    const d = s.dir.join("daemon");
    const x = startRun(s, reaper, [
      ...tracking,
      "--main-pidfile",
      `${d}/main.pid`,
      "--restart",
      "always",
      "--restart-delay",
      "100ms",
    ]);
    const main = await becomesRunning(x);
    const tree = lines(`${d}/pids`);
    Deno.removeSync(`${d}/ready`);
    Deno.writeTextFileSync(`${d}/die`, "");
    await waitUntil(() => lines(`${d}/mains`).length >= 2 && lines(`${d}/pids`).length >= 4, {
      what: "a second main process",
      timeoutMs: 20_000,
    });
    const second = lines(`${d}/mains`).at(-1)!;
    reaper.pid(second);
    for (const p of lines(`${d}/pids`)) reaper.pid(p);
    for (const p of [main, ...tree]) assert.ok(!alive(p), `pid ${p} of the first instance left`);
    await waitUntil(async () => {
      const st = await statusOf(x);
      return st.state === "running" && st.pid === second;
    }, { what: "running with the second main PID", timeoutMs: 20_000 });
    assert.ok(alive(x.run.pid), "the run goes on");
    Deno.kill(x.run.pid, "SIGTERM");
    assert.equal((await x.run.status).code, 0);
    for (const p of [second, ...lines(`${d}/pids`)]) assert.ok(!alive(p), `pid ${p} left`);
  });
}

/**
 * A `--watchdog` armed while the instance still waits for its ready file
 * (no `--ready-notify`: armed at the spawn) and never pinged fires during
 * start-up: SIGABRT to the main process, which dies of it, and the start
 * fails ("aborted by its watchdog during start-up"), the tree and the
 * escaped descendant stopped, nothing left.
 */
for (const tier of tiers) {
  const tracking = tier === "group" ? ["--tracking", "group"] : [];
  Deno.test(`--forking --watchdog fired before ready (${tier} tier): start fails at once, nothing left running`, async () => {
    await using s = new Services();
    const d = s.dir.join("daemon");
    Deno.mkdirSync(d);
    Deno.writeTextFileSync(`${d}/master.sh`, masterScript(d));
    const name = uniqueName("forkwd");
    const t0 = Date.now();
    const r = await s.cli([
      "start",
      name,
      ...tracking,
      "--forking",
      "--main-pidfile",
      `${d}/main.pid`,
      "--ready-file",
      `${d}/ready`,
      "--watchdog",
      "1s",
      "--ready-timeout",
      "60s",
      "--",
      "sh",
      "-c",
      `sh ${d}/master.sh & exit 0`,
    ]);
    for (const p of [...lines(`${d}/mains`), ...lines(`${d}/pids`)]) s.pid(p);
    assert.notEqual(r.code, 0, "the start failed");
    assert.ok(Date.now() - t0 < 30_000, `not at the watchdog but later: ${Date.now() - t0} ms`);
    assert.match(r.stderr, /was aborted by its watchdog during start-up/);
    const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
    assert.match(log, /watchdog timeout/);
    for (const p of [...lines(`${d}/mains`), ...lines(`${d}/pids`)]) {
      assert.ok(!alive(p), `pid ${p} left running`);
    }
    assert.equal(lines(`${d}/mains`).length, 1, "started once");
    const status = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    assert.notEqual(status.state, "running");
  });
}

/**
 * A main process that traps SIGABRT and carries on: the start fails once
 * the abort's grace (5 s) is over, not at `--ready-timeout`, and does not
 * report success when its ready file appears after the abort (the trap
 * writes it): the instance is already condemned. Nothing is left running.
 */
for (const tier of tiers) {
  const tracking = tier === "group" ? ["--tracking", "group"] : [];
  for (const trap of ["trap '' ABRT", "trap 'touch $D/go' ABRT"]) {
    Deno.test(`--forking --watchdog fired before ready, SIGABRT trapped (${tier} tier, ${trap}): start fails after the grace, nothing left`, async () => {
      await using s = new Services();
      const d = s.dir.join("daemon");
      Deno.mkdirSync(d);
      Deno.writeTextFileSync(`${d}/master.sh`, masterScript(d, trap));
      const name = uniqueName("forkwdt");
      const t0 = Date.now();
      const r = await s.cli([
        "start",
        name,
        ...tracking,
        "--forking",
        "--main-pidfile",
        `${d}/main.pid`,
        "--ready-file",
        `${d}/ready`,
        "--watchdog",
        "1s",
        "--ready-timeout",
        "60s",
        "--",
        "sh",
        "-c",
        `sh ${d}/master.sh & exit 0`,
      ]);
      for (const p of [...lines(`${d}/mains`), ...lines(`${d}/pids`)]) s.pid(p);
      const took = Date.now() - t0;
      assert.notEqual(r.code, 0, `the start failed: ${r.stdout}`);
      assert.ok(took < 40_000, `not after the abort's grace but at --ready-timeout: ${took} ms`);
      assert.match(r.stderr, /watchdog/);
      for (const p of [...lines(`${d}/mains`), ...lines(`${d}/pids`)]) {
        assert.ok(!alive(p), `pid ${p} left running`);
      }
      assert.equal(lines(`${d}/mains`).length, 1, "started once");
    });
  }
}

/**
 * The same under `pidkit run` (nobody waits for the instance): the
 * watchdog fires before the ready file, the main process survives its
 * SIGABRT; after the grace the instance ends as a failure, the tree
 * stopped, and without a restart policy the run exits 1.
 */
for (const tier of tiers) {
  const tracking = tier === "group" ? ["--tracking", "group"] : [];
  Deno.test(`pidkit run --forking --watchdog fired before ready, SIGABRT trapped (${tier} tier): the run ends with 1 after the grace, nothing left`, async () => {
    await using reaper = new Reaper();
    await using s = new Services();
    const d = s.dir.join("daemon");
    Deno.mkdirSync(d);
    Deno.writeTextFileSync(`${d}/master.sh`, masterScript(d, "trap '' ABRT"));
    const name = uniqueName("forkwdr");
    const run = reaper.spawn([
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      CLI,
      "run",
      name,
      "--log",
      s.dir.join(`${name}.log`),
      ...tracking,
      "--forking",
      "--main-pidfile",
      `${d}/main.pid`,
      "--ready-file",
      `${d}/ready`,
      "--watchdog",
      "1s",
      "--ready-timeout",
      "60s",
      "--",
      "sh",
      "-c",
      `sh ${d}/master.sh & exit 0`,
    ], { env: { PIDKIT_DIR: s.dir.path } });
    await waitUntil(() => lines(`${d}/pids`).length >= 2 && lines(`${d}/mains`).length >= 1, {
      what: "the master and its descendants",
      timeoutMs: 20_000,
    });
    for (const p of [...lines(`${d}/mains`), ...lines(`${d}/pids`)]) reaper.pid(p);
    const t0 = Date.now();
    const { code } = await run.status;
    assert.equal(code, 1);
    assert.ok(Date.now() - t0 < 40_000, `not after the grace: ${Date.now() - t0} ms`);
    for (const p of [...lines(`${d}/mains`), ...lines(`${d}/pids`)]) {
      assert.ok(!alive(p), `pid ${p} left running`);
    }
    assert.equal(lines(`${d}/mains`).length, 1, "started once");
    const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
    assert.match(log, /did not exit within 5(\.0)? s of SIGABRT \(watchdog\)/);
    assert.match(log, /was aborted by its watchdog during start-up/);
  });
}
