/**
 * The reading commands (status, list, ps, logs) run as the real CLI, each
 * test in its own run dir. Services are fabricated as a supervisor leaves
 * them: a lock holder (`flock -x NAME.pid sleep`) standing in for the
 * supervisor, a detached process tree, and NAME.json.
 */
import { writeOldFile } from "../_util/legacy_helpers.ts";
import assert from "node:assert/strict";
import { writeServiceRecord } from "../../src/service/model/service_record.ts";
import { readProcStat } from "../../src/os/proc.ts";
import { fakeState, treeRefOf } from "../_util/service_fixture.ts";
import { alive, CLI, hasProgram, Reaper, runCli, tempDir, waitUntil } from "../_util/helpers.ts";
import { nobodyDeno, readableCopy } from "../_util/readable_copy.ts";

interface Fake {
  tree: Deno.ChildProcess;
  holder: Deno.ChildProcess;
}

/** A running service `name` in `dir`: tree `cmd`, supervisor = a flock(1) holding NAME.pid. */
async function fakeService(
  reaper: Reaper,
  dir: string,
  name: string,
  cmd: string[],
  phase: "running" | "stopping" = "running",
): Promise<Fake> {
  const marker = `${name}:test${Math.random().toString(36).slice(2)}`;
  const tree = reaper.spawn(cmd, { env: { PIDKIT_SERVICE: marker } });
  const pidfile = `${dir}/${name}.pid`;
  const holder = reaper.spawn(["flock", "-x", pidfile, "sleep", "1000"]);
  await waitUntil(async () => {
    const r = await new Deno.Command("flock", { args: ["-n", "-s", pidfile, "true"] }).output();
    return r.code !== 0;
  }, { what: "flock holding the pid file" });
  await Deno.writeTextFile(pidfile, `${tree.pid}\n`);
  const now = new Date().toISOString();
  await writeServiceRecord(
    `${dir}/${name}.json`,
    fakeState(dir, name, {
      phase,
      supervisor: { pid: holder.pid, startTime: readProcStat(holder.pid)!.startTime },
      tree: treeRefOf(tree.pid, marker),
      serviceStartedAt: now,
      command: cmd,
      options: { ...fakeState(dir, name).options, restart: "on-failure" },
      restarts: 2,
      lastExit: { code: 1, signal: null, at: now },
    }),
  );
  return { tree, holder };
}

/** A process that records every catchable signal it gets in `witness`. */
function witnessCommand(witness: string): string[] {
  return [
    "sh",
    "-c",
    `for s in HUP INT QUIT USR1 USR2 TERM CONT; do trap "echo \\$s >> ${witness}" $s; done; ` +
    `while :; do sleep 0.05; done`,
  ];
}

Deno.test("status with no services says so, exits 3, and creates nothing", async () => {
  await using tmp = tempDir();
  const r = await runCli(["status"], {
    env: { PIDKIT_DIR: tmp.join("run"), NO_COLOR: "1" },
  });
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, `no services in ${tmp.join("run")}\n`);
  const x = await runCli(["status", "web"], { env: { XDG_RUNTIME_DIR: tmp.path } });
  assert.equal(x.code, 3);
  assert.match(x.stdout, /^web: not running \(no such service in .*\/pidkit\)$/m);
  const j = await runCli(["list", "--json", "--dir", tmp.join("d")]);
  assert.equal(j.code, 0);
  assert.deepEqual(JSON.parse(j.stdout), {
    dir: tmp.join("d"),
    services: [],
    stoppedSupervisors: [],
  });
  assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp.path)), []);
});

