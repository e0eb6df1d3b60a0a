import { writeOldFile } from "../../_util/legacy_helpers.ts";
import assert from "node:assert/strict";
import { PidFileError, UsageError } from "../../../src/os/errors.ts";
import {
  readServiceRecord,
  writeServiceRecord,
} from "../../../src/service/model/service_record.ts";
import { inspectPidFile, inspectService } from "../../../src/service/inspect/inspect_service.ts";
import {
  resolveRunDir,
  serviceNames,
  servicePaths,
  validateName,
} from "../../../src/service/model/run_dir.ts";
import { readProcStat } from "../../../src/os/proc.ts";
import { fakeState, treeRefOf } from "../../_util/service_fixture.ts";
import { Reaper, tempDir, waitUntil } from "../../_util/helpers.ts";

Deno.test("validateName accepts the allowed alphabet and refuses the rest", () => {
  for (const ok of ["web", "a", "A.b_c-9", "x".repeat(64), ".hidden", "..."]) {
    assert.equal(validateName(ok), ok);
  }
  for (const bad of ["", ".", "..", "a/b", "../x", "x".repeat(65), "sp ace", "\u00e9", "a\nb"]) {
    assert.throws(() => validateName(bad), UsageError, bad);
  }
});

Deno.test("servicePaths names the five files and refuses bad names", () => {
  assert.deepEqual(servicePaths("/d", "web"), {
    pidfile: "/d/web.pid",
    state: "/d/web.json",
    log: "/d/web.log",
    env: "/d/web.env",
    output: "/d/web.out",
  });
  assert.throws(() => servicePaths("/d", ".."), UsageError);
});

Deno.test("resolveRunDir: --dir, PIDKIT_DIR, XDG_RUNTIME_DIR; creates only when asked", () => {
  using tmp = tempDir();
  const saved = ["PIDKIT_DIR", "XDG_RUNTIME_DIR"].map((k) => [k, Deno.env.get(k)] as const);
  try {
    Deno.env.set("PIDKIT_DIR", tmp.join("env"));
    Deno.env.set("XDG_RUNTIME_DIR", tmp.join("xdg"));
    assert.equal(resolveRunDir({ dir: tmp.join("flag/") }), tmp.join("flag"));
    assert.equal(resolveRunDir({}), tmp.join("env"));
    Deno.env.delete("PIDKIT_DIR");
    assert.equal(resolveRunDir({}), tmp.join("xdg/pidkit"));
    assert.throws(() => Deno.statSync(tmp.join("xdg")), Deno.errors.NotFound);
    resolveRunDir({ create: true });
    assert.equal(Deno.statSync(tmp.join("xdg/pidkit")).mode! & 0o777, 0o700);
    assert.match(resolveRunDir({ dir: "rel" }), /^\/.*\/rel$/);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("writeServiceRecord is atomic and readServiceRecord reads it back; garbage is bad-content", async () => {
  using tmp = tempDir();
  const path = tmp.join("web.json");
  assert.equal(await readServiceRecord(path), undefined);
  const state = fakeState(tmp.path, "web");
  await writeServiceRecord(path, state);
  assert.deepEqual(await readServiceRecord(path), state);
  assert.deepEqual((await Array.fromAsync(Deno.readDir(tmp.path))).map((e) => e.name), [
    "web.json",
  ]);
  await writeServiceRecord(path, { ...state, restarts: 3 });
  assert.equal((await readServiceRecord(path))!.restarts, 3);
  for (const garbage of ["{", "[]", '{"version":2}', '{"version":1,"name":"x","phase":"zzz"}']) {
    await Deno.writeTextFile(path, garbage);
    await assert.rejects(
      () => readServiceRecord(path),
      (e) => e instanceof PidFileError && e.reason === "bad-content",
    );
  }
});

Deno.test("serviceNames: names with .pid or .json, sorted; missing dir has none", async () => {
  using tmp = tempDir();
  assert.deepEqual(await serviceNames(tmp.join("nope")), []);
  for (
    const f of ["b.pid", "b.json", "a.json", "c.log", ".web.json.1-x.tmp", "z.pid", "bad name.pid"]
  ) {
    await Deno.writeTextFile(tmp.join(f), "");
  }
  assert.deepEqual(await serviceNames(tmp.path), ["a", "b", "z"]);
});

Deno.test("inspectService: stopped, failed, stale, orphaned, unknown", async () => {
  using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  assert.equal((await inspectService(dir, "none")).phase, "stopped");

  await writeServiceRecord(`${dir}/f.json`, fakeState(dir, "f", { phase: "failed" }));
  assert.equal((await inspectService(dir, "f")).phase, "failed");

  // A stale PID file naming a live, unrelated process: stale, never "running".
  const other = reaper.spawn(["sleep", "100"]);
  writeOldFile(`${dir}/s.pid`, `${other.pid}\n`); // written before it started: reused
  const s = await inspectService(dir, "s");
  assert.equal(s.phase, "stale");
  assert.equal(s.pid, other.pid);

  // Supervisor gone (a dead pid), lock free, the recorded tree alive: orphaned.
  const gone = { pid: 999_999_999, startTime: 1 };
  const ref = treeRefOf(other.pid, "o:x");
  await writeServiceRecord(`${dir}/o.json`, fakeState(dir, "o", { supervisor: gone, tree: ref }));
  await Deno.writeTextFile(`${dir}/o.pid`, `${other.pid}\n`);
  const o = await inspectService(dir, "o");
  assert.equal(o.phase, "orphaned");
  assert.equal(o.pid, other.pid);

  // The same tree with a wrong start time (PID reuse) and no other member: stale.
  const reused = { ...ref, startTime: 1, pgid: 999_999_998, sid: 999_999_998, marker: "o:y" };
  await writeServiceRecord(
    `${dir}/o.json`,
    fakeState(dir, "o", { supervisor: gone, tree: reused }),
  );
  assert.equal((await inspectService(dir, "o")).phase, "stale");

  await Deno.writeTextFile(`${dir}/u.json`, "not json");
  const u = await inspectService(dir, "u");
  assert.equal(u.phase, "unknown");
  assert.match(u.error!, /u\.json is not a pidkit state file/);
});

Deno.test("inspectService: the lock decides running; phases from the state", async () => {
  using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const pidfile = `${dir}/web.pid`;
  // A holder: flock(1) keeps an exclusive lock while sleep runs.
  const holder = reaper.spawn(["flock", "-x", pidfile, "sleep", "100"]);
  await waitUntil(async () => (await inspectPidFile(pidfile)).phase === "running", {
    what: "lock held",
  });
  await Deno.writeTextFile(pidfile, `${holder.pid}\n`);
  assert.equal((await inspectService(dir, "web")).phase, "running");
  const sup = { pid: holder.pid, startTime: readProcStat(holder.pid)!.startTime };
  for (
    const [phase, want] of [
      ["running", "running"],
      ["starting", "starting"],
      ["restarting", "restarting"],
      ["stopping", "stopping"],
    ] as const
  ) {
    await writeServiceRecord(`${dir}/web.json`, fakeState(dir, "web", { phase, supervisor: sup }));
    const info = await inspectService(dir, "web");
    assert.equal(info.phase, want, phase);
    assert.equal(info.supervisorPid, holder.pid);
  }
});
