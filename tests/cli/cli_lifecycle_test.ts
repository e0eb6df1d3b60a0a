/**
 * The running commands (start, run, stop, restart, signal, wait) and the
 * supervisor, run as the real CLI, each test in its own run dir. Every
 * supervisor and service tree a test starts is ended by the PID and process
 * group recorded in its state file (see `Services`).
 */
import { writeOldFile } from "../_util/legacy_helpers.ts";
import assert from "node:assert/strict";
import { probe } from "../../mod.ts";
import { readServiceRecord } from "../../src/service/model/service_record.ts";
import { alive, CLI, hasProgram, Reaper, tempDir, waitUntil } from "../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../_util/service_dir.ts";
import { childrenWithOpen } from "../_util/process_view.ts";

/** File text (sync: small files, read between awaits). */
function readText(path: string): string {
  return Deno.readTextFileSync(path);
}

/** Whether `path` exists. */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The sorted names in a directory. */
function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("life cycle: start, status 0, signal, logs, stop, status 3", async () => {
  await using s = new Services();
  const name = uniqueName("web");
  const script = 'trap "echo got-hup" HUP; echo up; while :; do sleep 0.05; done';
  const start = await s.cli(["start", name, "--", "sh", "-c", script]);
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, new RegExp(`^started ${name} \\(pid (\\d+)\\)\\n$`));
  const state = await s.state(name);
  const pid = Number(/pid (\d+)/.exec(start.stdout)![1]);
  assert.equal(state.tree?.pid, pid);
  assert.equal(state.phase, "running");
  assert.equal(readText(s.dir.join(`${name}.pid`)), `${pid}\n`);
  assert.ok(alive(pid));

  const status = await s.cli(["status", name]);
  assert.equal(status.code, 0, status.stderr);

  // `up` is printed once the trap is set: a HUP before it would kill sh.
  const log = s.dir.join(`${name}.log`);
  await waitUntil(() => /^up$/m.test(readText(log)), { what: "the trap to be set (up)" });
  const sig = await s.cli(["signal", name, "HUP"]);
  assert.equal(sig.code, 0, sig.stderr);
  assert.match(sig.stdout, /sent SIGHUP/);
  await waitUntil(() => /^got-hup$/m.test(readText(log)), { what: "HUP in log" });
  assert.match(readText(log), /\[pidkit\] .* started .*\nup\n/);

  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^stopped ${name} \\(pid ${pid}\\) after TERM in \\d`));
  assert.ok(!alive(pid));
  // The run dir's supervisor held only this service: it exits a moment later.
  await waitUntil(() => !alive(state.supervisor.pid), { what: "the idle supervisor to exit" });
  assert.deepEqual(markedProcesses(name), []);
  assert.ok(!exists(s.dir.join(`${name}.pid`)));
  const after = await s.cli(["status", name]);
  assert.equal(after.code, 3);
  const again = await s.cli(["stop", name]);
  assert.equal(again.code, 0);
  assert.equal(again.stdout, `${name} is not running\n`);
});

Deno.test("start: already running is exit 1, or 0 with --if-not-running; wait and restart", async () => {
  await using s = new Services();
  const name = uniqueName("dup");
  assert.equal((await s.cli(["start", name, "--", "sleep", "1000"])).code, 0);
  const first = await s.state(name);
  const dup = await s.cli(["start", name, "--", "sleep", "1000"]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, new RegExp(`${name} is already running \\(pid ${first.tree!.pid}\\)`));
  const ok = await s.cli(["start", name, "--if-not-running", "--", "sleep", "1000"]);
  assert.equal(ok.code, 0, ok.stderr);

  const waitShort = await s.cli(["wait", name, "--timeout", "200ms"]);
  assert.equal(waitShort.code, 1);

  const restart = await s.cli(["restart", name]);
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stdout, /^restarted .* \(pid \d+\)/);
  const second = await s.state(name);
  assert.notEqual(second.tree!.pid, first.tree!.pid);
  assert.ok(!alive(first.tree!.pid));
  assert.deepEqual(second.command, ["sleep", "1000"]);

  let waited = false;
  const waiter = s.cli(["wait", name, "--timeout", "20s"]).finally(() => waited = true);
  // The stop comes once the wait is waiting on the lock (however long it took to start).
  const pidfile = s.dir.join(`${name}.pid`);
  await waitUntil(() => childrenWithOpen(pidfile).length > 0, {
    what: "the wait to wait on the PID file",
    timeoutMs: 30_000,
  });
  assert.equal(waited, false, "wait returned while the service ran");
  assert.equal((await s.cli(["stop", name])).code, 0);
  assert.equal((await waiter).code, 0);
});

Deno.test("16 concurrent starts give exactly one service", async () => {
  await using s = new Services();
  const name = uniqueName("web");
  const results = await Promise.all(
    Array.from({ length: 16 }, () => s.cli(["start", name, "--", "sleep", "1000"])),
  );
  await s.recordAll();
  const ok = results.filter((r) => r.code === 0);
  assert.equal(ok.length, 1, results.map((r) => r.stderr).join(""));
  for (const r of results.filter((r) => r.code !== 0)) {
    assert.equal(r.code, 1);
    // Plain (nothing orphaned or deleted here): its PID, or before the spawn the supervisor's.
    const pid = `\\((?:pid \\d+|starting; supervisor pid \\d+)\\)`;
    assert.match(r.stderr, new RegExp(`^pidkit start: ${name} is already running ${pid}\n$`));
  }
  const state = await s.state(name);
  assert.deepEqual(markedProcesses(name), [state.tree!.pid]);
  assert.equal((await s.cli(["stop", name])).code, 0);
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("supervisor SIGKILLed: status says orphaned; run refuses; start adopts (never a second tree); stop kills the whole tree", async () => {
  await using s = new Services();
  const name = uniqueName("orphan");
  const r = await s.cli(["start", name, "--", "sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
  assert.equal(r.code, 0, r.stderr);
  const state = await s.state(name);
  await waitUntil(() => markedProcesses(name).length === 3, { what: "3 members" });
  const members = markedProcesses(name);
  Deno.kill(state.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(state.supervisor.pid), { what: "supervisor gone" });
  const status = await s.cli(["status", name]);
  assert.match(status.stdout + status.stderr, /orphan/);
  const pidfile = s.dir.join(`${name}.pid`);
  const before = readText(pidfile);
  // No lock to wait on, but the tree runs: wait must not say it stopped.
  const waited = await s.cli(["wait", name, "--timeout", "300ms"]);
  assert.equal(waited.code, 1, waited.stderr);
  assert.match(waited.stderr, /still running after 300ms/);
  // `run`, the supervisor in the foreground, refuses beside the orphan.
  const fg = await s.cli(["run", name, "--", "sleep", "1000"]);
  assert.equal(fg.code, 1, fg.stdout);
  assert.match(fg.stderr, /is already running \(pid \d+, orphaned/);
  assert.deepEqual(markedProcesses(name).sort(), [...members].sort(), "no second tree");
  assert.equal(readText(pidfile), before);
  // A background start adopts it: still "already running", never a second tree.
  const again = await s.cli(["start", name, "--", "sleep", "1000"]);
  assert.equal(again.code, 1, again.stdout);
  assert.match(
    again.stderr,
    new RegExp(
      `${name} is already running \\(pid ${state.tree!.pid}\\); its supervisor was gone, ` +
        "a new one \\(pid \\d+\\) adopted it",
    ),
  );
  const adopter = (await s.state(name)).supervisor.pid;
  assert.notEqual(adopter, state.supervisor.pid);
  const quiet = await s.cli(["start", name, "--if-not-running", "--", "sleep", "1000"]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.deepEqual(markedProcesses(name).sort(), [...members].sort(), "no second tree");
  assert.equal(readText(pidfile), before, "the PID file names the same leader");
  assert.equal((await s.cli(["status", name])).code, 0);
  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  for (const pid of members) assert.ok(!alive(pid), `member ${pid} survived`);
  await waitUntil(() => !alive(adopter), { what: "the idle supervisor to exit" });
  assert.deepEqual(markedProcesses(name), []);
  assert.equal((await s.cli(["status", name])).code, 3);
  assert.equal((await s.cli(["wait", name, "--timeout", "5s"])).code, 0);
});

Deno.test("supervisor and tree SIGKILLed: the next start removes the empty cgroup left behind", async () => {
  await using s = new Services();
  const name = uniqueName("leftover");
  const r = await s.cli(["start", name, "--", "sh", "-c", "sleep 1000 & wait"]);
  assert.equal(r.code, 0, r.stderr);
  const state = await s.state(name);
  const cgroup = state.tree?.cgroupPath;
  if (cgroup === undefined) {
    await s.cli(["stop", name]);
    console.log("skipped: no writable cgroup2 here (group tracking has no directory to leave)");
    return;
  }
  Deno.kill(state.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(state.supervisor.pid), { what: "supervisor gone" });
  await Deno.writeTextFile(`${cgroup}/cgroup.kill`, "1");
  await waitUntil(() => markedProcesses(name).length === 0, { what: "tree gone" });
  assert.ok(exists(cgroup), "the killed supervisor could not remove its cgroup");
  const again = await s.cli(["start", name, "--", "sleep", "1000"]);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(!exists(cgroup), `${cgroup} still there after the next start`);
  const next = await s.state(name);
  assert.notEqual(next.tree?.cgroupPath, cgroup);
  assert.equal((await s.cli(["stop", name])).code, 0);
});

Deno.test("SIGTERM to a supervisor the moment it holds the lock: a clean refusal, no stale PID file", async () => {
  await using s = new Services();
  // The window (lock taken, still starting) is short: several rounds.
  for (let round = 0; round < 6; round++) {
    const name = uniqueName("early");
    const pidfile = s.dir.join(`${name}.pid`);
    const starting = s.cli(["start", name, "--", "sleep", "1000"]);
    let holder: number | undefined;
    await waitUntil(async () => {
      const found = await probe(pidfile);
      holder = found.status === "running" ? found.holderPid : undefined;
      return holder !== undefined;
    }, { what: "the supervisor to take the lock", intervalMs: 0 });
    Deno.kill(holder!, "SIGTERM");
    const r = await starting;
    await s.recordAll();
    if (r.code === 0) {
      // It was past start-up already: an ordinary stop then.
      await waitUntil(() => !alive(holder!), { what: "the supervisor to stop" });
    } else {
      assert.match(r.stderr, new RegExp(`${name} was stopped during start-up`));
      await waitUntil(() => !alive(holder!), { what: "the supervisor to exit" });
    }
    assert.equal((await probe(pidfile)).status, "absent", "a stale PID file was left");
    assert.deepEqual(markedProcesses(name), []);
  }
});

Deno.test("stop never signals the process named by a stale pid file", async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const bystander = reaper.spawn(["sleep", "1000"]);
  const name = uniqueName("stale");
  const pidfile = s.dir.join(`${name}.pid`);
  // Written before the bystander started: its PID was reused.
  writeOldFile(pidfile, `${bystander.pid}\n`);
  const byName = await s.cli(["stop", name]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout, /is not running/);
  const byFile = await s.cli(["stop", "--pidfile", pidfile]);
  assert.equal(byFile.code, 0, byFile.stderr);
  assert.match(byFile.stdout, /stale/);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(alive(bystander.pid), "the bystander was signalled");
  assert.equal(readText(pidfile), `${bystander.pid}\n`, "stale file untouched");
});

Deno.test("stop --pidfile of a foreign lock holder stops it and its children", {
  ignore: !hasProgram("flock"),
}, async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const pidfile = s.dir.join("foreign.pid");
  const holder = reaper.spawn(["flock", "-x", pidfile, "sh", "-c", "sleep 1000 & wait"]);
  await waitUntil(async () => {
    const r = await new Deno.Command("flock", { args: ["-n", "-s", pidfile, "true"] }).output();
    return r.code !== 0;
  }, { what: "the lock" });
  await Deno.writeTextFile(pidfile, "1\n"); // a PID that is not the holder: never signalled
  const r = await s.cli(["stop", "--pidfile", pidfile, "--retry", "TERM/5/KILL/5"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`stopped ${pidfile} \\(pid ${holder.pid}\\) after TERM`));
  assert.match(r.stdout, /pid 1 written in the file is not the lock holder/);
  assert.equal((await holder.status).signal, "SIGTERM");
});

Deno.test("stop --pidfile with a schedule ending in 'forever' waits as long as it takes", {
  ignore: !hasProgram("flock"),
}, async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const pidfile = s.dir.join("stubborn.pid");
  const pids = s.dir.join("stubborn.pids");
  const terms = s.dir.join("stubborn.terms");
  // The shell that holds the lock (inherited from flock) notes each TERM and carries on.
  const holder = reaper.spawn([
    "flock",
    "-x",
    pidfile,
    "sh",
    "-c",
    `trap "echo TERM >> '${terms}'" TERM; echo $$ > '${pids}'; while :; do sleep 0.05; done`,
  ]);
  let shell = 0;
  await waitUntil(async () => {
    shell = Number(await Deno.readTextFile(pids).catch(() => ""));
    return shell > 0;
  }, { what: "the shell" });
  reaper.pid(shell);
  let done = false;
  const stopping = s.cli(["stop", "--pidfile", pidfile, "--retry", "TERM/0.2/forever"])
    .finally(() => done = true);
  // The TERM came (however long the command took to start), then the schedule's end passed.
  await waitUntil(async () => (await Deno.readTextFile(terms).catch(() => "")) !== "", {
    what: "the stop's TERM",
    timeoutMs: 30_000,
  });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(done, false, "still waiting past the schedule's end");
  Deno.kill(shell, "SIGKILL"); // gone at last, by another hand
  const r = await stopping;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`stopped ${pidfile} \\(pid ${holder.pid}\\) after TERM`));
});

Deno.test("stop --pidfile when the process that took the lock died and a child holds it", {
  ignore: !hasProgram("flock"),
}, async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const pidfile = s.dir.join("inherited.pid");
  const pids = s.dir.join("inherited.pids");
  // flock(1) takes the lock and forks sh, which inherits the descriptor.
  const locker = reaper.spawn([
    "flock",
    "-x",
    pidfile,
    "sh",
    "-c",
    `echo $$ > ${pids}; sleep 1000 & echo $! >> ${pids}; wait`,
  ]);
  await waitUntil(() => exists(pids) && readText(pids).trim().split("\n").length === 2, {
    what: "the holders",
  });
  const [sh, sleeper] = readText(pids).trim().split("\n").map(Number);
  reaper.pid(sh);
  reaper.pid(sleeper);
  Deno.kill(locker.pid, "SIGKILL"); // /proc/locks still names the dead flock(1) process
  await locker.status;
  const r = await s.cli(["stop", "--pidfile", pidfile, "--retry", "TERM/5/KILL/5"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`stopped ${pidfile} \\(pid ${sh}\\) after TERM`));
  await waitUntil(() => !alive(sh) && !alive(sleeper), { what: "the inheritors to end" });
});

Deno.test("a crashing service is restarted with backoff, then given up", async () => {
  await using s = new Services();
  const name = uniqueName("crash");
  const r = await s.cli([
    "start",
    name,
    "--restart",
    "on-failure",
    "--max-restarts",
    "3",
    "--restart-delay",
    "50ms",
    "--ready-after",
    "0",
    "--",
    "sh",
    "-c",
    "echo run; sleep 0.1; exit 7",
  ]);
  assert.equal(r.code, 0, r.stderr);
  await s.state(name);
  await waitUntil(async () => (await s.state(name)).phase === "failed", {
    timeoutMs: 20_000,
    what: "phase failed",
  });
  const state = await s.state(name);
  assert.equal(state.restarts, 3);
  assert.equal(state.lastExit?.code, 7);
  const log = readText(s.dir.join(`${name}.log`));
  assert.equal(log.match(/^\[pidkit\] \S+ started /gm)?.length, 4);
  const delays = [...log.matchAll(/restarting .* in (\d+) ms/g)].map((m) => Number(m[1]));
  assert.deepEqual(delays, [50, 100, 200]);
  assert.match(log, /giving up .* after 3 restarts/);
  await waitUntil(() => !alive(state.supervisor.pid), { what: "supervisor exits" });
  const status = await s.cli(["status", name]);
  assert.equal(status.code, 3);
  assert.match(status.stdout, /failed/);
});

Deno.test("a service ignoring SIGTERM is KILLed per the schedule", async () => {
  await using s = new Services();
  const name = uniqueName("stubborn");
  const r = await s.cli(["start", name, "--", "sh", "-c", 'trap "" TERM; sleep 1000 & wait']);
  assert.equal(r.code, 0, r.stderr);
  const state = await s.state(name);
  const t0 = Date.now();
  const stop = await s.cli(["stop", name, "--retry", "TERM/0.3/KILL/5"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /after KILL in/);
  assert.ok(Date.now() - t0 >= 300);
  assert.ok(!alive(state.tree!.pid));
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("stop on a terminal shows the signal sent and the time left before escalation", async (t) => {
  if (!hasProgram("script")) {
    console.log("skipped: needs script(1) from util-linux to give stop a terminal");
    return;
  }
  await using s = new Services();
  const name = uniqueName("tty");
  const r = await s.cli(["start", name, "--", "sh", "-c", 'trap "" TERM; sleep 1000 & wait']);
  assert.equal(r.code, 0, r.stderr);
  const state = await s.state(name);
  // script(1) runs the stop on a pseudo-terminal and copies what it shows to its stdout.
  const stop = `${Deno.execPath()} run -A --quiet ${CLI} stop ${name} --retry TERM/0.6/KILL/5`;
  const out = await new Deno.Command("script", {
    args: ["-qefc", stop, "/dev/null"],
    env: { PIDKIT_DIR: s.dir.path, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  await t.step("exit 0 and the final line", () => {
    assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
    assert.match(text, new RegExp(`stopped ${name} \\(pid \\d+\\) after KILL in`));
  });
  await t.step("progress rewritten in place while waiting, then cleared", () => {
    assert.ok(text.includes(`\r\x1b[Kstopping ${name}: TERM sent, KILL in 0.`), text);
    const frames = text.match(/KILL in (\d+\.\d) s/g) ?? [];
    assert.ok(frames.length >= 2, `one frame per 100 ms expected, got ${frames.length}`);
    const clear = "\r\x1b[K"; // carriage return, erase to the end of the line
    assert.ok(text.includes(`${clear}stopped `), JSON.stringify(text.slice(-200)));
  });
  assert.ok(!alive(state.tree!.pid));
});

Deno.test("bad input: one line, exit 2 or 1, nothing created or deleted", async () => {
  await using s = new Services();
  const name = uniqueName("bad");
  const missingRunDir = s.dir.join("nope/deeper");
  // A FIFO as the log: opening it for writing would block until a reader came.
  const fifo = s.dir.join("log.fifo");
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(mk.success);
  const cases: [string[], number, RegExp][] = [
    [["start", name, "--log", fifo, "--", "true"], 1, /cannot open log .*log\.fifo: it is a FIFO/],
    [["start", "../x", "--", "true"], 2, /bad service name/],
    [["start", name, "--retry", "TERM/x", "--", "true"], 2, /retry|schedule/i],
    [["start", name, "--restart", "sometimes", "--", "true"], 2, /bad --restart/],
    [["start", name, "--ready-after", "soon", "--", "true"], 2, /bad duration/],
    [["start", name, "sleep", "1"], 2, /missing '--'/],
    [
      ["start", name, "--", "no-such-program-pidkit"],
      1,
      /cannot start no-such-program-pidkit: command not found in PATH/,
    ],
    [["start", name, "--dir", "/proc/pidkit-cannot", "--", "true"], 1, /run dir|cannot/],
    [["signal", name, "FOO"], 2, /unknown signal 'FOO'/],
    [["signal", name, "TERM"], 1, /is not running/],
    [["stop", name, "--retry", "1/2/3/x"], 2, /retry|schedule/i],
    [["stop"], 2, /missing NAME/],
    [["frobnicate", name], 2, /unknown command/],
    [["wait", name, "--timeout", "x"], 2, /bad duration/],
  ];
  const before = names(s.dir.path);
  for (const [args, code, re] of cases) {
    const r = await s.cli(args);
    assert.equal(r.code, code, `pidkit ${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
    // What the service's own files were; the run dir's supervisor (started
    // for the cases only it can judge: a FIFO as the log, a missing program)
    // keeps its own files, supervisor.*, until it exits.
    const own = names(s.dir.path).filter((n) => !n.startsWith("supervisor."));
    assert.deepEqual(own, before);
  }
  assert.ok(!exists(missingRunDir));
});

