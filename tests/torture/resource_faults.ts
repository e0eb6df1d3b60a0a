// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * Resource faults (root only): a 64 KiB tmpfs filled up during a PID file
 * write, a PID file update and a state file update; a read-only bind mount;
 * a log on a full disk while the service keeps running; a run dir on a
 * full disk while the supervisor restarts its service. Files are either
 * intact or complete, never half; errors are one-line PidFileErrors or CLI
 * messages; services keep running. Everything is unmounted afterwards, even
 * on failure.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { PidFile, PidFileError, probe } from "../../mod.ts";
import {
  readServiceRecordSync,
  writeServiceRecord,
} from "../../src/service/model/service_record.ts";
import { fakeState } from "../_util/service_fixture.ts";
import { rounds, type Scenario, skipped, Tally } from "./harness.ts";
import { markedProcesses, pidkit, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { isRoot, sleep } from "./util.ts";

function sh(cmd: string[]): boolean {
  return new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" })
    .outputSync().success;
}

/** A tiny tmpfs mounted at `path`; unmounted (lazily if busy) on dispose. */
function tinyTmpfs(path: string, size = "64k"): Disposable | undefined {
  Deno.mkdirSync(path, { recursive: true });
  if (!sh(["mount", "-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", path])) {
    return undefined;
  }
  return { [Symbol.dispose]: () => void (sh(["umount", path]) || sh(["umount", "-l", path])) };
}

/** Fill the file system of `dir` until it is full; returns the filler's path. */
function fill(dir: string): string {
  const filler = `${dir}/.filler`;
  using f = Deno.openSync(filler, { write: true, create: true, append: true });
  const chunk = new Uint8Array(1024);
  try {
    for (let i = 0; i < 100_000; i++) f.writeSync(chunk);
  } catch { /* ENOSPC: full */ }
  return filler;
}

export const resourceFaults: Scenario = {
  name: "resource-faults",
  shows: "full disk (64 KiB tmpfs) during PID write, PID update and state update, a read-only " +
    "mount, a full log disk and a full run dir under a running service: files intact or " +
    "complete, never half; clear one-line errors; services keep running.",
  async run(options) {
    if (!isRoot()) return skipped("needs root (mount)");
    const tally = new Tally();
    const n = rounds(options, 20, 3);
    await using dir = tempDir("pidkit-torture-");
    {
      using mnt = tinyTmpfs(dir.join("tmpfs"));
      if (!mnt) return skipped("mount -t tmpfs failed");
      for (let i = 0; i < n; i++) await libraryFaults(tally, dir.join("tmpfs"), i);
    }
    await readOnly(tally, dir.path);
    await logDiskFull(tally, dir.path);
    await runDirFull(tally, dir.path);
    return tally.result();
  },
};

async function libraryFaults(tally: Tally, mnt: string, i: number): Promise<void> {
  // 1. A new PID file on a full disk.
  tally.rounds++;
  tally.faults++;
  const a = `${mnt}/a-${i}.pid`;
  let filler = fill(mnt);
  try {
    const pid = await PidFile.acquire(a, {
      format: "json",
      removeOnExit: false,
      data: { pad: "x".repeat(5000) },
    });
    await pid.release();
  } catch (err) {
    if (!(err instanceof PidFileError)) tally.violation(`acquire on a full disk threw ${err}`);
    else if (!/no space/i.test(err.message)) {
      tally.violation(`unclear error on a full disk: ${err.message}`);
    }
  }
  const found = await probe(a);
  if (found.status === "running") tally.violation("a failed acquire left the file locked");
  if (found.status === "stale" && found.error) {
    tally.violation(`half-written PID file: ${found.error.message}`);
  }
  Deno.removeSync(filler);

  // 2. An update that no longer fits: the old record stays, or the new one is complete.
  tally.rounds++;
  tally.faults++;
  const b = `${mnt}/b-${i}.pid`;
  const pid = await PidFile.acquire(b, { format: "json", removeOnExit: false, data: { v: 1 } });
  filler = fill(mnt);
  try {
    await pid.update({ data: { v: 2, pad: "y".repeat(6000 + i * 100) } });
  } catch (err) {
    if (!(err instanceof PidFileError)) tally.violation(`update on a full disk threw ${err}`);
  }
  const after = await probe(b);
  const rec = after.status === "running" ? after.record : undefined;
  if (!rec || (rec.v !== 1 && rec.v !== 2)) {
    tally.violation(
      `update on a full disk left ${after.status} ${JSON.stringify(rec ?? null).slice(0, 60)}`,
    );
  } else if (rec.v !== (pid.record.v as number)) {
    tally.violation(`the file says v${rec.v} but the holder believes v${pid.record.v}`);
  }
  await pid.release();
  Deno.removeSync(filler);

  // 3. A state file update on a full disk: the old state intact, no temporary left.
  tally.rounds++;
  tally.faults++;
  const state = `${mnt}/svc-${i}.json`;
  await writeServiceRecord(state, fakeState(mnt, `svc-${i}`, { restarts: 1 }));
  filler = fill(mnt);
  try {
    await writeServiceRecord(
      state,
      fakeState(mnt, `svc-${i}`, { restarts: 2, env: { PAD: "z".repeat(8000) } }),
    );
  } catch { /* expected: ENOSPC */ }
  try {
    const s = readServiceRecordSync(state);
    if (s?.restarts !== 1 && s?.restarts !== 2) {
      tally.violation(`state after ENOSPC: ${s?.restarts}`);
    }
  } catch (err) {
    tally.violation(`state file damaged by ENOSPC: ${err}`);
  }
  const temps = [...Deno.readDirSync(mnt)].filter((e) => e.name.endsWith(".tmp"));
  if (temps.length) tally.violation(`temporary state files left on the full disk: ${temps.length}`);
  Deno.removeSync(filler);
  for (const e of Deno.readDirSync(mnt)) Deno.removeSync(`${mnt}/${e.name}`);
}

async function readOnly(tally: Tally, base: string): Promise<void> {
  const src = `${base}/ro-src`;
  const ro = `${base}/ro`;
  Deno.mkdirSync(src);
  Deno.mkdirSync(ro);
  Deno.writeTextFileSync(`${src}/stale.pid`, "4000000\n");
  if (!sh(["mount", "--bind", src, ro])) {
    tally.note("read-only case skipped: bind mount failed");
    return;
  }
  try {
    if (!sh(["mount", "-o", "remount,bind,ro", ro])) {
      tally.note("read-only case skipped: remount ro failed");
      return;
    }
    for (const path of [`${ro}/new.pid`, `${ro}/stale.pid`]) {
      tally.rounds++;
      tally.faults++;
      try {
        const pid = await PidFile.acquire(path, { removeOnExit: false });
        await pid.release();
        tally.violation(`acquire on a read-only file system succeeded: ${path}`);
      } catch (err) {
        if (!(err instanceof PidFileError)) tally.violation(`acquire on EROFS threw ${err}`);
        else if (!/read-only/.test(err.message)) {
          tally.violation(`unclear EROFS error: ${err.message}`);
        }
      }
    }
    tally.rounds++;
    const found = await probe(`${ro}/stale.pid`);
    if (found.status !== "stale") tally.violation(`probe on a read-only mount: ${found.status}`);
    tally.rounds++;
    tally.faults++;
    const start = await pidkit(["start", "x", "--dir", ro, "--", "sleep", "600"]);
    if (start.code !== 1 || !/read-only/.test(start.stderr) || /\n\s+at /.test(start.stderr)) {
      tally.violation(
        `pidkit start in a read-only run dir: exit ${start.code}: ${start.stderr.trim()}`,
      );
    }
  } finally {
    sh(["umount", ro]) || sh(["umount", "-l", ro]);
  }
}

const CHATTY = "i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; " +
  "i=$((i+1)); done; echo done > marker; sleep 600";

async function logDiskFull(tally: Tally, base: string): Promise<void> {
  const logs = `${base}/logs`;
  using mnt = tinyTmpfs(logs);
  if (!mnt) return tally.note("full-log case skipped: mount failed");
  const run = `${base}/logrun`;
  Deno.mkdirSync(run);
  const prefix = uniquePrefix("lf");
  await using reaper = new ServiceReaper(run, prefix, tally);
  tally.rounds++;
  tally.faults++;
  const name = `${prefix}-log`;
  const start = await pidkit([
    "start",
    name,
    "--dir",
    run,
    "--log",
    `${logs}/svc.log`,
    "--cwd",
    run,
    "--",
    "sh",
    "-c",
    CHATTY,
  ]);
  reaper.record();
  if (start.code !== 0) {
    return tally.violation(`start with a log on a tiny disk: ${start.stderr.trim()}`);
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      Deno.statSync(`${run}/marker`);
      break;
    } catch {
      await sleep(50);
    }
  }
  await sleep(300);
  const status = await pidkit(["status", name, "--dir", run, "--json"]);
  let state = "?";
  try {
    state = JSON.parse(status.stdout).state;
  } catch { /* below */ }
  if (state !== "running") tally.violation(`service with a full log disk: status ${state}`);
  if (markedProcesses(name).length === 0) {
    tally.violation("the service died when its log disk filled");
  }
  const stop = await pidkit(["stop", name, "--dir", run]);
  if (stop.code !== 0) tally.violation(`stop with a full log disk: ${stop.stderr.trim()}`);
}

