// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * PID reuse through the CLI: PID files and state files of services whose
 * supervisor and tree PIDs now belong to live, unrelated processes
 * (sleepers spawned for the purpose, each its own process group). `status`
 * must say stale or stopped, `stop` (by name and with --pidfile) must
 * signal nothing, and every sleeper must be alive at the end.
 *
 * @module
 */

import { writeOldFile } from "../_util/legacy_helpers.ts";
import { Reaper, startTimeOf, tempDir } from "../_util/helpers.ts";
import { alive } from "../_util/helpers.ts";
import { fakeState } from "../_util/service_fixture.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { pidkit, uniquePrefix } from "./cli_util.ts";

export const cliPidReuse: Scenario = {
  name: "cli-pid-reuse",
  shows: "stale PID and state files naming live unrelated processes: `status` says stale or " +
    "stopped, `stop` and `stop --pidfile` signal nothing (unrelated processes harmed: 0).",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 24, 3);
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    const prefix = uniquePrefix("pr");
    const sleepers: number[] = [];
    for (let i = 0; i < n; i++) sleepers.push(reaper.spawn(["sleep", "600"]).pid);
    await Promise.all(sleepers.map(async (victim, i) => {
      tally.rounds++;
      tally.faults++;
      const name = `${prefix}-${i}`;
      const start = startTimeOf(victim)!;
      const wrong = Math.max(1, start - 1 - i);
      writeOldFile(dir.join(`${name}.pid`), `${victim}\n`); // written before the reuse
      if (i % 3 !== 0) {
        const state = fakeState(dir.path, name, {
          phase: i % 3 === 1 ? "running" : "stopping",
          supervisor: { pid: victim, startTime: wrong },
          tree: {
            pid: victim,
            startTime: wrong,
            pgid: victim,
            sid: victim,
            marker: `${name}:${i.toString(16)}`,
            tracking: "group",
          },
        });
        Deno.writeTextFileSync(dir.join(`${name}.json`), JSON.stringify(state));
      }
      const status = await pidkit(["status", name, "--dir", dir.path, "--json"]);
      let phase = "?";
      try {
        phase = JSON.parse(status.stdout).state;
      } catch { /* below */ }
      if (phase !== "stale" && phase !== "stopped") {
        tally.violation(
          `${name}: status says ${phase} (${status.code}) for a reused pid ${victim}`,
        );
      }
      const stop = await pidkit(["stop", name, "--dir", dir.path, "--retry", "KILL/1"]);
      if (stop.code !== 0) {
        tally.violation(`${name}: stop exited ${stop.code}: ${stop.stderr.trim()}`);
      }
      const byFile = await pidkit([
        "stop",
        "--pidfile",
        dir.join(`${name}.pid`),
        "--retry",
        "KILL/1",
      ]);
      if (byFile.code !== 0) {
        tally.violation(`${name}: stop --pidfile exited ${byFile.code}: ${byFile.stderr.trim()}`);
      }
      if (!alive(victim)) tally.violation(`${name}: unrelated process ${victim} was killed`);
    }));
    const harmed = sleepers.filter((p) => !alive(p)).length;
    tally.note(`unrelated processes: ${sleepers.length}, harmed: ${harmed}`);
    return tally.result();
  },
};
