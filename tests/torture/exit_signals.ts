/**
 * Exit signals at the worst moment: a holder with `removeOnExit` (the
 * default) gets SIGTERM, SIGINT or SIGHUP the instant its record becomes
 * visible (what a supervisor or a shell script reacting to the file does),
 * or at a random moment of its start-up. It must die of that signal (exit
 * status 128+N), and it must not leave its record behind: once others could
 * read the PID, the file must be gone after the signal.
 *
 * @module
 */

import { FIXTURES, Reaper, tempDir } from "../_util/helpers.ts";
import { probe } from "../../mod.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { pick, randInt, sleep } from "./util.ts";

const SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];

export const exitSignals: Scenario = {
  name: "exit-signals",
  shows:
    "SIGTERM/SIGINT/SIGHUP to a removeOnExit holder the instant its record is visible, or at " +
    "a random moment of its start-up: it dies of the signal and leaves no record behind.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 300, 30);
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    let raced = 0;
    // Four at a time: each round is mostly a Deno start-up.
    for (let i = 0; i < n; i += 4) {
      const batch = Array.from({ length: Math.min(4, n - i) }, (_, k) => i + k);
      const results = await Promise.all(batch.map((j) => oneRound(tally, reaper, dir.path, j)));
      raced += results.filter((r) => r).length;
    }
    tally.note(`${raced} of ${n} signals sent the instant the record was visible`);
    return tally.result();
  },
};

/** One holder, one signal; true when it was sent as soon as the record was seen. */
async function oneRound(tally: Tally, reaper: Reaper, dir: string, i: number): Promise<boolean> {
  tally.rounds++;
  tally.faults++;
  const path = `${dir}/exit-${i}.pid`;
  const sig = pick(SIGNALS);
  const child = reaper.spawn(
    [Deno.execPath(), "run", "-A", "--quiet", `${FIXTURES}/pid_holder.ts`, path],
    { stdout: "null", stderr: "null" },
  );
  const race = i % 2 === 0;
  let seen = false;
  if (race) {
    const until = Date.now() + 10_000;
    while (!seen && Date.now() < until) {
      seen = (await probe(path)).status === "running";
      if (!seen) await sleep(0);
    }
  } else {
    await sleep(randInt(0, 80));
    seen = (await probe(path)).status === "running";
  }
  Deno.kill(child.pid, sig);
  const status = await child.status;
  if (status.signal !== sig) {
    tally.violation(`holder sent ${sig} ended with ${status.signal ?? `code ${status.code}`}`);
  }
  let left = "";
  try {
    left = await Deno.readTextFile(path);
  } catch { /* gone: as it should be */ }
  // An empty file (created, not yet written) carries no record; a record must not stay.
  if (left.trim() !== "") {
    tally.violation(`${sig} left the record ${JSON.stringify(left.trim())} in ${path}`);
  }
  return race && seen;
}
