/**
 * One stop flow (issue 22 item 4): `pidkit stop NAME` asks the supervisor
 * that holds the service first, with no inspection; the control protocol
 * has a version and error codes, so this pidkit refuses cleanly what an
 * older supervisor (0.2) would do wrong, and still stops its services; the
 * 0.1 control file is written only for a 0.1 supervisor (record version 1).
 *
 * The 0.1 and 0.2 supervisors here are the real ones, from this
 * repository's history (`git archive`); those tests skip, saying why, where
 * the history is not at hand.
 */

import assert from "node:assert/strict";
import {
  alive,
  CLI,
  exists,
  hasProgram,
  ROOT,
  startTimeOf,
  type TempDir,
  tempDir,
  waitUntil,
} from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const linux = Deno.build.os === "linux";
const IGNORES_TERM = ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"];
/** The last commits of 0.1 (a supervisor per service, the control file) and of 0.2. */
const RELEASE_01 = "476613d";
const RELEASE_02 = "8003599";

/** A checkout of `commit` in a temporary directory; a reason when there is none. */
async function checkout(commit: string): Promise<TempDir | string> {
  if (!hasProgram("git")) return "needs git";
  const dir = tempDir(`pidkit-${commit}-`);
  const archive = await new Deno.Command("sh", {
    args: ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", ROOT, commit, dir.path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (archive.code !== 0 || !exists(`${dir.path}/cli.ts`)) {
    dir[Symbol.dispose]();
    return `no git history with ${commit} here`;
  }
  return dir;
}

/** Run `cli` (a cli.ts) of an older checkout with PIDKIT_DIR `s.dir`. */
async function oldCli(s: Services, cli: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args],
    env: { PIDKIT_DIR: s.dir.path, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** One raw line exchange on `socket` (what an older or newer command would send). */
async function rawExchange(socket: string, line: string): Promise<Record<string, unknown>[]> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  await conn.write(new TextEncoder().encode(line + "\n"));
  let text = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** The paths a command opened or looked at, from `strace -f` of it. */
async function tracedPaths(
  s: Services,
  args: string[],
): Promise<{ code: number; paths: string[] }> {
  await using out = tempDir("pidkit-strace-");
  const log = out.join("trace");
  const r = await new Deno.Command("strace", {
    args: [
      "-f",
      "-qq",
      "-e",
      "trace=openat,open,readlink,readlinkat,statx,newfstatat,stat,lstat,access",
      "-o",
      log,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      CLI,
      ...args,
    ],
    env: { PIDKIT_DIR: s.dir.path, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  const paths = [...(await Deno.readTextFile(log)).matchAll(/"(\/[^"]*)"/g)].map((m) => m[1]);
  return { code: r.code, paths };
}

const noStrace = !linux ? "Linux only" : hasProgram("strace") ? undefined : "needs strace";
if (noStrace) console.log(`skipped: the happy path's /proc reads: ${noStrace}`);

Deno.test({
  name:
    "stop of a service its supervisor holds asks it first: no /proc/PID and no /proc/locks read, its schedule kept",
  ignore: noStrace !== undefined,
  async fn() {
    await using s = new Services();
    const name = uniqueName("happy");
    const rec = await s.start(name, ["--retry", "TERM/1/KILL/2"], IGNORES_TERM);
    const t0 = performance.now();
    const { code, paths } = await tracedPaths(s, ["stop", name]);
    const took = performance.now() - t0;
    assert.equal(code, 0);
    const inspected = paths.filter((p) => /^\/proc\/(\d+|locks)(\/|$)/.test(p));
    assert.deepEqual(inspected, [], "the happy path inspects nothing");
    assert.ok(!paths.some((p) => p.endsWith(`${name}.ctl`)), "no 0.1 control file");
    // The service's own schedule (TERM, 1 s, KILL), kept by its supervisor: not the default 10 s.
    assert.ok(took < 9000, `took ${Math.round(took)} ms`);
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    assert.equal((await s.state(name)).phase, "stopped");
  },
});

Deno.test({
  name:
    "the control protocol: a newer request is refused with code version, an unknown op with unknown-op, a bare request is served as before",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("proto");
    await s.start(name, [], ["sleep", "1000"]);
    const socket = s.dir.join("supervisor.sock");
    const [newer] = await rawExchange(socket, '{"v":99,"request":{"op":"hello"}}');
    assert.equal(newer.ok, false);
    assert.equal(newer.code, "version");
    assert.equal(newer.v, 1);
    assert.match(String(newer.error), /protocol 99/);
    const unknown = await rawExchange(socket, '{"v":1,"request":{"op":"frobnicate","ack":true}}');
    assert.deepEqual(unknown.map((a) => [a.accepted ?? a.code, a.v]), [[true, 1], [
      "unknown-op",
      1,
    ]]);
    const [hello] = await rawExchange(socket, '{"v":1,"request":{"op":"hello"}}');
    assert.equal(hello.v, 1);
    assert.deepEqual(hello.services, [name]);
    // A command from before versioning: no envelope, an answer without `v`.
    const [bare] = await rawExchange(socket, '{"op":"hello"}');
    assert.equal(bare.v, undefined);
    assert.deepEqual(bare.services, [name]);
    const [garbage] = await rawExchange(socket, "not json");
    assert.equal(garbage.code, "bad-request");
    assert.equal((await s.cli(["stop", name])).code, 0);
  },
});

Deno.test({
  name:
    "a 0.2 resident supervisor: start refuses with one line and nothing started, stop still stops its service",
  ignore: !linux,
  async fn(t) {
    const old = await checkout(RELEASE_02);
    if (typeof old === "string") {
      console.log(`skipped: ${t.name}: ${old}`);
      return;
    }
    using _old = old;
    await using s = new Services();
    const name = uniqueName("old");
    const started = await oldCli(s, old.join("cli.ts"), ["start", name, "--", ...IGNORES_TERM]);
    assert.equal(started.code, 0, started.stderr);
    const rec = await s.state(name);
    assert.equal(rec.version, 2);
    const other = uniqueName("new");
    const refused = await s.cli(["start", other, "--", "sleep", "1000"]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, /older pidkit \(0\.2.*did nothing/);
    assert.ok(!exists(s.dir.join(`${other}.json`)), "nothing started");
    assert.ok(alive(rec.supervisor.pid), "the 0.2 supervisor goes on");
    // Stopped by it, on the schedule asked for (its default is TERM/10/KILL/5).
    const t0 = performance.now();
    const stop = await s.cli(["stop", name, "--retry", "TERM/1/KILL/2", "--json"]);
    assert.equal(stop.code, 0, stop.stderr);
    const out = JSON.parse(stop.stdout);
    assert.equal(out.status, "stopped");
    assert.equal(out.lastSignal, "SIGKILL");
    assert.ok(performance.now() - t0 < 8000, "its schedule was the one asked for");
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    assert.equal((await s.cli(["status", name])).code, 3);
    // Left alone, it exits when idle; then a start starts a supervisor of this pidkit.
    await waitUntil(() => !alive(rec.supervisor.pid), { what: "the 0.2 supervisor to exit" });
    const now = await s.cli(["start", other, "--", "sleep", "1000"]);
    assert.equal(now.code, 0, now.stderr);
    await s.state(other);
    assert.equal((await s.cli(["stop", other])).code, 0);
  },
});

Deno.test({
  name:
    "the 0.1 control file: written for a 0.1 supervisor (record version 1, its schedule honoured), never for 0.2's pidkit run",
  ignore: !linux,
  async fn(t) {
    const v01 = await checkout(RELEASE_01);
    const v02 = await checkout(RELEASE_02);
    if (typeof v01 === "string" || typeof v02 === "string") {
      console.log(`skipped: ${t.name}: ${typeof v01 === "string" ? v01 : v02}`);
      return;
    }
    using _v01 = v01;
    using _v02 = v02;
    await using s = new Services();
    const name = uniqueName("v01");
    const started = await oldCli(s, v01.join("cli.ts"), ["start", name, "--", ...IGNORES_TERM]);
    assert.equal(started.code, 0, started.stderr);
    const rec = await s.state(name);
    assert.equal(rec.version, 1);
    const t0 = performance.now();
    const stop = await s.cli(["stop", name, "--retry", "TERM/1/KILL/2", "--json"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(
      JSON.parse(stop.stdout).lastSignal,
      "SIGKILL",
      "its report, from the control file",
    );
    assert.ok(performance.now() - t0 < 8000, "the schedule asked for, not its TERM/10");
    assert.ok(!exists(s.dir.join(`${name}.ctl`)), "the control file is removed");
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    // 0.2's pidkit run: SIGTERM, its own schedule, no control file.
    const run = uniqueName("run02");
    const fg = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", v02.join("cli.ts"), "run", run, "--", "sleep", "1000"],
      env: { PIDKIT_DIR: s.dir.path },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    s.pid(fg.pid);
    await waitUntil(
      async () => exists(s.dir.join(`${run}.json`)) && (await s.cli(["status", run])).code === 0,
      { what: "the 0.2 run to start" },
    );
    const runRec = await s.state(run);
    assert.equal(runRec.supervisor.socket, undefined);
    const traced = noStrace === undefined;
    const r = traced
      ? await tracedPaths(s, ["stop", run, "--retry", "TERM/3/KILL/2"])
      : { ...await s.cli(["stop", run, "--retry", "TERM/3/KILL/2"]), paths: [] };
    assert.equal(r.code, 0);
    assert.ok(!r.paths.some((p) => p.includes(`${run}.ctl`)), "no control file for 0.2");
    assert.equal((await fg.status).code, 143, "the run exits as its service did (SIGTERM)");
    assert.equal((await s.cli(["status", run])).code, 3);
  },
});

Deno.test({
  name: "orphan stop: --retry applies, the tree is stopped directly, no supervisor is started",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("orphan");
    const rec = await s.start(name, [], IGNORES_TERM); // its own schedule: TERM/10/KILL/5
    Deno.kill(rec.supervisor.pid, "SIGKILL");
    await waitUntil(() => startTimeOf(rec.supervisor.pid) === undefined, { what: "the kill" });
    const t0 = performance.now();
    const stop = await s.cli(["stop", name, "--retry", "TERM/1/KILL/2", "--json"]);
    assert.equal(stop.code, 0, stop.stderr);
    const out = JSON.parse(stop.stdout);
    assert.equal(out.orphaned, true);
    assert.equal(out.lastSignal, "SIGKILL");
    assert.deepEqual(out.survivors, []);
    assert.ok(performance.now() - t0 < 8000, "the schedule asked for");
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    assert.equal(
      s.supervisorPid() === undefined || !alive(s.supervisorPid()!),
      true,
      "none started",
    );
    assert.equal((await s.state(name)).phase, "stopped");
    const again = await s.cli(["stop", name]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /is not running/);
  },
});

Deno.test({
  name:
    "an orphan stop whose lock a supervisor took meanwhile asks that supervisor; it never starts the stop over",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("adopted");
    const rec = await s.start(name, [], ["sleep", "1000"]);
    // What a stop that inspected the service as orphaned goes on with, after a
    // supervisor took its lock (here: the one that never let go of it).
    const { stopOrphan } = await import("../../../src/service/actions/_stop_unheld.ts");
    const out = await stopOrphan(s.dir.path, name, rec.pidfile, rec, {}, 0);
    assert.equal(out.status, "stopped");
    assert.equal(out.orphaned, undefined, "stopped by its supervisor, not directly");
    assert.equal(out.lastSignal, "SIGTERM");
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    const after = await s.state(name);
    assert.equal(after.phase, "stopped");
    assert.equal(after.stopper, undefined, "no stop of its own was written down");
  },
});

Deno.test({
  name: "the progress of a stop its supervisor carries out begins with the supervisor's schedule",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("progress");
    await s.start(name, ["--retry", "TERM/3/KILL/1"], ["sleep", "1000"]);
    const { stopService } = await import("../../../service.ts");
    const { parseRetry } = await import("../../../src/tree/stop_schedule.ts");
    const events: { kind: string; steps?: unknown }[] = [];
    const out = await stopService(name, { dir: s.dir.path, onProgress: (e) => events.push(e) });
    assert.equal(out.status, "stopped");
    assert.deepEqual(events.map((e) => e.kind), ["begin", "end"]);
    assert.deepEqual(events[0].steps, parseRetry("TERM/3/KILL/1"), "its own, told in the ack");
  },
});

Deno.test({
  name:
    "two stops of one orphan at once both succeed: the second waits for the first to let go of the lock",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("twostops");
    const rec = await s.start(name, [], IGNORES_TERM);
    Deno.kill(rec.supervisor.pid, "SIGKILL");
    await waitUntil(() => startTimeOf(rec.supervisor.pid) === undefined, { what: "the kill" });
    // Each stop finds the tree orphaned; one takes the lock and stops it for
    // a second or more (TERM is ignored); the other finds the lock taken by a
    // stop that is no supervisor. It was told "try again" (exit 1).
    const stops = await Promise.all(
      [0, 1].map(() => s.cli(["stop", name, "--retry", "TERM/1/KILL/3", "--json"])),
    );
    for (const stop of stops) assert.equal(stop.code, 0, stop.stderr);
    const outs = stops.map((stop) => JSON.parse(stop.stdout));
    assert.equal(outs.filter((o) => o.orphaned === true).length, 1, "stopped once, directly");
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    assert.equal((await s.state(name)).phase, "stopped");
  },
});

Deno.test({
  name:
    "a stop that finds an orphan's lock still held by a process that answers nothing waits for its release, then stops it",
  ignore: !linux || !hasProgram("flock"),
  async fn() {
    await using s = new Services();
    const name = uniqueName("dying");
    const rec = await s.start(name, [], ["sleep", "1000"]);
    Deno.kill(rec.supervisor.pid, "SIGKILL");
    await waitUntil(() => startTimeOf(rec.supervisor.pid) === undefined, { what: "the kill" });
    // What a killed supervisor is for a moment: its socket gone, the PID
    // file's lock not yet (here a holder that lets go after a while).
    const holder = new Deno.Command("flock", {
      args: ["-x", rec.pidfile, "sleep", "1.5"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const { probe } = await import("../../../mod.ts");
      await waitUntil(async () => (await probe(rec.pidfile)).status === "running", {
        what: "the holder's lock",
      });
      const stop = await s.cli(["stop", name, "--json"]);
      assert.equal(stop.code, 0, stop.stderr); // was: "... does not hold it; try again"
      const out = JSON.parse(stop.stdout);
      assert.equal(out.status, "stopped");
      assert.equal(out.orphaned, true);
      assert.equal(startTimeOf(rec.tree!.pid), undefined);
    } finally {
      try {
        holder.kill("SIGKILL");
      } catch { /* exited */ }
      await holder.status;
    }
  },
});