Deno.test("run passes the exit status through (0, 3, 128+15)", async () => {
  await using s = new Services();
  const cases: [string, number][] = [["exit 0", 0], ["exit 3", 3], ["kill -TERM $$", 143]];
  for (const [script, code] of cases) {
    const name = uniqueName("run");
    const r = await s.cli(["run", name, "--", "sh", "-c", script]);
    assert.equal(r.code, code, `${script}: ${r.stderr}`);
    assert.ok(!exists(s.dir.join(`${name}.pid`)));
  }
});

Deno.test("run forwards SIGTERM to the tree and exits with its status", async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const name = uniqueName("fg");
  const child = reaper.spawn(
    [Deno.execPath(), "run", "-A", "--quiet", CLI, "run", name, "--", "sleep", "1000"],
    { env: { PIDKIT_DIR: s.dir.path } },
  );
  await waitUntil(
    async () => (await readServiceRecord(s.dir.join(`${name}.json`)))?.phase === "running",
    {
      what: "running",
    },
  );
  const state = await s.state(name);
  Deno.kill(child.pid, "SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 143);
  assert.ok(!alive(state.tree!.pid));
});

/** Socket inodes of `pid` that are listening TCP sockets (IPv4 or IPv6), with their ports. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of Deno.readTextFileSync(table).split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A = LISTEN
      if (inodes.has(f[9])) ports.push(parseInt(f[1].split(":").at(-1)!, 16));
    }
  }
  return ports;
}

/** Whether anything listens on 127.0.0.1:9229 (port 9229 = 0x240D). */
function inspectorPortListening(): boolean {
  return Deno.readTextFileSync("/proc/net/tcp").split("\n").some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === "0100007F:240D" && f[3] === "0A";
  });
}

