/**
 * `pidkit run`'s control socket (`DIR/NAME.run.sock`): `restart` of a
 * service held by `run` restarts it inside the run (the run stays, same
 * PID, in the foreground), `stop --retry` keeps the schedule asked for,
 * and a record of 0.2's `run` (no socket) is stopped the 0.1 way and
 * refused a restart in place.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readServiceRecord } from "../../../src/service/model/service_record.ts";
import { alive, CLI, exists, Reaper, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";

/** A shell that ignores SIGTERM: only the schedule's KILL ends it. */
const STUBBORN = ["sh", "-c", 'trap "" TERM; echo up; while :; do sleep 0.1; done'];

/** `pidkit run NAME --log DIR/NAME.log -- CMD` in the background, once its state says running. */
async function startRun(
  s: Services,
  reaper: Reaper,
  name: string,
  command: string[],
  options: string[] = [],
): Promise<Deno.ChildProcess> {
  const child = reaper.spawn([
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    CLI,
    "run",
    name,
    "--log",
    s.dir.join(`${name}.log`),
    ...options,
    "--",
    ...command,
  ], { env: { PIDKIT_DIR: s.dir.path } });
  await waitUntil(
    async () =>
      (await readServiceRecord(s.dir.join(`${name}.json`)).catch(() => undefined))?.phase ===
        "running",
    { what: `${name} running under pidkit run`, timeoutMs: 20_000 },
  );
  await s.state(name);
  return child;
}

Deno.test("restart of a pidkit run service restarts it inside the run: same run PID, new tree, still in the foreground", async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const name = uniqueName("runrestart");
  const run = await startRun(s, reaper, name, STUBBORN);
  const before = await s.state(name);
  assert.equal(before.supervisor.kind, "service");
  assert.equal(before.supervisor.socket, s.dir.join(`${name}.run.sock`));

  const t0 = Date.now();
  const r = await s.cli(["restart", name, "--retry", "TERM/300ms/KILL/2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - t0 < 8000, `restart took ${Date.now() - t0} ms`);
  assert.match(r.stdout, new RegExp(`^restarted ${name} \\(pid \\d+\\)`));
  const after = await s.state(name);
  assert.equal(after.supervisor.pid, run.pid, "the run still holds it");
  assert.equal(after.phase, "running");
  assert.notEqual(after.tree!.pid, before.tree!.pid);
  assert.ok(!alive(before.tree!.pid), "the old tree was stopped");
  assert.ok(alive(after.tree!.pid));
  assert.ok(alive(run.pid), "pidkit run exited");
  assert.equal(s.supervisorPid(), undefined, "no resident supervisor took the service");
  const status = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
  assert.equal(status.state, "running");
  assert.equal(status.supervisorPid, run.pid);
  assert.equal(status.pid, after.tree!.pid);
  // A second restart works as well (the run took the first one and went on).
  const again = await s.cli(["restart", name, "--retry", "KILL/2"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await s.state(name)).supervisor.pid, run.pid);

  const stop = await s.cli(["stop", name, "--retry", "KILL/2"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await run.status).code, 128 + 9, "the run exits as its service did");
  assert.deepEqual(markedProcesses(name), []);
  assert.ok(!exists(s.dir.join(`${name}.run.sock`)), "the socket is removed");
});

Deno.test("stop --retry of a pidkit run service keeps the schedule asked for (1 s, not the default 10 s)", async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const name = uniqueName("runretry");
  const run = await startRun(s, reaper, name, STUBBORN);
  const t0 = Date.now();
  const stop = await s.cli(["stop", name, "--retry", "TERM/1/KILL/5", "--json"]);
  const took = Date.now() - t0;
  assert.equal(stop.code, 0, stop.stderr);
  const out = JSON.parse(stop.stdout);
  assert.equal(out.status, "stopped");
  assert.equal(out.lastSignal, "SIGKILL");
  assert.deepEqual(out.signalsSent.map((x: { signal: string }) => x.signal), [
    "SIGTERM",
    "SIGKILL",
  ]);
  assert.ok(took < 6000, `stop took ${took} ms; the default TERM/10 was used`);
  assert.equal((await run.status).code, 137);
  const status = await s.cli(["status", name]);
  assert.equal(status.code, 3, status.stdout);
});

Deno.test("a record of 0.2's pidkit run (no socket): stop the 0.1 way, restart refused with one line and nothing stopped", async () => {
  await using reaper = new Reaper();
  await using s = new Services();
  const name = uniqueName("run02");
  const run = await startRun(s, reaper, name, ["sleep", "1000"]);
  const path = s.dir.join(`${name}.json`);
  const record = JSON.parse(await Deno.readTextFile(path));
  delete record.supervisor.socket; // as 0.2 wrote it
  await Deno.writeTextFile(path, JSON.stringify(record));
  const r = await s.cli(["restart", name]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(
    r.stderr,
    /^pidkit restart: .* held by pidkit run \(pid \d+\) without a control socket/,
  );
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.ok(alive(run.pid) && alive(record.tree.pid), "nothing was stopped");
  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await run.status).code, 143);
  assert.ok(!alive(record.tree.pid));
});
