// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads and writes small files between steps; nothing else runs meanwhile
/**
 * Never two instances of one name, never a lost restart (issue 23, items
 * 3 to 6): the lock on NAME.pid and the tree's marker are the truth, not
 * the record. A record left stale (a full disk), corrupt or removed with
 * the run directory still finds the live tree; a supervisor whose directory
 * vanished makes it again and never lets a second instance be made; a
 * service that died while no supervisor ran gets its restart policy (or its
 * books closed) and what its tree left is removed.
 */
import assert from "node:assert/strict";
import {
  readServiceRecordSync,
  type ServiceRecord,
} from "../../../src/service/model/service_record.ts";
import { alive, exists, tempDir, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) console.log("two_instances_test: the full-disk cases need root (mount); skipped");

/**
 * Services whose commands (and supervisors) use a TMPDIR of their own,
 * removed at the end: a supervisor killed while it spawns leaves its start
 * gate's directory there, and the tests leave nothing in /tmp.
 */
function services(): Services & { tmp: ReturnType<typeof tempDir> } {
  const tmp = tempDir("pidkit-tmp-");
  const s = new Services({ env: { TMPDIR: tmp.path } });
  const dispose = s[Symbol.asyncDispose].bind(s);
  return Object.assign(s, {
    tmp,
    [Symbol.asyncDispose]: async () => {
      await dispose();
      tmp[Symbol.dispose]();
    },
  });
}

/** The distinct markers (trees) of `name` alive now. */
function trees(name: string): Set<string> {
  const found = new Set<string>();
  for (const pid of markedProcesses(name)) {
    try {
      const env = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
      const m = env.find((e) => e.startsWith(`PIDKIT_SERVICE=${name}:`));
      if (m) found.add(m);
    } catch { /* gone */ }
  }
  return found;
}

function record(s: Services, name: string): ServiceRecord | undefined {
  try {
    return readServiceRecordSync(s.dir.join(`${name}.json`));
  } catch {
    return undefined;
  }
}

/** SIGKILL the run dir's supervisor and wait until it is gone. */
async function killSupervisor(s: Services): Promise<number> {
  await s.recordAll();
  const pid = s.supervisorPid()!;
  Deno.kill(pid, "SIGKILL");
  await waitUntil(() => !alive(pid), { what: `supervisor ${pid} to die` });
  return pid;
}

/** Start another service, so that a new supervisor starts (and adopts what it finds). */
async function trigger(s: Services, env: Record<string, string> = {}): Promise<string> {
  const name = uniqueName("trig");
  const r = await s.cli(["start", name, "--", "sleep", "1000"], { env });
  assert.equal(r.code, 0, r.stderr);
  await s.state(name);
  return name;
}

function journal(s: Services): string {
  try {
    return Deno.readTextFileSync(s.dir.join("supervisor.journal"));
  } catch {
    return "";
  }
}

