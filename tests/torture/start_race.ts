/**
 * Start races: 32 long-lived processes acquire the same PID file at the
 * same moment, round after round. Exactly one must win each round and
 * every loser must name the winner.
 *
 * @module
 */

import { type Fixture, spawnFixture } from "../_util/fixture_io.ts";
import { Reaper, tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";

export const startRace: Scenario = {
  name: "start-race",
  shows: "32 processes acquiring one PID file at once: exactly one winner per round, " +
    "every loser names it (AlreadyRunningError with the winner's PID).",
  async run(options) {
    const n = rounds(options, 500, 40);
    const tally = new Tally();
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    const path = dir.join("race.pid");
    const racers: Fixture[] = [];
    for (let i = 0; i < 32; i++) {
      racers.push(spawnFixture(reaper, "pid_racer.ts", ["race", path], { stdin: true }));
    }
    for (const r of racers) await r.lines.next(120_000);
    for (let round = 0; round < n; round++) {
      tally.rounds++;
      tally.faults += racers.length - 1; // contenders that must lose
      await Promise.all(racers.map((r) => r.send("go")));
      const answers = await Promise.all(racers.map((r) => r.lines.next()));
      const winners = answers.filter((a) => a.startsWith("won "));
      if (winners.length !== 1) {
        tally.violation(`round ${round}: ${winners.length} winners (${answers.join(", ")})`);
      } else {
        const winner = winners[0].slice(4);
        const odd = answers.filter((a) => a !== winners[0] && a !== `lost ${winner}`);
        if (odd.length > 0) tally.violation(`round ${round}: losers said ${odd.join(", ")}`);
      }
      await Promise.all(racers.map((r) => r.send("rel")));
      for (const r of racers) await r.lines.next();
    }
    await Promise.all(racers.map((r) => r.closeStdin()));
    for (const r of racers) {
      const status = await r.child.status;
      if (status.code !== 0) tally.violation(`racer ${r.child.pid} exited ${status.code}`);
    }
    return tally.result();
  },
};
