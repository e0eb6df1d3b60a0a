/**
 * Regression found by the torture suite (pid-reuse): a tree reference whose
 * group or session is not its leader's PID -- a corrupt or forged state
 * file -- is refused instead of aiming signals at another process group.
 */
import assert from "node:assert/strict";
import { attachTree, PidkitError } from "../mod.ts";
import { alive, Reaper } from "./helpers.ts";

Deno.test("attachTree refuses a ref whose pgid/sid is not the leader's pid; the group is untouched", async () => {
  await using reaper = new Reaper();
  const unrelated = reaper.spawn(["sleep", "60"]).pid;
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  assert.throws(
    () =>
      attachTree({
        pid: dead.pid,
        startTime: 1,
        pgid: unrelated,
        sid: unrelated,
        marker: "x:1",
        tracking: "group",
      }),
    (err) => err instanceof PidkitError && /must equal the leader pid/.test(err.message),
  );
  assert.ok(alive(unrelated));
});
