/**
 * Regressions found by the torture suite (resource-faults), on a tiny tmpfs
 * and a read-only bind mount (root only): a PID file update that hits a
 * full disk keeps the old record, EROFS is reported as a read-only file
 * system, and a supervisor whose run dir fills up keeps its service.
 */
import assert from "node:assert/strict";
import { PidFile, PidFileError, probe } from "../../../mod.ts";
import { readServiceRecordSync } from "../../../src/service/model/service_record.ts";
import { Reaper, runCli, startTimeOf, tempDir, waitUntil } from "../../_util/helpers.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) console.log("resource_faults_test: needs root (mount); skipped");

function sh(...cmd: string[]): boolean {
  return new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" })
    .outputSync().success;
}

function mounted(path: string, ...args: string[]): Disposable {
  Deno.mkdirSync(path, { recursive: true });
  assert.ok(sh("mount", ...args, path), `mount ${args.join(" ")} ${path}`);
  return { [Symbol.dispose]: () => void (sh("umount", path) || sh("umount", "-l", path)) };
}

function fill(dir: string): void {
  using f = Deno.openSync(`${dir}/.filler`, { write: true, create: true });
  try {
    for (;;) f.writeSync(new Uint8Array(4096));
  } catch { /* full */ }
}

Deno.test({
  name: "update on a full disk fails with a PidFileError and keeps the old record",
  ignore: !isRoot,
  async fn() {
    await using dir = tempDir();
    using _m = mounted(dir.join("fs"), "-t", "tmpfs", "-o", "size=64k", "tmpfs");
    const path = dir.join("fs/app.pid");
    const pid = await PidFile.acquire(path, {
      format: "json",
      data: { v: 1 },
      removeOnExit: false,
    });
    fill(dir.join("fs"));
    await assert.rejects(
      () => pid.update({ data: { v: 2, pad: "x".repeat(9000) } }),
      (err) => err instanceof PidFileError && /No space/i.test(err.message),
    );
    const found = await probe(path);
    assert.equal(found.status, "running");
    assert.equal(found.status === "running" && found.record?.v, 1);
    assert.equal(pid.record.v, 1);
    await pid.release();
  },
});

Deno.test({
  name: "a read-only file system is reported as such, not as 'permission denied'",
  ignore: !isRoot,
  async fn() {
    await using dir = tempDir();
    Deno.mkdirSync(dir.join("src"));
    using _b = mounted(dir.join("ro"), "--bind", dir.join("src"));
    assert.ok(sh("mount", "-o", "remount,bind,ro", dir.join("ro")));
    await assert.rejects(
      () => PidFile.acquire(dir.join("ro/app.pid"), { removeOnExit: false }),
      (err) => err instanceof PidFileError && /read-only file system/.test(err.message),
    );
  },
});

Deno.test({
  name: "a supervisor whose run dir fills up keeps restarting its service",
  ignore: !isRoot,
  async fn() {
    await using dir = tempDir();
    await using reaper = new Reaper();
    const run = dir.join("run");
    using _m = mounted(run, "-t", "tmpfs", "-o", "size=128k,mode=0755", "tmpfs");
    const name = `full-${Deno.pid}`;
    const start = await runCli([
      "start",
      name,
      "--dir",
      run,
      "--log",
      dir.join("svc.log"),
      "--restart",
      "always",
      "--max-restarts",
      "1000",
      "--restart-delay",
      "50ms",
      "--ready-after",
      "50ms",
      "--",
      "sleep",
      "0.2",
    ]);
    assert.equal(start.code, 0, start.stderr);
    const sup = readServiceRecordSync(`${run}/${name}.json`)!.supervisor;
    reaper.pid(sup.pid);
    fill(run);
    // The next restart's record write fails (however long that takes on a
    // loaded machine); the service is started again after it all the same.
    const log = () => Deno.readTextFileSync(dir.join("svc.log"));
    const fault = /cannot write .*keeps running/;
    await waitUntil(() => fault.test(log()), {
      what: "the full disk in the log",
      timeoutMs: 30_000,
    });
    await waitUntil(() => / started .* \(pid /.test(log().slice(log().search(fault))), {
      what: "a start after the full disk",
      timeoutMs: 30_000,
    });
    assert.equal(startTimeOf(sup.pid), sup.startTime, "the supervisor is still there");
    Deno.removeSync(`${run}/.filler`);
    const stop = await runCli(["stop", name, "--dir", run]);
    assert.equal(stop.code, 0, stop.stderr);
  },
});