Deno.test("SIGUSR1 to a supervisor opens no inspector and harms nobody; signal USR1 reaches the tree", async () => {
  await using s = new Services();
  const name = uniqueName("usr1");
  const pidfile = s.dir.join(`${name}.pid`);
  const script = 'trap "echo got-usr1" USR1; echo up; while :; do sleep 0.05; done';
  const start = s.cli(["start", name, "--ready-after", "700ms", "--", "sh", "-c", script]);
  // Early: the pid file first names the supervisor itself, right after it took the lock.
  let supervisor = 0;
  await waitUntil(() => {
    try {
      supervisor = Number(readText(pidfile).trim());
    } catch { /* not yet */ }
    return supervisor > 0;
  }, { intervalMs: 2, what: "the pid file" });
  s.pid(supervisor);
  const portBusyBefore = inspectorPortListening();
  const sent: number[] = [];
  const send = () => {
    try {
      Deno.kill(supervisor, "SIGUSR1");
      sent.push(Date.now());
    } catch { /* already gone: the asserts below say so */ }
  };
  send(); // well before Deno arms its SIGUSR1 handler (about 500 ms after start)
  const r = await start;
  assert.equal(r.code, 0, r.stderr);
  const state = await s.state(name);
  assert.equal(state.supervisor.pid, supervisor);
  send();
  await new Promise((res) => setTimeout(res, 700)); // after the arming
  send();
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(sent.length, 3);
  assert.ok(alive(supervisor), "the supervisor died of SIGUSR1");
  assert.deepEqual(listeningPorts(supervisor), [], "the supervisor listens on a socket");
  if (!portBusyBefore) assert.ok(!inspectorPortListening(), "something listens on 9229");
  assert.ok(alive(state.tree!.pid), "the service was harmed");
  const log = s.dir.join(`${name}.log`);
  assert.doesNotMatch(readText(log), /^got-usr1$/m, "USR1 leaked to the service");

  const sig = await s.cli(["signal", name, "USR1"]);
  assert.equal(sig.code, 0, sig.stderr);
  await waitUntil(() => /^got-usr1$/m.test(readText(log)), { what: "USR1 in log" });
  assert.equal((await s.cli(["stop", name])).code, 0);
});

