/** `pidkit up` and `pidkit down` record what they changed in the journal of events. */
import assert from "node:assert/strict";
import { tempDir } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import type { ServiceEvent } from "../../../src/service/model/service_event.ts";

Deno.test("pidkit up and down record what they changed (up, down events)", async () => {
  await using s = new Services();
  await using home = tempDir("pidkit-stack-");
  const file = home.join("pidkit.jsonc");
  const a = uniqueName("a");
  const b = uniqueName("b");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      services: { [a]: { cmd: ["sleep", "1001"] }, [b]: { cmd: ["sleep", "1002"] } },
    }),
  );
  const up = await s.cli(["up", "-c", file]);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  await s.recordAll();
  await Deno.writeTextFile(file, JSON.stringify({ services: { [a]: { cmd: ["sleep", "1001"] } } }));
  const again = await s.cli(["up", "-c", file]);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  const down = await s.cli(["down", "-c", file]);
  assert.equal(down.code, 0, down.stderr + down.stdout);
  const shown = await s.cli(["events", "--json", "-n", "100"]);
  assert.equal(shown.code, 0, shown.stderr);
  const events = shown.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as ServiceEvent);
  const mine = events.filter((e) => e.kind === "up" || e.kind === "down")
    .map((e) => `${e.service} ${e.kind} ${e.reason}`);
  assert.deepEqual(mine.filter((l) => l.startsWith(`${b} `)), [
    `${b} up started: not running`,
    `${b} up stopped: no longer declared`,
  ]);
  assert.deepEqual(mine.filter((l) => l.startsWith(`${a} `)), [
    `${a} up started: not running`,
    `${a} down stopped: pidkit down`,
  ]);
  const seqs = events.map((e) => e.seq!);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
});