Deno.test("status: 0 running, 1 stale (and nothing signalled), 3 stopped, 4 unknown", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const witness = tmp.join("signals.txt");
  const web = await fakeService(reaper, dir, "web", ["sleep", "1000"]);

  const ok = await runCli(["status", "--dir", dir, "web"], { env: { NO_COLOR: "1" } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^web: running \\(pid ${web.tree.pid}\\)$`, "m"));
  assert.match(ok.stdout, new RegExp(`supervisor: +${web.holder.pid}$`, "m"));
  assert.match(ok.stdout, /restarts: +2$/m);
  assert.match(ok.stdout, /last exit: +code 1 at /);
  assert.match(ok.stdout, /command: +sleep 1000$/m);
  assert.match(ok.stdout, new RegExp(`log: +${dir}/web\\.log$`, "m"));

  // A stale PID file naming a live process that has nothing to do with it.
  const stranger = reaper.spawn(witnessCommand(witness));
  // Last written before the stranger started: its PID was reused.
  writeOldFile(`${dir}/old.pid`, `${stranger.pid}\n`);
  const stale = await runCli(["status", "--dir", dir, "old"], { env: { NO_COLOR: "1" } });
  assert.equal(stale.code, 1, stale.stdout + stale.stderr);
  assert.match(stale.stdout, /^old: stale/);
  for (const cmd of [["list"], ["ps", "old"], ["status"], ["status", "--json", "old"]]) {
    await runCli([...cmd, "--dir", dir]);
  }
  const pf = await runCli(["status", "--pidfile", `${dir}/old.pid`, "--json"]);
  assert.equal(pf.code, 1);
  assert.equal(JSON.parse(pf.stdout).state, "stale");
  await new Promise((r) => setTimeout(r, 200)); // let a stray signal's trap run
  assert.ok(alive(stranger.pid), "the stranger must live");
  assert.throws(() => Deno.statSync(witness), Deno.errors.NotFound, "the stranger got a signal");

  // Stopped: the state says so, no PID file.
  await writeServiceRecord(`${dir}/gone.json`, {
    ...JSON.parse(await Deno.readTextFile(`${dir}/web.json`)),
    name: "gone",
    phase: "stopped",
    pidfile: `${dir}/gone.pid`,
    tree: undefined,
  });
  const stopped = await runCli(["status", "--dir", dir, "gone"], { env: { NO_COLOR: "1" } });
  assert.equal(stopped.code, 3);
  assert.match(stopped.stdout, /^gone: stopped$/m);

  // Unknown: a state file that is not one, lock free.
  await Deno.writeTextFile(`${dir}/junk.json`, "{ not json");
  await Deno.writeTextFile(`${dir}/junk.pid`, "12345\n");
  const unk = await runCli(["status", "--dir", dir, "junk", "--json"]);
  assert.equal(unk.code, 4);
  const uj = JSON.parse(unk.stdout);
  assert.equal(uj.state, "unknown");
  assert.match(uj.error, /junk\.json is not a pidkit state file/);

  // All services: the highest status wins (4 unknown > 3 > 1 > 0).
  const all = await runCli(["status", "--dir", dir, "--json"]);
  assert.equal(all.code, 4);
  const states = JSON.parse(all.stdout).services.map((s: { name: string; state: string }) =>
    `${s.name}=${s.state}`
  );
  assert.deepEqual(states, ["gone=stopped", "junk=unknown", "old=stale", "web=running"]);
});

Deno.test("status --json has the documented keys; orphaned tree exits 0", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const web = await fakeService(reaper, dir, "web", ["sleep", "1000"]);
  const r = await runCli(["status", "--dir", dir, "web", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(s), [
    "name",
    "state",
    "exitCode",
    "pid",
    "mainUnknown",
    "supervisorPid",
    "supervisorStopped",
    "startedAt",
    "uptimeMs",
    "restarts",
    "restart",
    "nextRun",
    "policyAction",
    "lastExit",
    "command",
    "pidfile",
    "log",
    "error",
    "pidfileLost",
    "locked",
    "verifiedBy",
    "reason",
    "extraLines",
    "statusText",
    "file",
    "kernelPid",
    "namespaced",
  ]);
  assert.equal(s.pid, web.tree.pid);
  assert.equal(s.supervisorPid, web.holder.pid);
  assert.ok(s.uptimeMs >= 0 && s.uptimeMs < 60_000);

  // The supervisor dies (SIGKILL): the lock goes, the tree lives on.
  Deno.kill(-web.holder.pid, "SIGKILL"); // flock and its sleep, which shares the lock
  await web.holder.status;
  await waitUntil(async () => {
    const r = await new Deno.Command("flock", { args: ["-n", "-s", `${dir}/web.pid`, "true"] })
      .output();
    return r.code === 0;
  }, { what: "lock released" });
  const o = await runCli(["status", "--dir", dir, "web"], { env: { NO_COLOR: "1" } });
  assert.equal(o.code, 0, o.stdout);
  assert.match(o.stdout, new RegExp(`^web: orphaned \\(pid ${web.tree.pid}\\)`));

  // Its tree gone too: a stale PID file.
  Deno.kill(-web.tree.pid, "SIGKILL");
  await web.tree.status;
  const st = await runCli(["status", "--dir", dir, "web"]);
  assert.equal(st.code, 1, st.stdout);
});

Deno.test("list: a row per service with memory of the whole tree, sorted by name", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const b = await fakeService(reaper, dir, "b-web", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
  await fakeService(reaper, dir, "a-db", ["sleep", "1000"]);
  await waitUntil(() => readProcStat(b.tree.pid) !== undefined && childrenOf(b.tree.pid) === 2, {
    what: "two children",
  });
  const r = await runCli(["list", "--dir", dir, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout).services;
  assert.deepEqual(rows.map((x: { name: string }) => x.name), ["a-db", "b-web"]);
  assert.equal(rows[1].state, "running");
  assert.equal(rows[1].pid, b.tree.pid);
  assert.equal(rows[1].processes, 3);
  assert.equal(rows[0].processes, 1);
  assert.ok(rows[1].memoryBytes > rows[0].memoryBytes, JSON.stringify(rows));
  assert.equal(typeof rows[1].cpuPercent, "number");

  const t = await runCli(["list", "--dir", dir], { env: { NO_COLOR: "1" } });
  const lines = t.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^NAME +STATE +PID +UPTIME +RESTARTS +MEM +CPU +COMMAND$/);
  assert.match(lines[1], /^a-db +running +\d+ +\d.* +2 +[\d.]+ [KM]iB +[\d.]+% +sleep 1000$/);
  assert.match(lines[2], /^b-web +running /);
  assert.ok(!t.stdout.includes("\x1b["), "no colours off a TTY");
});

function childrenOf(pid: number): number {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

Deno.test("ps: the tree indented by parentage, also a child that left the session", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const pidOut = tmp.join("escaped.pid");
  // One child stays, one calls setsid (own session and group): found by the marker.
  const web = await fakeService(reaper, dir, "web", [
    "sh",
    "-c",
    `sleep 1000 & setsid sh -c 'echo $$ > ${pidOut}; exec sleep 1001' & wait`,
  ]);
  await waitUntil(async () => (await Deno.readTextFile(pidOut).catch(() => "")).trim() !== "", {
    what: "escaped child",
  });
  const escaped = reaper.pid(Number((await Deno.readTextFile(pidOut)).trim()));
  reaper.group(escaped);
  const r = await runCli(["ps", "--dir", dir, "web"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^ *PID +PPID +RSS +CPU +COMMAND$/);
  assert.match(lines[1], new RegExp(`^ *${web.tree.pid} .* sh -c `));
  const rest = lines.slice(2).join("\n");
  assert.match(rest, /^ *\d+ .* {3}sleep 1000$/m, "child indented under the shell");
  assert.match(rest, new RegExp(`^ *${escaped} .* sleep 1001$`, "m"));
  const j = JSON.parse((await runCli(["ps", "--dir", dir, "web", "--json"])).stdout);
  assert.equal(j.processes.length, 3);
  assert.deepEqual(j.processes.map((p: { depth: number }) => p.depth).sort(), [0, 1, 1]);

  const none = await runCli(["ps", "--dir", dir, "nope"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^pidkit ps: nope is not running \(stopped\)\n$/);
});

Deno.test("logs: last N lines from the end; missing log is one line, exit 1", async () => {
  await using tmp = tempDir();
  const dir = tmp.path;
  const many = Array.from({ length: 30_000 }, (_, i) => `line ${i + 1}`).join("\n");
  await Deno.writeTextFile(`${dir}/web.log`, many + "\n");
  const r = await runCli(["logs", "--dir", dir, "web", "-n", "3"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "line 29998\nline 29999\nline 30000\n");
  const d = await runCli(["logs", "--dir", dir, "web"]);
  assert.equal(d.stdout.split("\n").length, 21);
  await Deno.writeTextFile(`${dir}/short.log`, "a\nb"); // no final newline
  assert.equal((await runCli(["logs", "--dir", dir, "short", "-n", "1"])).stdout, "b");
  assert.equal((await runCli(["logs", "--dir", dir, "short", "-n", "5"])).stdout, "a\nb");
  assert.equal((await runCli(["logs", "--dir", dir, "short", "-n", "0"])).stdout, "");
  const missing = await runCli(["logs", "--dir", dir, "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^pidkit logs: no log for nope: .*nope\.log does not exist\n$/);
  const bad = await runCli(["logs", "--dir", dir, "web", "-n", "x"]);
  assert.equal(bad.code, 2);
});

Deno.test("logs -f follows appends, rotation and truncation until SIGINT (exit 0)", async () => {
  await using tmp = tempDir();
  const log = tmp.join("web.log");
  await Deno.writeTextFile(log, "old 1\nold 2\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "logs", "--dir", tmp.path, "web", "-f", "-n", "1"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reader = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  try {
    const until = (text: string) => waitUntil(() => out.includes(text), { what: text });
    await until("old 2\n");
    assert.ok(!out.includes("old 1"));
    await Deno.writeTextFile(log, "appended\n", { append: true });
    await until("appended\n");
    await Deno.rename(log, `${log}.1`); // logrotate: move, then a new file
    await Deno.writeTextFile(`${log}.1`, "last words\n", { append: true });
    await new Promise((r) => setTimeout(r, 50));
    // Longer than what follows the truncation: the follower sees the file
    // shrink whenever it looks next (an append that outgrew the old length
    // before it looked could not be told from an append, as with tail -F).
    const longer = "new file, a line longer than the one after the truncation\n";
    await Deno.writeTextFile(log, longer);
    await until(longer);
    assert.ok(out.includes("last words\n"), out);
    await Deno.truncate(log, 0); // copytruncate
    await Deno.writeTextFile(log, "after truncate\n", { append: true });
    await until("after truncate\n");
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await child.status;
    await reader;
    await child.stderr.cancel();
  }
});

Deno.test("bad names are usage errors (exit 2, one line); JSON errors with --json", async () => {
  await using tmp = tempDir();
  for (const cmd of ["status", "ps", "logs"]) {
    for (const name of ["../etc", "a/b", ".", "x".repeat(65)]) {
      const r = await runCli([cmd, "--dir", tmp.path, name]);
      assert.equal(r.code, 2, `${cmd} ${name}`);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1);
      assert.match(r.stderr, /bad service name/);
    }
  }
  const j = await runCli(["status", "--json", "--dir", tmp.path, "../x"]);
  assert.equal(j.code, 2);
  const e = JSON.parse(j.stderr);
  assert.equal(e.code, 2);
  assert.match(e.error, /bad service name '\.\.\/x'/);
  const u = await runCli(["list", "--json", "--bogus"]);
  assert.equal(u.code, 2);
  assert.deepEqual(Object.keys(JSON.parse(u.stderr)), ["error", "code"]);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp.path)), []);
});

const asNobody = Deno.uid() === 0 && hasProgram("setpriv");
if (!asNobody) console.log("skip: run-dir permission tests need root and setpriv");

Deno.test({
  name: "run dir owned by someone else is refused; unreadable files give status 4",
  ignore: !asNobody,
  fn: async () => {
    await using tmp = tempDir();
    await Deno.chmod(tmp.path, 0o755);
    const denoDir = tmp.join("deno-dir");
    await Deno.mkdir(denoDir, { mode: 0o777 });
    await Deno.chmod(denoDir, 0o777);
    // A clone under a 0700 directory: uid 65534 runs copies it can read.
    const from = readableCopy(tmp.path);
    const run = nobodyDeno("setpriv", from, { home: denoDir, denoDir });
    const nobody = (args: string[], env: Record<string, string> = {}) =>
      run(["run", "-A", "--quiet", from.cli, ...args], env);
    // The per-user dir under the temp dir, made by root (someone else):
    // refused, and status cannot tell (4; 1 would mean a stale PID file).
    const trap = tmp.join("pidkit-65534");
    await Deno.mkdir(trap, { mode: 0o755 });
    const r = await nobody(["status"], { TMPDIR: tmp.path });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`refusing run dir ${trap}: owned by uid 0`));
    // A run dir nobody may not read: cannot tell.
    const closed = tmp.join("closed");
    await Deno.mkdir(closed, { mode: 0o700 });
    await Deno.writeTextFile(`${closed}/web.pid`, "1\n");
    const c = await nobody(["status", "--dir", closed]);
    assert.equal(c.code, 4, c.stdout + c.stderr);
    assert.match(c.stderr, /cannot read run dir .*closed: permission denied/);
    const w = await nobody(["status", "--dir", closed, "web"]);
    assert.equal(w.code, 4, w.stdout + w.stderr);
    assert.match(w.stdout, /permission denied/);
  },
});
