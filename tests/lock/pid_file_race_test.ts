/**
 * Races between real processes for one PID file. Each racer is one
 * long-lived Deno process (tests/fixtures/pid_racer.ts) doing many rounds,
 * so hundreds of rounds cost seconds, not thousands of process starts.
 */
import assert from "node:assert/strict";
import { Reaper, tempDir } from "../_util/helpers.ts";
import { type Fixture, spawnFixture } from "../_util/fixture_io.ts";

Deno.test("5. 32 processes racing for the same path: exactly one wins in each of 200 rounds", async () => {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("race.pid");
  const racers: Fixture[] = [];
  for (let i = 0; i < 32; i++) {
    racers.push(spawnFixture(reaper, "pid_racer.ts", ["race", path], { stdin: true }));
  }
  for (const r of racers) assert.equal(await r.lines.next(60_000), "ready");
  const winnersPerRound: number[] = [];
  for (let round = 0; round < 200; round++) {
    await Promise.all(racers.map((r) => r.send("go")));
    const answers = await Promise.all(racers.map((r) => r.lines.next()));
    const winners = answers.filter((a) => a.startsWith("won "));
    winnersPerRound.push(winners.length);
    assert.equal(winners.length, 1, `round ${round}: ${answers.join(", ")}`);
    const winner = winners[0].slice(4);
    for (const a of answers) {
      if (!a.startsWith("won ")) assert.equal(a, `lost ${winner}`, `round ${round}`);
    }
    await Promise.all(racers.map((r) => r.send("rel")));
    for (const r of racers) assert.equal(await r.lines.next(), "ok");
  }
  assert.equal(winnersPerRound.length, 200);
  await Promise.all(racers.map((r) => r.closeStdin()));
  for (const r of racers) assert.equal((await r.child.status).code, 0);
});

/** Run `n` stress racers; the total rounds and violations they report. */
async function stress(n: number, rounds: number, unsafe: boolean) {
  await using dir = tempDir();
  await using reaper = new Reaper();
  const path = dir.join("stress.pid");
  const args = ["stress", path, dir.path, String(rounds), ...(unsafe ? ["--unsafe"] : [])];
  const racers = Array.from({ length: n }, () => spawnFixture(reaper, "pid_racer.ts", args));
  const results = await Promise.all(racers.map(async (r) => {
    const [word, done, violations] = (await r.lines.next(60_000)).split(" ");
    assert.equal(word, "done");
    assert.equal((await r.child.status).code, 0);
    return { done: Number(done), violations: Number(violations) };
  }));
  return {
    done: results.reduce((a, r) => a + r.done, 0),
    violations: results.reduce((a, r) => a + r.violations, 0),
  };
}

Deno.test("4. release racing with waiters on the unlinked file: never two holders (identity check on)", async () => {
  const { done, violations } = await stress(4, 250, false);
  assert.equal(done, 1000);
  assert.equal(violations, 0, `${violations} times two processes held the PID file at once`);
});

Deno.test("4. ... and without the identity check of step 4, two holders do happen", async () => {
  // Racers stop as soon as one of them sees a violation; 4 x 300 rounds is
  // the bound. On this machine the first violation comes within a few rounds.
  const { violations } = await stress(4, 300, true);
  assert.ok(violations > 0, "without step 4 the race should produce a double holder");
});
