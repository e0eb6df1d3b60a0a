/**
 * `pidkit stop` of a tree whose supervisor was killed writes down what the
 * supervisor would have: `status` shows `stopping` meanwhile (0.2: `starting`
 * with the stop command's PID as `supervisor:`), the log gets the stopping
 * and stopped lines, the record ends `stopped` (0.2 left it `running` or
 * `stopping`); and a supervisor killed in the middle of a stop leaves the
 * schedule where it stood (0.2 started it again: TERM/20 took 22 s).
 */

import assert from "node:assert/strict";
import { CLI, startTimeOf, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const linux = Deno.build.os === "linux";
const IGNORES_TERM = ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"];

/** `pidkit stop NAME` in the background. */
function spawnStop(s: Services, name: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "stop", name],
    env: { PIDKIT_DIR: s.dir.path, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test({
  name:
    "orphan stop by the CLI: status says stopping (no supervisor), the log and record say stopped",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("orph");
    const rec = await s.start(name, ["--retry", "TERM/2/KILL/5"], IGNORES_TERM);
    Deno.kill(rec.supervisor.pid, "SIGKILL");
    await waitUntil(() => startTimeOf(rec.supervisor.pid) === undefined, { what: "the kill" });
    const stop = spawnStop(s, name);
    s.pid(stop.pid);
    let seen: Record<string, unknown> | undefined;
    await waitUntil(async () => {
      const st = await s.cli(["status", name, "--json"]);
      const j = JSON.parse(st.stdout || "{}");
      if (j.state === "stopping") seen = j;
      return seen !== undefined;
    }, { timeoutMs: 20_000, what: "status to say stopping" });
    assert.equal(seen!.supervisorPid, null, "the stop command is no supervisor");
    const out = await stop.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const after = await s.state(name);
    assert.equal(after.phase, "stopped");
    assert.equal(after.tree, undefined);
    assert.equal(after.stopper, undefined);
    const log = Deno.readTextFileSync(after.log);
    assert.match(log, new RegExp(`stopping ${name} \\(pid ${rec.tree!.pid}\\), orphaned`));
    assert.match(log, new RegExp(`stopped ${name} \\(pid ${rec.tree!.pid}, orphaned\\)`));
  },
});

Deno.test({
  name:
    "a supervisor killed in the middle of a stop: the CLI goes on with the schedule, not from its start",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const name = uniqueName("midstop");
    const rec = await s.start(name, ["--retry", "TERM/8/KILL/5"], IGNORES_TERM);
    const t0 = performance.now();
    const stop = spawnStop(s, name);
    s.pid(stop.pid);
    await waitUntil(async () => (await s.state(name)).phase === "stopping", {
      what: "the supervisor to begin the stop",
    });
    // Into the TERM phase by this wait W: gone on with, the schedule ends
    // 8 s after the stop began, about killedAt + 8 s - W; the bound below is
    // killedAt + 7 s, so the take-over's cost after the KILL (the CLI's own
    // exit included, slow on a loaded machine) has W - 1 s: 2 s here.
    await new Promise((r) => setTimeout(r, 3000));
    const killedAt = performance.now() - t0;
    Deno.kill(rec.supervisor.pid, "SIGKILL");
    const out = await stop.output();
    const took = performance.now() - t0;
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(startTimeOf(rec.tree!.pid), undefined);
    // From the start again it would take killedAt + 8 s at least.
    assert.ok(
      took < killedAt + 7000,
      `took ${Math.round(took)} ms, killed at ${Math.round(killedAt)} ms`,
    );
  },
});
