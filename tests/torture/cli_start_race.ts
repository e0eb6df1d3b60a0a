/**
 * `pidkit start` races: 16 concurrent starts of one name. Exactly one must
 * succeed, the others must say "already running", exactly one service tree
 * may exist, and `stop` must leave nothing behind.
 *
 * @module
 */

import { tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markedProcesses, pidkit, ServiceReaper, uniquePrefix } from "./cli_util.ts";

export const cliStartRace: Scenario = {
  name: "cli-start-race",
  shows: "16 concurrent `pidkit start` of one name: one starts, 15 say already running, " +
    "one service tree at any time, nothing left after `stop`.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 50, 2);
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("sr");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    for (let round = 0; round < n; round++) {
      tally.rounds++;
      tally.faults += 15; // contenders that must be refused
      const name = `${prefix}-${round}`;
      const outs = await Promise.all(
        Array.from({ length: 16 }, () =>
          pidkit([
            "start",
            name,
            "--dir",
            dir.path,
            "--ready-after",
            "50ms",
            "--",
            "sleep",
            "600",
          ])),
      );
      reaper.record();
      const ok = outs.filter((o) => o.code === 0);
      const refused = outs.filter((o) =>
        o.code === 1 && /already running/.test(o.stderr + o.stdout)
      );
      if (ok.length !== 1) tally.violation(`round ${round}: ${ok.length} starts succeeded`);
      if (ok.length + refused.length !== 16) {
        const odd = outs.find((o) => o.code !== 0 && !/already running/.test(o.stderr + o.stdout));
        tally.violation(
          `round ${round}: a start failed otherwise: ${odd?.code} ${odd?.stderr.trim()}`,
        );
      }
      const trees = markedProcesses(name);
      if (trees.length !== 1) tally.violation(`round ${round}: ${trees.length} service processes`);
      const stop = await pidkit(["stop", name, "--dir", dir.path]);
      if (stop.code !== 0) {
        tally.violation(`round ${round}: stop exited ${stop.code}: ${stop.stderr.trim()}`);
      }
      const left = markedProcesses(name);
      if (left.length) tally.violation(`round ${round}: ${left.length} processes left after stop`);
    }
    return tally.result();
  },
};
