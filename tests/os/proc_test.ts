import assert from "node:assert/strict";
import {
  deviceKey,
  findLockHolders,
  isProcessAlive,
  listPids,
  parseLockLine,
  parseProcStat,
  readBootId,
  readCmdline,
  readEnviron,
  readPidNamespace,
  readProcStat,
} from "../../src/os/proc.ts";
import { Reaper, tempDir, waitUntil } from "../_util/helpers.ts";

Deno.test("parseProcStat counts fields after the last ')' (names with spaces and parens)", () => {
  const line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 2 0 12345 1000 250 " +
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  const st = parseProcStat(line)!;
  assert.equal(st.pid, 42);
  assert.equal(st.comm, "a) b (c)");
  assert.equal(st.state, "S");
  assert.equal(st.ppid, 1);
  assert.equal(st.pgid, 42);
  assert.equal(st.sid, 42);
  assert.equal(st.utime, 7);
  assert.equal(st.stime, 3);
  assert.equal(st.threads, 2);
  assert.equal(st.startTime, 12345);
  assert.equal(st.rssPages, 250);
});

Deno.test("readProcStat, readCmdline, readEnviron describe a real process", async () => {
  await using reaper = new Reaper();
  const child = reaper.spawn(["sleep", "30"], { env: { PIDKIT_PROC_TEST: "yes" } });
  const st = readProcStat(child.pid)!;
  assert.equal(st.pid, child.pid);
  assert.equal(st.ppid, Deno.pid);
  assert.equal(st.pgid, child.pid); // detached: its own group and session
  assert.equal(st.sid, child.pid);
  // Deno.Command passes the program's resolved path as argv[0].
  const argv = readCmdline(child.pid)!;
  assert.match(argv[0], /(^|\/)sleep$/);
  assert.deepEqual(argv.slice(1), ["30"]);
  assert.ok(readEnviron(child.pid)!.includes("PIDKIT_PROC_TEST=yes"));
  assert.ok(isProcessAlive(child.pid, st.startTime));
  assert.equal(isProcessAlive(child.pid, st.startTime + 1), false, "other start time = PID reuse");
  assert.ok(listPids().includes(child.pid));
});

Deno.test("a zombie is dead; a vanished PID reads as undefined", async () => {
  await using reaper = new Reaper();
  // sh forks `true` and then sleeps without reaping it: a zombie child.
  const child = reaper.spawn(["sh", "-c", "true & exec sleep 30"], { stdout: "null" });
  let zombie = 0;
  await waitUntil(() => {
    const kids = Deno.readTextFileSync(`/proc/${child.pid}/task/${child.pid}/children`).trim();
    zombie = Number(kids.split(" ")[0] || 0);
    return zombie > 0 && readProcStat(zombie)?.state === "Z";
  }, { what: "a zombie child" });
  assert.equal(isProcessAlive(zombie), false);
  reaper.pid(zombie);
  assert.equal(readProcStat(2 ** 22 + 7), undefined);
  assert.equal(readCmdline(2 ** 22 + 7), undefined);
});

Deno.test("findLockHolders finds this process's flock on a file", async () => {
  await using dir = tempDir();
  const path = dir.join("x.lock");
  using f = await Deno.open(path, { read: true, write: true, create: true });
  await f.lock(true);
  const st = await f.stat();
  assert.deepEqual(findLockHolders(st.dev, st.ino!), [Deno.pid]);
  assert.deepEqual(findLockHolders(st.dev, st.ino!, "READ"), []);
  await f.unlock();
  assert.deepEqual(findLockHolders(st.dev, st.ino!), []);
});

Deno.test("parseLockLine and deviceKey", () => {
  const entries = [
    "1: FLOCK  ADVISORY  WRITE 678 fe:00:2146655 0 EOF",
    "1: -> FLOCK  ADVISORY  READ 679 fe:00:2146655 0 EOF",
  ].map((line) => parseLockLine(line)!);
  assert.deepEqual(entries.map((e) => [e.pid, e.mode, e.waiting, e.device, e.inode]), [
    [678, "WRITE", false, "fe:00", 2146655],
    [679, "READ", true, "fe:00", 2146655],
  ]);
  assert.equal(parseLockLine(""), undefined);
  assert.equal(parseLockLine("garbage line"), undefined);
  assert.equal(deviceKey(65024), "fe:00");
  assert.equal(deviceKey(27), "00:1b");
});

Deno.test("boot id and PID namespace", () => {
  assert.match(readBootId() ?? "", /^[0-9a-f-]{36}$/);
  assert.ok((readPidNamespace() ?? 0) > 0);
});

Deno.test("findLockHolders skips waiters", async () => {
  await using dir = tempDir();
  const path = dir.join("y.lock");
  using f = await Deno.open(path, { read: true, write: true, create: true });
  using g = await Deno.open(path, { read: true });
  await f.lock(true);
  const st = await f.stat();
  assert.deepEqual(findLockHolders(st.dev, st.ino!), [Deno.pid]);
  assert.deepEqual(findLockHolders(st.dev, st.ino!, "WRITE"), [Deno.pid]);
  assert.deepEqual(findLockHolders(st.dev, st.ino!, "READ"), []);
  const waiting = g.lock(false); // a blocked waiter shows as a "->" line
  await waitUntil(() => Deno.readTextFileSync("/proc/locks").includes(`-> FLOCK`));
  assert.deepEqual(findLockHolders(st.dev, st.ino!), [Deno.pid]);
  await f.unlock();
  await waiting;
  assert.deepEqual(findLockHolders(st.dev, st.ino!, "READ"), [Deno.pid]);
  await g.unlock();
  assert.deepEqual(findLockHolders(st.dev, st.ino!), []);
});
