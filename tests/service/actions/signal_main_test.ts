/**
 * `pidkit signal NAME SIG --main` (and signalService's `main`) reaches the
 * main process alone; without it the whole tree gets the signal.
 */
import assert from "node:assert/strict";
import { waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

Deno.test("signal --main: only the main process gets it; without --main the whole tree", async () => {
  await using s = new Services();
  const name = uniqueName("main");
  const hups = s.dir.join("hups");
  const ready = s.dir.join("ready");
  const script = `
sh -c 'trap "echo child >> ${hups}" HUP; touch ${ready}; while :; do sleep 0.05; done' &
trap "echo leader >> ${hups}" HUP
while :; do sleep 0.05; done`;
  const state = await s.start(name, ["--ready-file", ready], ["sh", "-c", script]);
  const lines = () => {
    try {
      return Deno.readTextFileSync(hups).trimEnd().split("\n");
    } catch {
      return [];
    }
  };
  const main = await s.cli(["signal", name, "HUP", "--main", "--json"]);
  assert.equal(main.code, 0, main.stderr);
  const sent = JSON.parse(main.stdout);
  assert.equal(sent.pid, state.tree!.pid);
  assert.equal(sent.processes, 1);
  await waitUntil(() => lines().includes("leader"), { what: "the leader's trap" });
  const text = await s.cli(["signal", name, "HUP", "--main"]);
  assert.equal(text.stdout.trim(), `sent SIGHUP to ${name}'s main process (pid ${sent.pid})`);
  await waitUntil(() => lines().filter((l) => l === "leader").length === 2, {
    what: "the second HUP",
  });
  assert.deepEqual(lines().filter((l) => l === "child"), [], "the child got a --main signal");
  const all = await s.cli(["signal", name, "HUP", "--json"]);
  assert.equal(all.code, 0, all.stderr);
  assert.ok(JSON.parse(all.stdout).processes >= 2);
  await waitUntil(() => lines().includes("child"), { what: "the child's trap" });
  assert.equal((await s.cli(["stop", name])).code, 0);
  const gone = await s.cli(["signal", name, "HUP", "--main"]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /is not running/);
});
