/**
 * What `status` says between and after runs: a restart back-off is
 * `restarting in N s (attempt A of B)` with no PID (never the dead one),
 * also in JSON, and after the supervisor was killed then, no PID either;
 * a stopped service shows no STATUS= text; an exit before ready is
 * `failed` with the reason, like a forking or not-ready start; and the
 * wording of a few lines.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, exists, FIXTURES, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";

const SENDER = ["deno", "run", "-A", `${FIXTURES}/notify_sender.ts`];

async function statusJson(s: Services, name: string) {
  return JSON.parse((await s.cli(["status", name, "--json"])).stdout);
}

Deno.test("restart back-off: status says restarting in N s (attempt A of B), no PID; start gives the supervisor's PID; after a supervisor SIGKILL no PID either", async () => {
  await using s = new Services();
  const name = uniqueName("bo");
  const first = await s.start(name, ["--restart", "always", "--restart-delay", "5s"], [
    "sh",
    "-c",
    "sleep 0.2; exit 1",
  ]);
  await waitUntil(async () => (await s.state(name)).phase === "restarting", {
    what: "the back-off",
  });
  const st = await statusJson(s, name);
  assert.equal(st.state, "restarting");
  assert.equal(st.exitCode, 0, "still held by its supervisor");
  assert.equal(st.pid, null, `the dead previous PID ${first.tree!.pid} is shown`);
  assert.equal(st.restart.attempt, 1);
  assert.equal(st.restart.of, 10);
  assert.ok(st.restart.inMs > 0 && st.restart.inMs <= 5000, JSON.stringify(st.restart));
  assert.equal(await Deno.readTextFile(s.dir.join(`${name}.pid`)), "", "NAME.pid names no PID");
  // Deleted meanwhile, the PID file is made again, and still names no PID.
  await Deno.remove(s.dir.join(`${name}.pid`));
  await waitUntil(() => exists(s.dir.join(`${name}.pid`)), { what: "NAME.pid made again" });
  assert.equal(await Deno.readTextFile(s.dir.join(`${name}.pid`)), "");
  const text = await s.cli(["status", name]);
  assert.equal(text.code, 0);
  assert.match(
    text.stdout,
    new RegExp(`^${name}: restarting in \\d\\.\\d s \\(attempt 1 of 10\\)\n`),
  );
  const again = await s.cli(["start", name, "--", "true"]);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    new RegExp(
      `^pidkit start: ${name} is already running \\(restarting in \\d\\.\\d s, attempt 1 of 10; ` +
        `supervisor pid ${first.supervisor.pid}\\)\n$`,
    ),
  );
  Deno.kill(first.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(first.supervisor.pid), { what: "the supervisor gone" });
  const dead = await statusJson(s, name);
  assert.equal(dead.pid, null);
  assert.notEqual(dead.state, "starting");
  assert.match(dead.error, /was killed while .* waited to restart \(attempt 1 of 10\)/);
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("a stopped service shows no STATUS= text (a running one does)", async () => {
  await using s = new Services();
  const name = uniqueName("said");
  await s.start(name, ["--ready-notify"], [...SENDER, "ready", "status:serving 3 clients", "stay"]);
  await waitUntil(async () => (await statusJson(s, name)).statusText === "serving 3 clients", {
    what: "STATUS=",
  });
  assert.equal((await s.cli(["stop", name])).code, 0);
  const st = await statusJson(s, name);
  assert.equal(st.state, "stopped");
  assert.equal(st.statusText, null);
  assert.equal((await s.state(name)).statusText, undefined, "cleared in the record too");
  assert.doesNotMatch((await s.cli(["status", name])).stdout, /^ +status: /m);
});

Deno.test("one rule: a service that exits before it is ready is failed, with the reason (as a not-ready one is)", async () => {
  await using s = new Services();
  const exits = uniqueName("early");
  const r = await s.cli(["start", exits, "--ready-after", "3s", "--", "sh", "-c", "exit 3"]);
  assert.equal(r.code, 1);
  const st = await statusJson(s, exits);
  assert.equal(st.state, "failed");
  assert.equal(st.exitCode, 3);
  assert.equal(st.error, `${exits} exited during start-up with code 3`);
  assert.match((await s.cli(["status", exits])).stdout, /error: +.* exited during start-up/);

  const late = uniqueName("late");
  const nr = await s.cli([
    "start",
    late,
    "--ready-file",
    s.dir.join("never"),
    "--ready-timeout",
    "300ms",
    "--",
    "sleep",
    "1000",
  ]);
  assert.equal(nr.code, 1);
  const lst = await statusJson(s, late);
  assert.equal(lst.state, "failed");
  assert.match(lst.error, /not ready within 300 ms/);
});

Deno.test("giving up: after 1 restart (not 1 restarts), the reason in status", async () => {
  await using s = new Services();
  const name = uniqueName("giveup");
  await s.start(name, ["--restart", "always", "--max-restarts", "1", "--restart-delay", "50ms"], [
    "sh",
    "-c",
    "sleep 0.2; exit 2",
  ]);
  await waitUntil(async () => (await statusJson(s, name)).state === "failed", {
    what: "giving up",
    timeoutMs: 15_000,
  });
  const log = await Deno.readTextFile(s.dir.join(`${name}.log`));
  assert.match(log, /giving up on .* after 1 restart in a row/);
  const st = await statusJson(s, name);
  assert.equal(st.error, "gave up after 1 restart in a row (last exit: code 2)");
});