async function runDirFull(tally: Tally, base: string): Promise<void> {
  const run = `${base}/fullrun`;
  using mnt = tinyTmpfs(run, "128k");
  if (!mnt) return tally.note("full-run-dir case skipped: mount failed");
  const prefix = uniquePrefix("rf");
  await using reaper = new ServiceReaper(run, prefix, tally);
  tally.rounds++;
  tally.faults++;
  const name = `${prefix}-run`;
  // A service that exits every 300 ms and is restarted: each restart writes the state.
  const start = await pidkit([
    "start",
    name,
    "--dir",
    run,
    "--log",
    "/dev/null",
    "--restart",
    "always",
    "--max-restarts",
    "1000",
    "--restart-delay",
    "50ms",
    "--ready-after",
    "50ms",
    "--",
    "sh",
    "-c",
    "sleep 0.3",
  ]);
  reaper.record();
  if (start.code !== 0) return tally.violation(`start in a small run dir: ${start.stderr.trim()}`);
  const filler = fill(run);
  await sleep(1500);
  reaper.record();
  const sup = readServiceRecordSync(`${run}/${name}.json`)?.supervisor;
  const supAlive = sup !== undefined && startTimeOf(sup.pid) === sup.startTime;
  if (!supAlive) tally.violation("the supervisor gave up when its run dir filled up");
  try {
    readServiceRecordSync(`${run}/${name}.json`);
  } catch (err) {
    tally.violation(`state file damaged on a full run dir: ${err}`);
  }
  Deno.removeSync(filler);
  const stop = await pidkit(["stop", name, "--dir", run]);
  if (stop.code !== 0) tally.violation(`stop after the run dir filled: ${stop.stderr.trim()}`);
  if (markedProcesses(name).length) tally.violation("processes left after stop (full run dir)");
}