const canBlock = hasProgram("env") &&
  new Deno.Command("env", { args: ["--block-signal=USR1", "true"] }).outputSync().code === 0;
if (!canBlock) console.log("skip: env --block-signal is not available (coreutils < 8.31)");

for (const wrapped of [true, false]) {
  Deno.test({
    name: wrapped
      ? "run started with SIGUSR1 blocked forwards it to the tree, no inspector"
      : "run started plainly re-executes itself with SIGUSR1 blocked (same PID) and forwards it",
    ignore: wrapped && !canBlock,
    fn: async () => {
      await using reaper = new Reaper();
      await using s = new Services();
      const name = uniqueName("fgusr1");
      const log = s.dir.join(`${name}.log`);
      const script = 'trap "echo got-usr1" USR1; while :; do sleep 0.05; done';
      const child = reaper.spawn([
        ...(wrapped ? ["env", "--block-signal=USR1"] : []),
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        CLI,
        "run",
        name,
        "--log",
        log,
        "--",
        "sh",
        "-c",
        script,
      ], { env: { PIDKIT_DIR: s.dir.path } });
      await waitUntil(
        async () => (await readServiceRecord(s.dir.join(`${name}.json`)))?.phase === "running",
        {
          what: "running",
        },
      );
      await s.state(name);
      await new Promise((r) => setTimeout(r, 700)); // after Deno armed its inspector trigger
      Deno.kill(child.pid, "SIGUSR1");
      await waitUntil(() => /^got-usr1$/m.test(readText(log)), { what: "USR1 in log" });
      assert.deepEqual(listeningPorts(child.pid), []);
      assert.equal((await s.state(name)).supervisor.pid, child.pid, "re-executed in place");
      Deno.kill(child.pid, "SIGTERM");
      assert.equal((await child.status).code, 143);
    },
  });
}

Deno.test("start through a deno install'ed shim re-executes the supervisor", async () => {
  await using root = tempDir();
  await using s = new Services();
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["install", "-g", "-A", "-n", "pidkit", "--root", root.path, CLI],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
  const name = uniqueName("shim");
  const env = {
    PIDKIT_DIR: s.dir.path,
    PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}`,
  };
  const run = (args: string[]) =>
    new Deno.Command(`${root.path}/bin/pidkit`, { args, env, stdout: "piped", stderr: "piped" })
      .output();
  const start = await run(["start", name, "--", "sleep", "1000"]);
  assert.equal(start.code, 0, new TextDecoder().decode(start.stderr));
  const state = await s.state(name);
  assert.ok(alive(state.tree!.pid));
  const stop = await run(["stop", name]);
  assert.equal(stop.code, 0);
  assert.ok(!alive(state.tree!.pid));
});
