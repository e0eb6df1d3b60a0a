import assert from "node:assert/strict";
import {
  AlreadyRunningError,
  FileError,
  PidFile,
  PidFileError,
  probe,
  readPidFile,
  UsageError,
  waitForRelease,
} from "../../mod.ts";
import {
  exists,
  FIXTURES,
  hasProgram,
  Reaper,
  ROOT,
  tempDir,
  waitUntil,
} from "../_util/helpers.ts";
import { readableCopy } from "../_util/readable_copy.ts";
import { spawnFixture, startHolder } from "../_util/fixture_io.ts";

const isRoot = Deno.uid() === 0;
const SSD = "/usr/sbin/start-stop-daemon";
const hasSsd = (() => {
  try {
    return Deno.statSync(SSD).isFile;
  } catch {
    return hasProgram("start-stop-daemon");
  }
})();
if (!hasSsd) console.log("pid_file_test: start-stop-daemon is missing; its test is skipped");

async function rejectsWith<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${err}`);
    return err;
  }
  assert.fail(`expected ${type.name}, but it succeeded`);
}

Deno.test("acquire writes PID\\n, release removes the file and frees the lock", async () => {
  await using dir = tempDir();
  const path = dir.join("app.pid");
  const pid = await PidFile.acquire(path);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
  assert.equal(pid.pid, Deno.pid);
  assert.equal(pid.path, path);
  assert.deepEqual(pid.record, { pid: Deno.pid, format: "plain" });
  assert.equal(((await Deno.stat(path)).mode! & 0o777).toString(8), "644");
  await pid.release();
  await pid.release(); // idempotent
  assert.equal(exists(path), false);
  assert.deepEqual(await probe(path), { status: "absent" });
});

Deno.test("1. a held path: AlreadyRunningError with the holder's PID, from another process and in-process", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const { pid: holder } = await startHolder(reaper, path);
  const err = await rejectsWith(PidFile.acquire(path), AlreadyRunningError);
  assert.equal(err.pid, holder);
  assert.equal(err.path, path);
  assert.equal(err.message, `${path} is held by pid ${holder}: already running`);
  // With a timeout it keeps trying, then fails the same way.
  const t0 = Date.now();
  const late = await rejectsWith(PidFile.acquire(path, { timeout: 150 }), AlreadyRunningError);
  assert.equal(late.pid, holder);
  assert.ok(Date.now() - t0 >= 140, "it waited for the timeout");

  // A second handle in this process, and another process, against this one.
  const mine = dir.join("mine.pid");
  await using _held = await PidFile.acquire(mine);
  const second = await rejectsWith(PidFile.acquire(mine), AlreadyRunningError);
  assert.equal(second.pid, Deno.pid);
  const other = spawnFixture(reaper, "pid_holder.ts", [mine]);
  assert.equal(
    await other.lines.next(),
    `error already-running ${Deno.pid} ${mine} is held by pid ${Deno.pid}: already running`,
  );
  assert.equal((await other.child.status).code, 3);
});

Deno.test("2. a holder killed with SIGKILL: stale at once, and the next acquire takes over", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const { fixture, pid } = await startHolder(reaper, path, ["--json"]);
  assert.equal((await probe(path)).status, "running");
  Deno.kill(pid, "SIGKILL");
  await fixture.child.status;
  const found = await probe(path);
  assert.equal(found.status, "stale");
  assert.equal(found.status === "stale" && found.pid, pid);
  assert.equal(found.status === "stale" && found.record?.format, "json");
  await using mine = await PidFile.acquire(path);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
  assert.equal(mine.pid, Deno.pid);
});

Deno.test("3. a stale file naming a live unrelated process (PID reuse) is stale, never running", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const stranger = reaper.spawn(["sleep", "30"]);
  await Deno.writeTextFile(path, `${stranger.pid}\n`);
  const found = await probe(path);
  assert.deepEqual(found, {
    status: "stale",
    pid: stranger.pid,
    record: { pid: stranger.pid, format: "plain" },
  });
  assert.equal((await readPidFile(path)).pid, stranger.pid);
  await using _mine = await PidFile.acquire(path);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
});

Deno.test("6. a symlink at the path is refused and nothing is written through it; a directory is not a file", async () => {
  await using dir = tempDir();
  const target = dir.join("target.txt");
  await Deno.writeTextFile(target, "precious\n");
  const link = dir.join("link.pid");
  await Deno.symlink(target, link);
  const err = await rejectsWith(PidFile.acquire(link), PidFileError);
  assert.equal(err.reason, "symlink");
  assert.equal(err.path, link);
  assert.match(err.message, /symbolic link/);
  assert.equal(await Deno.readTextFile(target), "precious\n");
  assert.ok((await Deno.lstat(link)).isSymlink);
  assert.equal((await rejectsWith(probe(link), PidFileError)).reason, "symlink");
  assert.equal((await rejectsWith(readPidFile(link), PidFileError)).reason, "symlink");

  const dangling = dir.join("dangling.pid");
  await Deno.symlink(dir.join("nowhere"), dangling);
  assert.equal((await rejectsWith(PidFile.acquire(dangling), PidFileError)).reason, "symlink");
  assert.equal(exists(dir.join("nowhere")), false, "the link's target was not created");

  const sub = dir.join("sub.pid");
  await Deno.mkdir(sub);
  assert.equal((await rejectsWith(PidFile.acquire(sub), PidFileError)).reason, "not-a-file");
  assert.equal((await rejectsWith(probe(sub), PidFileError)).reason, "not-a-file");

  const fifo = dir.join("fifo.pid");
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(mk.success);
  assert.equal((await rejectsWith(PidFile.acquire(fifo), PidFileError)).reason, "not-a-file");
  assert.equal((await rejectsWith(probe(fifo), PidFileError)).reason, "not-a-file");
});

Deno.test("7. a missing parent directory is created; garbage in a stale file is reported and taken over", async () => {
  await using dir = tempDir();
  const path = dir.join("a/b/c/app.pid");
  await using held = await PidFile.acquire(path);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
  await held.release();

  const junk = dir.join("junk.pid");
  await Deno.writeFile(junk, new Uint8Array([0xff, 0xfe, 0, 1, 2, 10]));
  const found = await probe(junk);
  assert.equal(found.status, "stale");
  assert.equal(found.status === "stale" && found.pid, undefined);
  assert.equal(found.status === "stale" && found.error?.reason, "bad-content");
  assert.match(found.status === "stale" ? found.error!.message : "", /junk\.pid is not a PID file/);
  const err = await rejectsWith(readPidFile(junk), PidFileError);
  assert.equal(err.reason, "bad-content");
  assert.equal(
    err.message,
    `${junk} is not a PID file (binary data); remove it if no process holds it`,
  );
  await using _mine = await PidFile.acquire(junk);
  assert.equal(await Deno.readTextFile(junk), `${Deno.pid}\n`);
  assert.equal(
    (await rejectsWith(readPidFile(dir.join("none.pid")), PidFileError)).reason,
    "not-found",
  );
  // FileError is PidFileError's new name: the same class, instanceof agrees both ways.
  assert.equal(PidFileError, FileError);
  assert.ok(err instanceof FileError);
  assert.ok(new FileError(junk, "io", "x") instanceof PidFileError);
});

Deno.test("bad arguments are UsageErrors naming the option and the value", async () => {
  await using dir = tempDir();
  const path = dir.join("args.pid");
  const cases: [Promise<unknown>, string][] = [
    [PidFile.acquire(path, { timeout: -1 }), "timeout must be a non-negative number, got -1"],
    [PidFile.acquire(path, { timeout: NaN }), "timeout must be a non-negative number, got NaN"],
    [
      PidFile.acquire(path, { format: "yaml" as "json" }),
      'format must be "plain" or "json", got yaml',
    ],
    [PidFile.acquire(path, { pid: 0 }), "pid must be an integer from 1 to 4194304, got 0"],
    [PidFile.acquire(path, { mode: -1 }), "mode must be an integer from 0 to 0o7777, got -1"],
    [PidFile.acquire(path, { data: { a: 1 } }), 'data needs format "json", got format "plain"'],
    [waitForRelease(path, { timeout: -5 }), "timeout must be a non-negative number, got -5"],
  ];
  for (const [promise, message] of cases) {
    const err = await rejectsWith(promise, UsageError);
    assert.equal(err.message, message);
  }
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound); // nothing was created
  await using held = await PidFile.acquire(path);
  assert.throws(() => held.watch(() => {}, { intervalMs: 0 }), UsageError);
  assert.throws(() => held.update({ pid: -1 }), UsageError);
});

Deno.test({
  name: "7. an unwritable directory gives 'permission' (run as uid 65534 when root)",
  fn: async () => {
    await using dir = tempDir();
    const locked = dir.join("locked");
    await Deno.mkdir(locked, { mode: 0o755 });
    await Deno.chmod(locked, 0o555);
    await Deno.chmod(dir.path, 0o755);
    const path = `${locked}/app.pid`;
    if (!isRoot) {
      const err = await rejectsWith(PidFile.acquire(path), PidFileError);
      assert.equal(err.reason, "permission");
      assert.match(err.message, /permission denied/);
      return;
    }
    // Root may write anywhere: ask an unprivileged user. Deno needs a cache dir it owns.
    const denoDir = dir.join("deno-dir");
    await Deno.mkdir(denoDir);
    await Deno.chown(denoDir, 65534, 65534);
    await using reaper = new Reaper();
    const fixture = spawnFixture(reaper, "pid_holder.ts", [path], {
      uid: 65534,
      gid: 65534,
      env: { DENO_DIR: denoDir, HOME: denoDir },
      // A clone under a 0700 directory: copies uid 65534 can read, and a cwd it can enter.
      from: readableCopy(dir.path),
      cwd: dir.path,
    });
    const line = await fixture.lines.next(60_000);
    assert.match(line, /^error permission - cannot create .*locked\/app\.pid: permission denied/);
    assert.equal((await fixture.child.status).code, 3);
    assert.equal(exists(path), false);
  },
});

Deno.test({
  name: "8. the plain format works with kill -0 $(cat FILE) and start-stop-daemon --status",
  ignore: !hasSsd,
  fn: async () => {
    await using dir = tempDir();
    await using reaper = new Reaper();
    const path = dir.join("app.pid");
    const { fixture, pid } = await startHolder(reaper, path);
    const sh = (script: string) =>
      new Deno.Command("sh", { args: ["-c", script, "sh", path], stdout: "null", stderr: "null" })
        .output();
    assert.equal((await sh('kill -0 "$(cat "$1")"')).code, 0);
    assert.equal((await sh(`${SSD} --status --pidfile "$1"`)).code, 0, "running");
    Deno.kill(pid, "SIGKILL");
    await fixture.child.status;
    assert.notEqual((await sh('kill -0 "$(cat "$1")"')).code, 0);
    // LSB: 1 = not running but the PID file exists.
    assert.equal((await sh(`${SSD} --status --pidfile "$1"`)).code, 1, "stale");
  },
});

Deno.test("9. holderPid is the lock holder's real PID, also when the file names another process", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const { pid } = await startHolder(reaper, path, ["--json"]);
  const found = await probe(path);
  assert.equal(found.status, "running");
  if (found.status !== "running") return;
  assert.equal(found.holderPid, pid);
  assert.equal(found.pid, pid);
  assert.equal(
    found.record?.startTime,
    Number(
      (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ")[19],
    ),
  );
  // A supervisor records its child's PID; the holder is still the supervisor.
  const child = reaper.spawn(["sleep", "30"]);
  const sup = dir.join("sup.pid");
  const { pid: supervisor } = await startHolder(reaper, sup, ["--pid", String(child.pid)]);
  const s = await probe(sup);
  assert.equal(s.status === "running" && s.pid, child.pid);
  assert.equal(s.status === "running" && s.holderPid, supervisor);
});

Deno.test("10. await using releases: file gone and lock free after the block", async () => {
  await using dir = tempDir();
  const path = dir.join("app.pid");
  {
    await using pid = await PidFile.acquire(path);
    assert.equal((await probe(path)).status, "running");
    assert.equal(pid.pid, Deno.pid);
  }
  assert.equal(exists(path), false);
  {
    using _sync = await PidFile.acquire(path);
    assert.equal(exists(path), true);
  }
  assert.equal(exists(path), false);
  // Lock free: a file created by hand is not held by anyone.
  await Deno.writeTextFile(path, "1\n");
  assert.equal((await probe(path)).status, "stale");
});

for (const [sig, code] of [["SIGTERM", 143], ["SIGINT", 130], ["SIGHUP", 129]] as const) {
  Deno.test(`10. removeOnExit: ${sig} removes the file and the holder still dies of ${sig}`, async () => {
    await using dir = tempDir();
    await using reaper = new Reaper();
    const path = dir.join("app.pid");
    const { fixture, pid } = await startHolder(reaper, path);
    Deno.kill(pid, sig);
    const status = await fixture.child.status;
    assert.equal(status.signal, sig);
    assert.equal(status.code, code);
    assert.equal(exists(path), false);
  });
}

Deno.test("10. a holder ended by SIGTERM exits with status 143 in the shell and leaves no file", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const script = `"$0" run -A --quiet "$1" "$2" >/dev/null & echo $!; wait $!; echo "status $?"`;
  const shell = reaper.spawn(
    ["sh", "-c", script, Deno.execPath(), `${FIXTURES}/pid_holder.ts`, path],
    { stdout: "piped", stderr: "null" },
  );
  const { Lines } = await import("../_util/fixture_io.ts");
  const lines = new Lines(shell.stdout);
  const holder = reaper.pid(Number(await lines.next()));
  await waitUntil(async () => (await probe(path)).status === "running", { what: "the holder" });
  Deno.kill(holder, "SIGTERM");
  assert.equal(await lines.next(), "status 143");
  assert.equal(exists(path), false);
});

Deno.test("10. normal exit removes the file; removeOnExit: false leaves it (stale) on SIGTERM", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const { fixture } = await startHolder(reaper, path, ["--exit-after", "100"]);
  assert.equal((await fixture.child.status).code, 0);
  assert.equal(exists(path), false);

  const kept = await startHolder(reaper, path, ["--keep"]);
  Deno.kill(kept.pid, "SIGTERM");
  assert.equal((await kept.fixture.child.status).signal, "SIGTERM");
  const found = await probe(path);
  assert.equal(found.status, "stale");
  assert.equal(found.status === "stale" && found.pid, kept.pid);
});

Deno.test("11. probes never make a start fail: thousands of acquires against tight probe loops", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const stop = dir.join("stop");
  const probers = [0, 1].map(() => spawnFixture(reaper, "pid_prober.ts", [path, stop]));
  for (const p of probers) assert.equal(await p.lines.next(), "probing");
  let failures = 0;
  const rounds = 3000;
  for (let i = 0; i < rounds; i++) {
    try {
      const pid = await PidFile.acquire(path, { removeOnExit: false });
      await pid.release();
    } catch (err) {
      if (!(err instanceof AlreadyRunningError)) throw err;
      failures++;
    }
  }
  await Deno.writeTextFile(stop, "");
  const counts = await Promise.all(probers.map(async (p) => {
    const [, n, , running] = (await p.lines.next()).split(" ");
    return { n: Number(n), running: Number(running) };
  }));
  assert.equal(failures, 0, `${failures} spurious AlreadyRunningError in ${rounds} starts`);
  const total = counts.reduce((a, c) => a + c.n, 0);
  assert.ok(total > 1000, `the probers really probed (${total})`);
  assert.ok(counts.some((c) => c.running > 0), "probes overlapped with held locks");
});

Deno.test("update rewrites the record in place under the lock", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("sup.pid");
  await using pid = await PidFile.acquire(path, { format: "json", data: { port: 8080 } });
  const first = JSON.parse(await Deno.readTextFile(path));
  assert.equal(first.pid, Deno.pid);
  assert.equal(first.port, 8080);
  assert.equal(first.format, undefined);
  const child = reaper.spawn(["sleep", "30"]);
  await pid.update({ pid: child.pid, data: { port: 9090 } });
  const second = JSON.parse(await Deno.readTextFile(path));
  assert.equal(second.pid, child.pid);
  assert.equal(second.ppid, Deno.pid);
  assert.equal(second.port, 9090);
  assert.equal(second.createdAt, first.createdAt);
  assert.equal(pid.pid, child.pid);
  const found = await probe(path);
  assert.equal(found.status === "running" && found.pid, child.pid);
  assert.equal(found.status === "running" && found.holderPid, Deno.pid);

  await using plain = await PidFile.acquire(dir.join("plain.pid"));
  assert.throws(() => plain.update({ data: { x: 1 } }), UsageError);
  await assert.rejects(PidFile.acquire(dir.join("x.pid"), { data: { a: 1 } }), UsageError);
  await assert.rejects(
    PidFile.acquire(dir.join("x.pid"), { format: "json", data: { pid: 1 } }),
    UsageError,
  );
  await assert.rejects(PidFile.acquire(dir.join("x.pid"), { pid: 0 }), UsageError);
});

Deno.test("waitForRelease: true when absent or once the holder dies, false on timeout, rejects on abort", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  assert.equal(await waitForRelease(path), true);
  const a = await startHolder(reaper, path);
  assert.equal(await waitForRelease(path, { timeout: 50 }), false);
  const controller = new AbortController();
  const aborted = waitForRelease(path, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("enough")), 20);
  await assert.rejects(aborted, /enough/);
  const polling = waitForRelease(path, { timeout: 20_000 });
  const blocking = waitForRelease(path);
  setTimeout(() => Deno.kill(a.pid, "SIGKILL"), 50);
  assert.deepEqual(await Promise.all([polling, blocking]), [true, true]);
  await a.fixture.child.status;
  // A graceful release (unlink, then close) wakes waiters too.
  await using mine = await PidFile.acquire(path);
  const waiting = waitForRelease(path, { timeout: 20_000 });
  setTimeout(() => mine.release(), 20);
  assert.equal(await waiting, true);
});

Deno.test("acquire with a timeout takes the file over when the holder goes away", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const { pid } = await startHolder(reaper, path);
  setTimeout(() => Deno.kill(pid, "SIGTERM"), 100);
  await using mine = await PidFile.acquire(path, { timeout: 20_000 });
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
  assert.equal(mine.pid, Deno.pid);
  const controller = new AbortController();
  const pending = PidFile.acquire(path, { timeout: 20_000, signal: controller.signal });
  controller.abort(new Error("stop waiting"));
  await assert.rejects(pending, /stop waiting/);
});

Deno.test("without -A (no /proc): probe still judges by the lock; holderPid and startTime are absent", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("app.pid");
  const perms = [`--allow-read=${dir.path},${ROOT}`, `--allow-write=${dir.path}`];
  const holder = spawnFixture(reaper, "pid_holder.ts", [path, "--json"], { permissions: perms });
  assert.match(await holder.lines.next(), /^ready \d+$/);
  const record = JSON.parse(await Deno.readTextFile(path));
  assert.equal(record.pid, holder.child.pid);
  assert.equal(record.startTime, undefined);
  const prober = spawnFixture(reaper, "pid_probe.ts", [path], { permissions: perms });
  const out = JSON.parse(await prober.lines.next());
  assert.equal(out.status, "running");
  assert.equal(out.pid, holder.child.pid);
  assert.equal(out.holderPid, undefined);
});

Deno.test("12. examples/service.ts holds its PID file, refuses a second instance, cleans up on Ctrl-C", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("service.pid");
  const run = () =>
    reaper.spawn([Deno.execPath(), "run", "-A", "--quiet", `${ROOT}/examples/service.ts`], {
      env: { PIDFILE: path, PORT: "0" },
      stdout: "piped",
      stderr: "piped",
    });
  const first = run();
  const { Lines } = await import("../_util/fixture_io.ts");
  const out = new Lines(first.stdout);
  const listening = await out.next();
  assert.match(listening, /^listening on http:\/\/127\.0\.0\.1:\d+\/ as pid \d+/);
  const url = listening.split(" ")[2];
  const body = await (await fetch(url)).json();
  assert.equal(body.pid, first.pid);
  const second = run();
  const secondOut = await second.output();
  assert.equal(secondOut.code, 1);
  assert.equal(
    new TextDecoder().decode(secondOut.stderr).trim(),
    `service: already running (${path} is held by pid ${first.pid}: already running)`,
  );
  Deno.kill(first.pid, "SIGINT");
  assert.equal((await first.status).signal, "SIGINT");
  await first.stderr.cancel();
  assert.equal(exists(path), false);
});
