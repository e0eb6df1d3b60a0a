// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are written and read with single synchronous calls on purpose (a step must not yield between writing a file and setting its time)
/**
 * The verification ladder for PID files nobody locks (verifyPidFile): a
 * live PID that started no later than the file's last write runs
 * (unlocked); a dead PID, a zombie, a file from before this boot, a
 * recorded start time that differs, or a PID that started after the last
 * write (reuse) is stale; identity options narrow it further.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PidFile, verifyPidFile } from "../../mod.ts";
import { Reaper, tempDir } from "../_util/helpers.ts";
import { backdate, writeOldFile } from "../_util/legacy_helpers.ts";
import { UsageError } from "../../src/os/errors.ts";

const SLEEP = Deno.realPathSync("/bin/sleep");

Deno.test("verifyPidFile: a live PID that started before the file's last write runs, unlocked", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const daemon = reaper.spawn(["sleep", "1000"]);
  await new Promise((r) => setTimeout(r, 30)); // the daemon starts, then writes its file
  const path = tmp.join("d.pid");
  Deno.writeTextFileSync(path, `${daemon.pid}\n`);
  const v = await verifyPidFile(path);
  assert.equal(v.status, "running");
  assert.ok(v.status === "running" && !v.locked);
  assert.deepEqual(v.status === "running" && v.verifiedBy, ["start-time"]);
  assert.equal(v.status === "running" && v.pid, daemon.pid);

  // Touched or rewritten later (a daemon that rewrites its file): still running.
  Deno.utimeSync(path, new Date(), new Date());
  assert.equal((await verifyPidFile(path)).status, "running");

  // With matching identity options.
  const id = await verifyPidFile(path, { exec: SLEEP, name: "sleep", user: Deno.uid()! });
  assert.deepEqual(id.status === "running" && id.verifiedBy, [
    "start-time",
    "exec",
    "name",
    "user",
  ]);
});

Deno.test("verifyPidFile: a PID that started after the file was last written is stale (reuse)", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const newcomer = reaper.spawn(["sleep", "1000"]);
  const path = tmp.join("reused.pid");
  writeOldFile(path, `${newcomer.pid}\n`, 5);
  const v = await verifyPidFile(path);
  assert.equal(v.status, "stale");
  assert.match(
    v.status === "stale" ? v.reason : "",
    /started 5\.\d s after the file was last written/,
  );
  // Without the backdating the same file would say running: the test can fail.
  Deno.utimeSync(path, new Date(), new Date());
  assert.equal((await verifyPidFile(path)).status, "running");
});

Deno.test("verifyPidFile: dead PID, zombie, no PID, earlier boot, recorded start time", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  const path = tmp.join("x.pid");
  Deno.writeTextFileSync(path, `${dead.pid}\n`);
  assert.match(reason(await verifyPidFile(path)), /is not running/);

  // A zombie: a child of a shell that does not reap it (exec'd into sleep).
  const zparent = reaper.spawn(["sh", "-c", "sleep 0.05 & exec sleep 1000"]);
  const zombie = await findChild(zparent.pid);
  await waitState(zombie, "Z");
  Deno.writeTextFileSync(path, `${zombie}\n`);
  assert.match(reason(await verifyPidFile(path)), /is a zombie/);

  const live = reaper.spawn(["sleep", "1000"]);
  await new Promise((r) => setTimeout(r, 20));
  Deno.writeTextFileSync(path, `${live.pid}\n`);
  backdate(path, 10 * 365 * 24 * 3600); // long before this boot
  assert.match(reason(await verifyPidFile(path)), /before this boot/);

  const startTime = Number(
    Deno.readTextFileSync(`/proc/${live.pid}/stat`).split(") ")[1].split(" ")[19],
  );
  Deno.writeTextFileSync(path, JSON.stringify({ pid: live.pid, startTime: startTime - 1 }));
  assert.match(reason(await verifyPidFile(path)), /the PID was reused/);
  Deno.writeTextFileSync(path, JSON.stringify({ pid: live.pid, startTime }));
  const ok = await verifyPidFile(path);
  assert.deepEqual(ok.status === "running" && ok.verifiedBy, ["recorded-start-time"]);
  Deno.writeTextFileSync(path, JSON.stringify({ pid: live.pid, bootId: "not-this-boot" }));
  assert.match(reason(await verifyPidFile(path)), /earlier boot/);

  Deno.writeTextFileSync(path, "hello\n");
  assert.equal((await verifyPidFile(path)).status, "stale");
});

Deno.test("verifyPidFile: a file whose first line is the PID (postmaster.pid) is read by that line", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const pg = reaper.spawn(["sleep", "1000"]);
  await new Promise((r) => setTimeout(r, 20));
  const path = tmp.join("postmaster.pid");
  const text =
    `${pg.pid}\n/var/lib/postgresql/15/main\n1700000000\n5432\n/var/run/postgresql\n*\n  5432001  0\nready   \n`;
  Deno.writeTextFileSync(path, text);
  const v = await verifyPidFile(path);
  assert.equal(v.status, "running");
  assert.equal(v.status === "running" && v.extraLines?.at(-1), "ready   ");
  assert.equal(Deno.readTextFileSync(path), text, "never rewritten");
});

Deno.test("verifyPidFile: identity options that do not match say mismatch; bad options throw", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const d = reaper.spawn(["sleep", "1000"]);
  await new Promise((r) => setTimeout(r, 20));
  const path = tmp.join("d.pid");
  Deno.writeTextFileSync(path, `${d.pid}\n`);
  const sh = Deno.realPathSync("/bin/sh");
  assert.match(reason(await verifyPidFile(path, { exec: sh })), new RegExp(`runs ${SLEEP}, not`));
  assert.match(reason(await verifyPidFile(path, { name: "nginx" })), /is sleep, not nginx/);
  assert.match(reason(await verifyPidFile(path, { user: 12345 })), /uid 12345/);
  await assert.rejects(() => verifyPidFile(path, { exec: tmp.join("missing") }), UsageError);
  await assert.rejects(() => verifyPidFile(path, { user: "no-such-user-x" }), UsageError);

  // Locked files: the lock decides, identity still applies to the holder.
  const held = await PidFile.acquire(tmp.join("held.pid"), { removeOnExit: false });
  try {
    const v = await verifyPidFile(held.path);
    assert.deepEqual(v.status === "running" && [v.locked, v.verifiedBy], [true, ["lock"]]);
    assert.equal((await verifyPidFile(held.path, { name: "nginx" })).status, "mismatch");
  } finally {
    await held.release();
  }
});

Deno.test("verifyPidFile --exec: a daemon running a binary deleted since (an upgrade) still matches", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const copy = tmp.join("mydaemon");
  Deno.copyFileSync(SLEEP, copy);
  Deno.chmodSync(copy, 0o755);
  const d = reaper.spawn([copy, "1000"]);
  await new Promise((r) => setTimeout(r, 50));
  const path = tmp.join("d.pid");
  Deno.writeTextFileSync(path, `${d.pid}\n`);
  Deno.removeSync(copy);
  Deno.copyFileSync(SLEEP, copy); // the new version, another inode
  const v = await verifyPidFile(path, { exec: copy });
  assert.deepEqual(v.status === "running" && v.verifiedBy, ["start-time", "exec"]);
});

function reason(v: Awaited<ReturnType<typeof verifyPidFile>>): string {
  return v.status === "stale" || v.status === "mismatch" ? v.reason : `(${v.status})`;
}

async function findChild(parent: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const kids = Deno.readTextFileSync(`/proc/${parent}/task/${parent}/children`).trim();
      if (kids) return Number(kids.split(" ")[0]);
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no child of ${parent}`);
}

async function waitState(pid: number, state: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    if (s[s.lastIndexOf(")") + 2] === state) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} never reached state ${state}`);
}
