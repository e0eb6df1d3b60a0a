/**
 * PID reuse at the library level: stale PID files and tree references that
 * name live, unrelated processes (sleepers spawned for the purpose). probe
 * must say "stale", isProcessAlive with the recorded start time must say
 * no, attachTree must refuse or find no members, and the unrelated
 * processes must all be alive at the end.
 *
 * @module
 */

import { Reaper, startTimeOf, tempDir } from "../_util/helpers.ts";
import { attachTree, type TreeRef } from "../../tree.ts";
import { isProcessAlive } from "../../src/os/proc.ts";
import { probe } from "../../mod.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { alive } from "../_util/helpers.ts";
import { pick } from "./util.ts";

export const pidReuse: Scenario = {
  name: "pid-reuse",
  shows: "stale PID files and tree references naming live unrelated processes: probe says stale, " +
    "attachTree refuses or finds nobody, nothing is signalled (unrelated processes harmed: 0).",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 200, 20);
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    const sleepers: number[] = [];
    for (let i = 0; i < Math.min(n, 40); i++) {
      sleepers.push(reaper.spawn(["sleep", "600"]).pid);
    }
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    for (let i = 0; i < n; i++) {
      tally.rounds++;
      tally.faults++;
      const victim = pick(sleepers);
      const start = startTimeOf(victim)!;
      const path = dir.join(`reuse-${i}.pid`);
      const kind = i % 3;
      const text = kind === 0
        ? `${victim}\n`
        : JSON.stringify({ pid: victim, startTime: kind === 1 ? start - 1 - (i % 50) : start });
      Deno.writeTextFileSync(path, text);
      const found = await probe(path);
      if (found.status !== "stale" || found.pid !== victim) {
        tally.violation(`probe of a stale file naming live pid ${victim}: ${found.status}`);
      }
      if (isProcessAlive(victim, start - 1)) {
        tally.violation(`isProcessAlive(${victim}, wrong start time) said yes`);
      }
      // A tree reference whose leader PID now belongs to the sleeper.
      const ref: TreeRef = {
        pid: victim,
        startTime: start - 1 - (i % 50),
        pgid: victim,
        sid: victim,
        marker: `torture:${i.toString(16)}`,
        tracking: "group",
      };
      checkAttach(tally, ref, `leader pid ${victim} reused`);
      // A reference whose leader is dead, pointing its group at the sleeper's.
      checkAttach(tally, { ...ref, pid: dead.pid, startTime: 1 }, `dead leader, group ${victim}`);
    }
    for (const p of sleepers) if (!alive(p)) tally.violation(`unrelated process ${p} was harmed`);
    tally.note(
      `unrelated processes: ${sleepers.length}, harmed: ${
        sleepers.filter((p) => !alive(p)).length
      }`,
    );
    return tally.result();
  },
};

function checkAttach(tally: Tally, ref: TreeRef, what: string): void {
  try {
    const tree = attachTree(ref);
    const members = tree.members();
    if (members.length > 0) {
      tally.violation(`attachTree (${what}) found unrelated members ${members.map((m) => m.pid)}`);
    }
  } catch {
    // Refused: right.
  }
}
