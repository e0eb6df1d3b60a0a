/**
 * Regression found by the torture suite (cli-status-fuzz): a state file
 * whose tree PID was a string made `status`, `stop` and `list` crash with
 * an uncaught read of `/proc/../../etc/passwd/stat`. Fields that become
 * /proc paths or signal targets are now checked when the state is read.
 */
import assert from "node:assert/strict";
import { fakeState } from "../../_util/service_fixture.ts";
import { runCli, tempDir } from "../../_util/helpers.ts";

Deno.test("status, stop and list on a state file with a non-numeric tree pid: one line, no crash", async () => {
  await using dir = tempDir();
  const name = "bad-tree";
  const state = fakeState(dir.path, name) as unknown as Record<string, unknown>;
  state.tree = {
    pid: "../../etc/passwd",
    startTime: 1,
    pgid: 1,
    sid: 1,
    marker: "x:1",
    tracking: "group",
  };
  await Deno.writeTextFile(dir.join(`${name}.json`), JSON.stringify(state));
  const env = { PIDKIT_DIR: dir.path, NO_COLOR: "1" };
  for (const args of [["status", name], ["stop", name], ["list"]]) {
    const out = await runCli(args, { env });
    assert.doesNotMatch(out.stderr, /Uncaught|\n\s+at /, `${args[0]}: ${out.stderr}`);
    assert.ok([0, 1, 3, 4].includes(out.code), `${args[0]} exited ${out.code}`);
  }
  const status = await runCli(["status", name], { env });
  assert.equal(status.code, 4);
  assert.match(status.stdout + status.stderr, /bad tree reference/);
});