Deno.test("corrupt record, then a supervisor SIGKILL: adopted by its marker; start refuses; never two instances", async () => {
  await using s = services();
  const g = uniqueName("g");
  const st = await s.start(g, [], ["sleep", "1000"]);
  Deno.writeTextFileSync(s.dir.join(`${g}.json`), "garbage\n");
  // Its supervisor still runs: ps finds the tree by its marker.
  const ps = await s.cli(["ps", g]);
  assert.equal(ps.code, 0, `${ps.stdout}${ps.stderr}`);
  assert.match(ps.stdout, /sleep 1000/);
  await killSupervisor(s);
  // Before any supervisor: status finds the tree by its marker.
  const status = await s.cli(["status", g, "--json"]);
  assert.equal(JSON.parse(status.stdout).state, "orphaned", status.stdout);
  await trigger(s);
  const again = await s.cli(["start", g, "--", "sleep", "1000"]);
  assert.equal(again.code, 1, `start of ${g} beside its orphan: ${again.stdout}${again.stderr}`);
  assert.match(again.stderr, /already running/);
  assert.equal(trees(g).size, 1, "one instance");
  const now = record(s, g);
  assert.equal(now?.supervisor.pid, s.supervisorPid(), "held by the new supervisor");
  assert.equal(now?.tree?.pid, st.tree!.pid, "the same leader");
  assert.match(journal(s), new RegExp(`${g} adopted by its marker: its record could not be read`));
  const stop = await s.cli(["stop", g]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(trees(g).size, 0);
});

Deno.test("a record left behind (what a full disk leaves), then a supervisor SIGKILL: the running tree is adopted, not doubled", async () => {
  await using s = services();
  const c = uniqueName("crashy");
  const first = await s.start(c, ["--restart", "always", "--restart-delay", "100ms"], [
    "sleep",
    "1000",
  ]);
  // What the record says when every write after "restarting" hit a full disk:
  // no tree, a restart due; the tree that runs is newer than the record.
  const stale: ServiceRecord = { ...first, phase: "restarting" };
  delete stale.tree;
  await killSupervisor(s);
  Deno.writeTextFileSync(s.dir.join(`${c}.json`), JSON.stringify(stale));
  const status = await s.cli(["status", c, "--json"]);
  assert.equal(JSON.parse(status.stdout).state, "orphaned", status.stdout);
  await trigger(s);
  assert.equal(trees(c).size, 1, "one instance");
  assert.equal(record(s, c)?.tree?.pid, first.tree!.pid, "the running tree adopted");
  const again = await s.cli(["start", c, "--", "sleep", "1000"]);
  assert.equal(again.code, 1, again.stderr);
  assert.equal(trees(c).size, 1, "still one instance");
  assert.equal((await s.cli(["stop", c])).code, 0);
});

Deno.test("the run directory removed while services run: no second supervisor makes second instances; the first one makes the directory again", async () => {
  await using s = services();
  const a = uniqueName("a");
  const b = uniqueName("b");
  await s.start(a, [], ["sleep", "1000"]);
  await s.start(b, ["--restart", "always", "--restart-delay", "200ms"], [
    "sh",
    "-c",
    "sleep 0.5; exit 1",
  ]);
  await s.recordAll();
  const first = s.supervisorPid()!;
  Deno.removeSync(s.dir.path, { recursive: true });
  const r = await s.cli(["start", a, "--", "sleep", "1000"]);
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /already running/);
  const rb = await s.cli(["start", b, "--", "sleep", "1000"]);
  assert.equal(rb.code, 1, `${rb.stdout}${rb.stderr}`);
  // Within seconds the first supervisor makes its presence again.
  await waitUntil(() => s.supervisorPid() === first && exists(s.dir.join("supervisor.sock")), {
    what: "the first supervisor to take its directory again",
    timeoutMs: 20_000,
  });
  await waitUntil(() => record(s, a)?.supervisor.pid === first, { what: `${a}'s record again` });
  assert.match(journal(s), /was removed under this supervisor/);
  const status = JSON.parse((await s.cli(["status", a, "--json"])).stdout);
  assert.equal(status.state, "running");
  assert.equal(status.supervisorPid, first);
  for (let i = 0; i < 10; i++) {
    assert.ok(trees(a).size <= 1 && trees(b).size <= 1, "never two instances");
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitUntil(() => record(s, b)?.supervisor.pid === first, { what: `${b}'s record again` });
  await s.recordAll();
  for (const name of [a, b]) {
    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(trees(name).size, 0);
  }
});

Deno.test("the run directory removed under a supervisor that holds no service: it exits at once and makes nothing again", async () => {
  // The supervisor lingers a second after its last service: the removal
  // must fall into that second (checked: it was alive after it), else
  // nothing was tested and the case is tried again with a new directory.
  for (let attempt = 1;; attempt++) {
    await using s = services();
    const name = uniqueName("idle");
    await s.start(name, [], ["sleep", "1000"]);
    await s.recordAll();
    const pid = s.supervisorPid()!;
    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    Deno.removeSync(s.dir.path, { recursive: true });
    if (!alive(pid)) {
      assert.ok(attempt < 5, "the supervisor exited before its directory was removed, 5 times");
      continue;
    }
    await waitUntil(() => !alive(pid), { what: "the idle supervisor to exit", timeoutMs: 20_000 });
    assert.ok(!exists(s.dir.path), "the run directory is not made again");
    // The next command launches a supervisor, which makes the directory.
    await s.start(name, [], ["sleep", "1000"]);
    assert.notEqual(s.supervisorPid(), pid);
    assert.equal((await s.cli(["stop", name])).code, 0);
    assert.equal(trees(name).size, 0);
    break;
  }
});

Deno.test("a --restart always service that dies while no supervisor runs is restarted by the next one; what it left is removed", async () => {
  await using s = services();
  const tmp = s.dir.join(".tmp");
  Deno.mkdirSync(tmp, { mode: 0o700 });
  const env = { TMPDIR: tmp };
  const c = uniqueName("always");
  const n = uniqueName("never");
  const x = uniqueName("stopping");
  let r = await s.cli(["start", c, "--restart", "always", "--", "sleep", "1000"], { env });
  assert.equal(r.code, 0, r.stderr);
  r = await s.cli(["start", n, "--", "sleep", "1000"], { env });
  assert.equal(r.code, 0, r.stderr);
  r = await s.cli(["start", x, "--restart", "always", "--", "sleep", "1000"], { env });
  assert.equal(r.code, 0, r.stderr);
  const [rc, rn, rx] = [record(s, c)!, record(s, n)!, record(s, x)!];
  await killSupervisor(s);
  // What a supervisor killed midway leaves: a start gate's directory.
  const gate = `${tmp}/pidkit-gate-${rc.tree!.marker.replace(":", "-")}-abc123`;
  Deno.mkdirSync(gate);
  // A stop that finished just before the kill: the record still says stopping.
  Deno.writeTextFileSync(s.dir.join(`${x}.json`), JSON.stringify({ ...rx, phase: "stopping" }));
  for (const rec of [rc, rn, rx]) {
    Deno.kill(-rec.tree!.pgid, "SIGKILL");
    await waitUntil(() => !alive(rec.tree!.pid), { what: `${rec.name} to die` });
  }
  await trigger(s, env);
  // Restarted, with a line saying why.
  await waitUntil(() => trees(c).size === 1 && record(s, c)?.phase === "running", {
    what: `${c} restarted`,
  });
  assert.match(
    Deno.readTextFileSync(s.dir.join(`${c}.log`)),
    /died while no supervisor ran \(exit status unknown\); restarting/,
  );
  assert.ok(!exists(gate), "the gate directory is removed");
  if (rc.tree!.cgroupPath) assert.ok(!exists(rc.tree!.cgroupPath), "its empty cgroup is removed");
  // Not restarted: the books closed; no stale PID file left.
  const sn = JSON.parse((await s.cli(["status", n, "--json"])).stdout);
  assert.equal(sn.state, "stopped", JSON.stringify(sn));
  assert.equal(record(s, n)?.phase, "exited");
  assert.equal(record(s, n)?.lastExit?.code, null);
  assert.ok(!exists(s.dir.join(`${n}.pid`)), "no stale PID file");
  assert.ok(!exists(s.dir.join(`${n}.out`)), "no output FIFO");
  assert.match(Deno.readTextFileSync(s.dir.join(`${n}.log`)), /died while no supervisor ran/);
  if (rn.tree!.cgroupPath) assert.ok(!exists(rn.tree!.cgroupPath), "its empty cgroup is removed");
  const sx = JSON.parse((await s.cli(["status", x, "--json"])).stdout);
  assert.equal(sx.state, "stopped", "a stop under way when it died: stopped, not restarted");
  assert.equal(trees(x).size, 0);
  await s.recordAll();
  assert.equal((await s.cli(["stop", c])).code, 0);
});

Deno.test("two supervisors killed in a row while a restart is due: the restart is never lost", async () => {
  await using s = services();
  const c = uniqueName("due");
  for (let round = 0; round < 4; round++) {
    const r = await s.cli([
      "start",
      c,
      "--restart",
      "on-failure",
      "--restart-delay",
      "1s",
      "--",
      "sh",
      "-c",
      "sleep 0.3; exit 3",
    ]);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(() => record(s, c)?.phase === "restarting", { what: "the back-off" });
    await killSupervisor(s);
    // The next supervisor restarts it; it is killed at once, at a moment
    // that moves from round to round (before, during, after the spawn).
    const t = uniqueName("t");
    const starting = s.cli(["start", t, "--", "sleep", "1000"]);
    await waitUntil(() => s.supervisorPid() !== undefined && alive(s.supervisorPid()!), {
      what: "a new supervisor",
    });
    await new Promise((r) => setTimeout(r, round * 60));
    await s.recordAll();
    const second = s.supervisorPid()!;
    try {
      Deno.kill(second, "SIGKILL");
    } catch { /* gone */ }
    await waitUntil(() => !alive(second), { what: "the second supervisor to die" });
    await starting;
    await trigger(s);
    await waitUntil(() => trees(c).size === 1 || record(s, c)?.phase === "restarting", {
      what: `${c} running again (round ${round})`,
      timeoutMs: 15_000,
    }).catch((err) => {
      console.error(JSON.stringify(record(s, c)), journal(s));
      console.error(Deno.readTextFileSync(s.dir.join(`${c}.log`)));
      throw err;
    });
    await s.recordAll();
    assert.ok(trees(c).size <= 1, "never two instances");
    const stop = await s.cli(["stop", c]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(trees(c).size, 0);
  }
});

Deno.test({
  name:
    "full disk: a restart under it, a supervisor SIGKILL, space freed: adopted, never doubled; a start leaves no empty PID file",
  ignore: !isRoot,
  async fn() {
    await using s = services();
    const dir = s.dir.path;
    const sh = (...cmd: string[]) =>
      new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" })
        .outputSync().success;
    assert.ok(sh("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir));
    try {
      const c = uniqueName("crashy");
      await s.start(c, ["--restart", "always", "--restart-delay", "100ms"], [
        "sh",
        "-c",
        "sleep 1; exit 1",
      ]);
      const filler = `${dir}/.filler`;
      fill(filler);
      // A restart under the full disk: the tree runs, the record cannot say so.
      const log = s.dir.join(`${c}.log`);
      await waitUntil(() => /No space left/.test(Deno.readTextFileSync(log)), {
        what: "a write to fail",
      });
      await s.recordAll();
      const started = Deno.readTextFileSync(log).split("\n").filter((l) => / started /.test(l));
      await waitUntil(() => trees(c).size === 1, { what: `${c} running` });
      await killSupervisor(s);
      Deno.removeSync(filler);
      const t = uniqueName("trig");
      const r = await s.cli(["start", t, "--", "sleep", "1000"]);
      assert.equal(r.code, 0, r.stderr);
      for (let i = 0; i < 20; i++) {
        assert.ok(trees(c).size <= 1, `never two instances (${started.length} starts)`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const again = await s.cli(["start", c, "--", "sleep", "1000"]);
      assert.ok(again.code === 1 || trees(c).size <= 1, again.stderr);
      await s.recordAll();
      assert.equal((await s.cli(["stop", c])).code, 0);
      // A manual restart on a full disk, then space freed: one instance.
      const w = uniqueName("web");
      await s.start(w, [], ["sleep", "1000"]);
      fill(filler);
      await s.cli(["restart", w]);
      await s.recordAll();
      Deno.removeSync(filler);
      await s.cli(["start", w, "--", "sleep", "1000"]);
      await s.recordAll();
      assert.ok(trees(w).size <= 1, "one instance after a restart on a full disk");
      // A start on a full disk leaves no empty PID file (nor a phantom in list).
      fill(filler);
      const n1 = uniqueName("n1");
      const full = await s.cli(["start", n1, "--", "sleep", "1000"]);
      await s.recordAll();
      assert.notEqual(full.code, 0);
      assert.ok(!exists(s.dir.join(`${n1}.pid`)), "no empty PID file");
      Deno.removeSync(filler);
      const list = await s.cli(["list", "--json"]);
      assert.ok(!list.stdout.includes(n1), list.stdout);
      await s.cli(["stop", w]);
      await s.cli(["stop", t]);
    } finally {
      await s.killAll();
      sh("umount", dir) || sh("umount", "-l", dir);
    }
  },
});

function fill(path: string): void {
  using f = Deno.openSync(path, { write: true, create: true, append: true });
  try {
    for (;;) f.writeSync(new Uint8Array(4096));
  } catch { /* full */ }
}

Deno.test("NAME.pid and NAME.json deleted under a running supervisor: made again; a stop at once still stops it", async () => {
  await using s = services();
  const g = uniqueName("g");
  const h = uniqueName("h");
  const st = await s.start(g, [], ["sleep", "1000"]);
  await s.start(h, [], ["sleep", "1000"]);
  for (const name of [g, h]) {
    Deno.removeSync(s.dir.join(`${name}.pid`));
    Deno.removeSync(s.dir.join(`${name}.json`));
  }
  // At once, before the supervisor notices: stop asks it.
  const stop = await s.cli(["stop", g]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /stopped/);
  assert.ok(!alive(st.tree!.pid), `${g} is stopped`);
  // The other: its files are made again within seconds; status says running.
  await waitUntil(() => exists(s.dir.join(`${h}.pid`)) && record(s, h) !== undefined, {
    what: `${h}'s files made again`,
  });
  const status = JSON.parse((await s.cli(["status", h, "--json"])).stdout);
  assert.equal(status.state, "running");
  assert.equal(trees(h).size, 1);
  assert.equal((await s.cli(["stop", h])).code, 0);
});
