/**
 * Regression found by the torture suite (supervisor-crash): a supervisor
 * SIGKILLed between spawning its tree and recording it in the state file
 * left a tree that `status` called stale and `stop` never stopped. The
 * supervisor now records the tree's marker (`spawning`) before the spawn,
 * and status/stop find the tree by it.
 */
import assert from "node:assert/strict";
import { fakeState } from "../_util/service_fixture.ts";
import { alive, Reaper, runCli, tempDir } from "../_util/helpers.ts";

Deno.test("a tree spawned but not recorded when the supervisor died: status orphaned, stop ends it", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const name = `orph-${Deno.pid}`;
  const marker = `${name}:0123456789ab`;
  const leader = reaper.spawn(["sh", "-c", "sleep 60 & wait"], {
    env: { PIDKIT_SERVICE: marker },
  });
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  const state = fakeState(dir.path, name, {
    phase: "starting",
    supervisor: { pid: dead.pid, startTime: 1 },
    spawning: marker,
  });
  await Deno.writeTextFile(dir.join(`${name}.json`), JSON.stringify(state));
  await Deno.writeTextFile(dir.join(`${name}.pid`), `${leader.pid}\n`);
  const env = { PIDKIT_DIR: dir.path, NO_COLOR: "1" };
  const status = await runCli(["status", name, "--json"], { env });
  assert.equal(JSON.parse(status.stdout).state, "orphaned");
  assert.equal(JSON.parse(status.stdout).pid, leader.pid);
  const stop = await runCli(["stop", name], { env });
  assert.equal(stop.code, 0, stop.stderr);
  await leader.status;
  assert.ok(!alive(leader.pid));
});
