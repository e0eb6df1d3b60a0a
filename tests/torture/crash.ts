/**
 * Crash at every step: a process loops acquire / update / update / release
 * and is SIGKILLed at a random moment, or at the Nth pass through one named
 * step of the protocol (a test hook in src/lock/_hooks.ts). Afterwards probe
 * must not say "running", the file must not be half-written, and the next
 * acquire must succeed at once.
 *
 * @module
 */

import { spawnFixture } from "../_util/fixture_io.ts";
import { Reaper, tempDir } from "../_util/helpers.ts";
import { PidFile, probe } from "../../mod.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { randInt, sleep } from "./util.ts";

const STEPS = [
  "acquire:opened",
  "acquire:locked",
  "acquire:checked",
  "acquire:truncated",
  "acquire:written",
  "acquire:synced",
  "update:truncated",
  "update:written",
  "update:synced",
  "release:unlinked",
];

export const crash: Scenario = {
  name: "crash-pidfile",
  shows: "SIGKILL during acquire/update/release (random moments and every instrumented step): " +
    "probe never says running afterwards, the file is never half-written, the next acquire wins.",
  async run(options) {
    const tally = new Tally();
    const random = rounds(options, 120, 8);
    const perStep = rounds(options, 6, 1);
    await using dir = tempDir("pidkit-torture-");
    const path = dir.join("crash.pid");
    const plan: ({ step: string; nth: number } | undefined)[] = [];
    for (let i = 0; i < random; i++) plan.push(undefined);
    for (const step of STEPS) {
      for (let i = 0; i < perStep; i++) plan.push({ step, nth: randInt(1, 4) });
    }
    // Two at a time: the machine has two cores and each round is a process start.
    for (let i = 0; i < plan.length; i += 2) {
      await Promise.all(
        plan.slice(i, i + 2).map((p, j) => oneRound(tally, `${path}.${j}`, p)),
      );
    }
    return tally.result();
  },
};

async function oneRound(
  tally: Tally,
  path: string,
  plan: { step: string; nth: number } | undefined,
): Promise<void> {
  tally.rounds++;
  await using reaper = new Reaper();
  const args = plan ? [path, plan.step, String(plan.nth)] : [path];
  // A name under tests/fixtures/ (spawnFixture joins them), not a module specifier.
  const fx = spawnFixture(reaper, ["..", "torture", "fixtures", "crasher.ts"].join("/"), args);
  const what = plan ? `at ${plan.step} #${plan.nth}` : "at a random moment";
  try {
    await fx.lines.next(60_000);
  } catch (err) {
    tally.violation(`crasher did not start: ${err}`);
    return;
  }
  if (!plan) {
    await sleep(randInt(5, 120));
    fx.child.kill("SIGKILL");
  }
  const status = await fx.child.status;
  tally.faults++;
  if (status.signal !== "SIGKILL") {
    tally.violation(`crasher ${what} ended with ${JSON.stringify(status)}`);
    return;
  }
  let found;
  try {
    found = await probe(path);
  } catch (err) {
    tally.violation(`probe after a crash ${what} threw ${err}`);
    return;
  }
  if (found.status === "running") {
    tally.violation(`probe says running after the holder died (crash ${what})`);
  }
  if (found.status === "stale" && found.error) {
    tally.violation(`half-written file after a crash ${what}: ${found.error.message}`);
  }
  try {
    const pid = await PidFile.acquire(path, { removeOnExit: false });
    await pid.release();
  } catch (err) {
    tally.violation(`acquire after a crash ${what} failed: ${err}`);
  }
}
