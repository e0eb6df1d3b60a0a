// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are written and read with single synchronous calls on purpose (a step must not yield between writing a file and setting its time)
/**
 * `start --forking [--main-pidfile FILE]`: a leader that forks a daemon and
 * exits 0 is start-up, the daemon's main PID (from its own PID file, inside
 * the tree) is the service's, the service lives as long as the main
 * process, and when it dies the rest of the tree goes before a restart.
 * Both tracking tiers; then the bad input.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, hasProgram, killQuietly, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";
import { childrenOf } from "../../_util/process_view.ts";
import { trackingTiers } from "../../_util/tiers.ts";

/** A leader that forks a "master" (a shell with one sleeping worker) writing its PID to `main`, and exits 0. */
function forkingCommand(main: string, exitCode = 0): string[] {
  return ["sh", "-c", `sh -c 'sleep 1000 & echo $$ > ${main}; wait' & exit ${exitCode}`];
}

/** The text of `path`, or "" while it does not exist. */
function readMaybe(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

const tiers = await trackingTiers("the --forking tests");

for (const tier of tiers) {
  Deno.test(`--forking --main-pidfile (${tier} tier): main PID, restart after its death, stop leaves nothing`, async () => {
    await using s = new Services();
    const name = uniqueName("fork");
    const main = s.dir.join("daemon.pid");
    const state = await s.start(name, [
      "--forking",
      "--main-pidfile",
      main,
      "--tracking",
      tier,
      "--restart",
      "on-failure",
      "--restart-delay",
      "50ms",
    ], forkingCommand(main));
    const first = Number(Deno.readTextFileSync(main));
    s.pid(first);
    const worker = childrenOf(first)[0];
    s.pid(worker);
    assert.ok(worker > 0, "the master's worker");
    const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    assert.equal(st.state, "running");
    assert.equal(st.pid, first, "status shows the daemon's main PID");
    assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${first}\n`);
    assert.ok(!alive(state.tree!.pid) || state.tree!.pid !== first, "the leader is not the main");

    // The main process dies: its worker goes too, then a new master runs.
    Deno.kill(first, "SIGKILL");
    await waitUntil(async () => {
      const again = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
      return again.state === "running" && again.pid !== first && again.restarts === 1;
    }, { timeoutMs: 15_000 });
    await s.recordAll();
    assert.ok(!alive(worker), "the old worker was stopped before the restart");
    const second = Number(Deno.readTextFileSync(main));
    s.pid(second);
    assert.notEqual(second, first);
    assert.ok(alive(second));
    const newWorker = childrenOf(second)[0];
    s.pid(newWorker);

    // signal reaches the daemon; restart replays --forking and --main-pidfile.
    const sig = await s.cli(["signal", name, "CONT"]);
    assert.equal(sig.code, 0, sig.stderr);
    const restarted = await s.cli(["restart", name]);
    assert.equal(restarted.code, 0, restarted.stderr);
    await s.recordAll();
    assert.ok(!alive(second) && !alive(newWorker), "restart stopped the old daemon");
    const third = Number(Deno.readTextFileSync(main));
    s.pid(third);
    assert.equal(JSON.parse((await s.cli(["status", name, "--json"])).stdout).pid, third);
    const thirdWorker = childrenOf(third)[0];
    s.pid(thirdWorker);

    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(third) && !alive(thirdWorker), "stop leaves nothing");
    assert.deepEqual(markedProcesses(name), []);
  });
}

Deno.test(
  "--forking, group tier: a daemon that leaves the session and clears its environment is found by --main-pidfile",
  {
    ignore: !hasProgram("setsid"),
  },
  async () => {
    await using s = new Services();
    const name = uniqueName("escape");
    const main = s.dir.join("escape.pid");
    // setsid + env -i: out of pidkit's session and without its marker, as nginx does.
    const daemon = `setsid env -i sh -c 'sleep 1000 & echo $$ > ${main}; wait'`;
    await s.start(name, [
      "--forking",
      "--main-pidfile",
      main,
      "--tracking",
      "group",
      "--restart",
      "on-failure",
      "--restart-delay",
      "50ms",
    ], ["sh", "-c", `${daemon} & exit 0`]);
    const first = Number(Deno.readTextFileSync(main));
    s.pid(first);
    const worker = childrenOf(first)[0];
    s.pid(worker);
    assert.deepEqual(markedProcesses(name), [], "invisible to the group tier's marker");
    assert.equal(JSON.parse((await s.cli(["status", name, "--json"])).stdout).pid, first);
    Deno.kill(first, "SIGKILL");
    await waitUntil(async () => {
      const again = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
      return again.state === "running" && again.pid !== first && again.restarts === 1;
    }, { timeoutMs: 15_000 });
    assert.ok(
      !alive(worker),
      "the escaped worker was stopped (found by parentage) before the restart",
    );
    const second = Number(Deno.readTextFileSync(main));
    s.pid(second);
    const newWorker = childrenOf(second)[0];
    s.pid(newWorker);
    assert.equal((await s.cli(["stop", name])).code, 0);
    assert.ok(!alive(second) && !alive(newWorker), "stop found the escaped daemon and its worker");
  },
);

Deno.test("--forking without --main-pidfile: lives while its tree has members", async () => {
  await using s = new Services();
  const name = uniqueName("forktree");
  const main = s.dir.join("m.pid");
  await s.start(name, ["--forking", "--tracking", "group"], forkingCommand(main));
  const master = Number(Deno.readTextFileSync(main));
  s.pid(master);
  const worker = childrenOf(master)[0];
  assert.equal(JSON.parse((await s.cli(["status", name, "--json"])).stdout).state, "running");
  Deno.kill(worker, "SIGKILL");
  killQuietly(master); // its `wait` may have returned with the worker's death already
  await waitUntil(async () => {
    const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    return st.state === "stopped";
  }, { timeoutMs: 10_000 });
});

Deno.test("--forking with --ready-file: start returns only once the daemon made the file; not ready in time fails and leaves nothing", async () => {
  await using s = new Services();
  const name = uniqueName("forkready");
  const main = s.dir.join("m.pid");
  const ready = s.dir.join("ready");
  // The master writes its PID at once and says it is ready 0.4 s later.
  const daemon = [
    "sh",
    "-c",
    `sh -c 'echo $$ > ${main}; sleep 0.4; touch ${ready}; exec sleep 1000' & exit 0`,
  ];
  await s.start(name, ["--forking", "--main-pidfile", main, "--ready-file", ready], daemon);
  s.pid(Number(Deno.readTextFileSync(main)));
  assert.ok(Deno.statSync(ready).isFile, "start returned before the ready file existed");
  assert.equal(JSON.parse((await s.cli(["status", name, "--json"])).stdout).state, "running");
  assert.equal((await s.cli(["stop", name])).code, 0);

  const never = uniqueName("forknever");
  const main2 = s.dir.join("m2.pid");
  const r = await s.cli([
    "start",
    never,
    "--forking",
    "--main-pidfile",
    main2,
    "--ready-file",
    s.dir.join("never"),
    "--ready-timeout",
    "1s",
    "--",
    "sh",
    "-c",
    `sh -c 'echo $$ > ${main2}; exec sleep 1000' & exit 0`,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /not ready within 1(\.0)? ?s: .*never did not appear/);
  const left = Number(Deno.readTextFileSync(main2));
  assert.ok(!alive(left), "the daemon was stopped");
  assert.deepEqual(markedProcesses(never), []);
});

Deno.test("--forking bad input: one line, exit 1 or 2, nothing left running, no PID file left", async (t) => {
  await using s = new Services();
  const fail = async (step: string, opts: string[], cmd: string[], re: RegExp, code = 1) => {
    await t.step(step, async () => {
      const name = uniqueName("bad");
      const r = await s.cli(["start", name, ...opts, "--", ...cmd]);
      await s.recordAll();
      assert.equal(r.code, code, r.stdout + r.stderr);
      // One error line (after the log's last lines, when the service wrote any).
      const line = r.stderr.split("\n").find((l) => l.startsWith("pidkit start: "));
      assert.match(line ?? r.stderr, re);
      assert.deepEqual(markedProcesses(name), [], "nothing left running");
      assert.throws(() => Deno.statSync(s.dir.join(`${name}.pid`)), Deno.errors.NotFound);
    });
  };
  const main = s.dir.join("main.pid");
  await fail(
    "leader exits non-zero",
    ["--forking", "--main-pidfile", main],
    forkingCommand(main, 3),
    /exited during start-up with code 3/,
  );
  await fail(
    "leader never exits",
    ["--forking", "--ready-timeout", "1s"],
    ["sleep", "1000"],
    /did not exit within 1 s: a --forking service must fork into the background and exit 0/,
  );
  await fail(
    "garbage in the main PID file",
    ["--forking", "--main-pidfile", main, "--ready-timeout", "1s"],
    ["sh", "-c", `(echo garbage > ${main}; sleep 1000) & exit 0`],
    /not ready within 1 s: .*main\.pid holds "garbage\\n", not a PID/,
  );
  await fail(
    "a main PID outside the tree",
    ["--forking", "--main-pidfile", main],
    ["sh", "-c", `(echo 1 > ${main}; sleep 1000) & exit 0`],
    /main\.pid names pid 1, which is not part of the service's process tree/,
  );
  await fail(
    "a main PID file in a missing directory",
    ["--forking", "--main-pidfile", s.dir.join("nope/main.pid")],
    ["true"],
    /--main-pidfile .*nope\/main\.pid: directory .*nope does not exist/,
  );
  if (Deno.uid() === 0) {
    const locked = s.dir.join("rootonly");
    Deno.mkdirSync(locked, { mode: 0o755 });
    await fail(
      "a directory the service's user cannot write",
      ["--forking", "--main-pidfile", `${locked}/m.pid`, "--user", "nobody"],
      ["true"],
      /the service \(uid \d+\) cannot write in .*rootonly/,
    );
  }
  await fail(
    "--main-pidfile without --forking",
    ["--main-pidfile", main],
    ["true"],
    /--main-pidfile needs --forking/,
    2,
  );
  await fail(
    "--main-pidfile naming pidkit's own PID file",
    ["--forking", "--main-pidfile", s.dir.join("own.pid"), "--pidfile", s.dir.join("own.pid")],
    ["true"],
    /is pidkit's own PID file/,
    2,
  );
});

Deno.test("--forking without --main-pidfile: the main process is guessed (the one its leader left), never the exited leader, also once orphaned", async () => {
  await using s = new Services();
  const name = uniqueName("guess");
  const main = s.dir.join("g.pid");
  const state = await s.start(name, ["--forking", "--tracking", "group"], forkingCommand(main));
  // Nothing waited for the master's own file (no --main-pidfile): it may come after the start.
  await waitUntil(() => readMaybe(main).endsWith("\n"), { what: "the master's PID file" });
  const master = Number(Deno.readTextFileSync(main));
  s.pid(master);
  assert.ok(!alive(state.tree!.pid), "the leader exited");
  assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${master}\n`, "NAME.pid");
  const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
  assert.equal(st.pid, master);
  assert.equal(st.mainUnknown, null);
  const listed = JSON.parse((await s.cli(["list", "--json"])).stdout).services;
  assert.equal(listed.find((x: { name: string }) => x.name === name).pid, master);
  const sig = await s.cli(["signal", name, "CONT", "--json"]);
  assert.equal(JSON.parse(sig.stdout).pid, master, sig.stderr);
  // Orphaned (its supervisor killed): still the main process, not the leader.
  Deno.kill(state.supervisor.pid, "SIGKILL");
  await waitUntil(async () => {
    const again = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    return again.state === "orphaned";
  }, { what: "orphaned" });
  assert.equal(JSON.parse((await s.cli(["status", name, "--json"])).stdout).pid, master);
  const stop = await s.cli(["stop", name, "--json"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(JSON.parse(stop.stdout).pid, master);
  assert.ok(!alive(master));
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("--forking without --main-pidfile, several processes left: main process unknown (N processes), an empty PID file", async () => {
  await using s = new Services();
  const name = uniqueName("unknown");
  const r = await s.cli([
    "start",
    name,
    "--forking",
    "--tracking",
    "group",
    "--",
    "sh",
    "-c",
    "sleep 1000 & sleep 1000 & exit 0",
  ]);
  assert.equal(r.code, 0, r.stderr);
  await s.recordAll();
  assert.equal(r.stdout.trim(), `started ${name} (main process unknown (2 processes))`);
  assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), "", "no PID named");
  const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
  assert.equal(st.state, "running");
  assert.equal(st.pid, null);
  assert.equal(st.mainUnknown, 2);
  const text = await s.cli(["status", name]);
  assert.equal(text.code, 0);
  assert.match(
    text.stdout,
    new RegExp(`^${name}: running; main process unknown \\(2 processes\\)`),
  );
  for (const pid of markedProcesses(name)) s.pid(pid);
  assert.equal(markedProcesses(name).length, 2);
  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("--forking without --main-pidfile: a daemon that forks twice is found once the middle process exits", async () => {
  await using s = new Services();
  const name = uniqueName("twice");
  const daemon = s.dir.join("daemon.pid");
  // The leader leaves a middle shell, which starts the daemon and exits 0.5 s later.
  const middle = `sh -c 'sleep 1000 & echo $! > ${daemon}; sleep 0.5'`;
  await s.start(name, ["--forking", "--tracking", "group"], ["sh", "-c", `${middle} & exit 0`]);
  await waitUntil(() => {
    try {
      return /^\d+\n$/.test(Deno.readTextFileSync(daemon));
    } catch {
      return false;
    }
  });
  const pid = Number(Deno.readTextFileSync(daemon));
  s.pid(pid);
  await waitUntil(async () => {
    const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    return st.state === "running" && st.pid === pid;
  }, { what: "the daemon as the main process", timeoutMs: 10_000 });
  assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${pid}\n`);
  assert.equal((await s.state(name)).restarts, 0, "the middle's exit is not the service's");
  assert.equal((await s.cli(["stop", name])).code, 0);
  assert.ok(!alive(pid));
});
