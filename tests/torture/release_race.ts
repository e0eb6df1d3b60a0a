/**
 * Release races: holders release (unlink, then unlock) while waiters hold
 * descriptors of the old file and lock it the moment it is unlocked. Each
 * holder creates a marker file with O_EXCL while it holds the PID file: a
 * marker that already exists means two processes believed they held it.
 *
 * @module
 */

import { spawnFixture } from "../_util/fixture_io.ts";
import { Reaper, tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";

export const releaseRace: Scenario = {
  name: "release-race",
  shows: "8 processes acquire (waiting), hold ~1 ms and release in a loop, waiters sitting on " +
    "the unlinked file: never two holders at once (O_EXCL marker check).",
  async run(options) {
    const perRacer = rounds(options, 400, 40);
    const tally = new Tally();
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    const path = dir.join("stress.pid");
    const args = ["stress", path, dir.path, String(perRacer)];
    const racers = Array.from({ length: 8 }, () => spawnFixture(reaper, "pid_racer.ts", args));
    await Promise.all(racers.map(async (r) => {
      let line;
      try {
        line = await r.lines.next(300_000);
      } catch (err) {
        tally.violation(`racer ${r.child.pid}: ${err}`);
        return;
      }
      const [word, done, violations] = line.split(" ");
      if (word !== "done") tally.violation(`racer ${r.child.pid} said ${line}`);
      tally.rounds += Number(done);
      tally.faults += Number(done); // each release is raced by 7 waiters
      for (let i = 0; i < Number(violations); i++) {
        tally.violation(`racer ${r.child.pid}: two holders at once`);
      }
      if ((await r.child.status).code !== 0) tally.violation(`racer ${r.child.pid} failed`);
    }));
    return tally.result();
  },
};
