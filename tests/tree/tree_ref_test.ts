/**
 * Regression found by the torture suite (pid-reuse): a tree reference whose
 * group or session is not its leader's PID -- a corrupt or forged state
 * file -- is refused instead of aiming signals at another process group.
 */
import assert from "node:assert/strict";
import { attachTree, TreeError } from "../../tree.ts";
import { alive, Reaper, tempDir } from "../_util/helpers.ts";

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
        marker: "x:00000001",
        tracking: "group",
      }),
    (err) =>
      err instanceof TreeError && err.reason === "bad-ref" &&
      /must equal the leader pid/.test(err.message),
  );
  assert.ok(alive(unrelated));
});

Deno.test("attachTree refuses a cgroup path outside the cgroup2 hierarchy; what its files list is untouched", async () => {
  await using reaper = new Reaper();
  await using dir = tempDir();
  const victim = reaper.spawn(["sleep", "60"]).pid;
  // A forged state file can name any directory; one made to look like a cgroup lists the victim.
  const fake = dir.join("pidkit/evil-abcdef12");
  await Deno.mkdir(fake, { recursive: true });
  await Deno.writeTextFile(`${fake}/cgroup.procs`, `${victim}\n`);
  await Deno.writeTextFile(`${fake}/cgroup.events`, "populated 1\nfrozen 0\n");
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  for (const path of [fake, `/sys/fs/cgroup/../..${fake}`]) {
    assert.throws(
      () =>
        attachTree({
          pid: dead.pid,
          startTime: 1,
          pgid: dead.pid,
          sid: dead.pid,
          marker: "evil:abcdef12",
          tracking: "cgroup",
          cgroupPath: path,
        }),
      (err) =>
        err instanceof TreeError && err.reason === "bad-ref" &&
        /not inside a cgroup2 hierarchy/.test(err.message),
      path,
    );
  }
  assert.ok(alive(victim));
});
