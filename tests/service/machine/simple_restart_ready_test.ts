// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test writes small gate files between steps; nothing else runs meanwhile
/**
 * A simple service restarted by its restart policy (an instance nobody
 * waits for) waits for all its readiness conditions (`--ready-tcp`,
 * `--ready-file`) as its first start does: `starting` until they hold
 * within `--ready-timeout` counted from its spawn, then `running` with
 * the new PID; not in time, it is stopped as a failure and the restart
 * policy decides. A ready file left by the previous instance does not
 * count.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, FIXTURES, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";

/** A free TCP port on 127.0.0.1 (nobody listens on it once this returns). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The service: run N notes itself, waits for `open.N` (the test's gate),
 * then does `steps` (a listener, a stamp in the ready file) and stays.
 */
function serviceCommand(d: string, steps: string): string[] {
  Deno.writeTextFileSync(
    `${d}/service.sh`,
    `D=${d}
echo run >> $D/runs
run=$(wc -l < $D/runs)
exec ${Deno.execPath()} run -A ${FIXTURES}/notify_sender.ts await:$D/open.$run ${steps} stay
`,
  );
  return ["sh", `${d}/service.sh`];
}

async function status(s: Services, name: string): Promise<Record<string, unknown>> {
  return JSON.parse((await s.cli(["status", name, "--json"])).stdout);
}

/** The PID of the instance after `old`, once the supervisor has spawned it. */
async function restartedPid(s: Services, name: string, old: number): Promise<number> {
  let pid = 0;
  await waitUntil(async () => {
    pid = (await s.state(name)).tree?.pid ?? 0;
    return pid !== 0 && pid !== old;
  }, { timeoutMs: 30_000, what: "the restarted instance" });
  s.pid(pid);
  return pid;
}

async function awaitRunning(s: Services, name: string, what: string): Promise<void> {
  await waitUntil(async () => (await status(s, name)).state === "running", {
    timeoutMs: 30_000,
    what,
  });
}

async function stopAndCheck(s: Services, name: string, pids: number[]): Promise<void> {
  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} left`);
  assert.deepEqual(markedProcesses(name), []);
}

Deno.test("--ready-tcp restarted by its policy: starting until the port opens, then running with the new PID", async () => {
  await using s = new Services();
  const d = s.dir.path;
  const name = uniqueName("srtcp");
  const port = freePort();
  Deno.writeTextFileSync(`${d}/open.1`, "");
  const first = (await s.start(name, [
    "--ready-tcp",
    `127.0.0.1:${port}`,
    "--restart",
    "always",
    "--restart-delay",
    "50ms",
  ], serviceCommand(d, `listen:${port}`))).tree!.pid;
  s.pid(first);
  assert.equal((await status(s, name)).state, "running");

  Deno.kill(first, "SIGKILL");
  const second = await restartedPid(s, name, first);
  // The new instance waits for its gate: its port is closed, it is not ready.
  const during = await status(s, name);
  assert.equal(during.state, "starting", JSON.stringify(during));
  assert.equal((await s.state(name)).phase, "starting");

  Deno.writeTextFileSync(`${d}/open.2`, "");
  await awaitRunning(s, name, "the restarted instance to be running");
  const st = await status(s, name);
  assert.equal(st.pid, second, "running with the new PID");
  assert.equal(st.restarts, 1);
  await stopAndCheck(s, name, [first, second]);
});

Deno.test("--ready-tcp restarted by its policy: a port not open within --ready-timeout is a failure, restarted again", async () => {
  await using s = new Services();
  const d = s.dir.path;
  const name = uniqueName("srtto");
  const port = freePort();
  // Run 3 goes on at once; run 2 never gets its gate: its port never opens.
  Deno.writeTextFileSync(`${d}/open.1`, "");
  Deno.writeTextFileSync(`${d}/open.3`, "");
  const first = (await s.start(name, [
    "--ready-tcp",
    `127.0.0.1:${port}`,
    "--ready-timeout",
    "6s", // the first start (a shell, then a `deno run`) must be ready within it under load
    "--restart",
    "on-failure", // only a failure restarts: the run that was not ready in time must be one
    "--restart-delay",
    "50ms",
  ], serviceCommand(d, `listen:${port}`))).tree!.pid;
  s.pid(first);

  Deno.kill(first, "SIGKILL");
  const second = await restartedPid(s, name, first);
  const during = await status(s, name);
  assert.equal(during.state, "starting", JSON.stringify(during));

  const third = await restartedPid(s, name, second);
  assert.ok(!alive(second), "the instance not ready in time was stopped");
  await awaitRunning(s, name, "the third instance to be running");
  const st = await status(s, name);
  assert.equal(st.pid, third);
  assert.equal(st.restarts, 2);
  const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
  assert.match(log, /not ready within 6\.0 s: .*accepted no connection/);
  await stopAndCheck(s, name, [first, second, third]);
});

Deno.test("--ready-file restarted by its policy: the previous instance's file does not count", async () => {
  await using s = new Services();
  const d = s.dir.path;
  const name = uniqueName("srfile");
  const ready = `${d}/ready`;
  Deno.writeTextFileSync(`${d}/open.1`, "");
  const first = (await s.start(name, [
    "--ready-file",
    ready,
    "--restart",
    "always",
    "--restart-delay",
    "50ms",
  ], serviceCommand(d, `stamp:${ready}`))).tree!.pid;
  s.pid(first);
  const old = Deno.statSync(ready);

  Deno.kill(first, "SIGKILL");
  const second = await restartedPid(s, name, first);
  // The file run 1 wrote is still there; run 2 has not written its own.
  const during = await status(s, name);
  assert.equal(during.state, "starting", JSON.stringify(during));
  assert.equal(Deno.statSync(ready).mtime?.getTime(), old.mtime?.getTime());

  Deno.writeTextFileSync(`${d}/open.2`, "");
  await awaitRunning(s, name, "the restarted instance to be running");
  const st = await status(s, name);
  assert.equal(st.pid, second, "running with the new PID");
  assert.equal(st.restarts, 1);
  await stopAndCheck(s, name, [first, second]);
});
