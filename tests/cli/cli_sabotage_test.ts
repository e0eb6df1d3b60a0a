// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * Regression found by the torture suite (sabotage-cli): a supervised
 * service's PID file deleted or replaced by a third party. The supervisor
 * logs it and makes a deleted file again, `status` says running (with
 * the PID file lost when it was replaced; it said "orphaned"), and `stop`
 * stops it through the supervisor and leaves the replacement alone (it
 * used to delete it).
 */
import assert from "node:assert/strict";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";
import { alive, Reaper, runCli, tempDir, waitUntil } from "../_util/helpers.ts";

for (const kind of ["delete", "replace"] as const) {
  Deno.test(`a held PID file that a third party ${kind}s: noticed, reported, stop still works`, async () => {
    await using dir = tempDir("pidkit-sabotage-");
    await using reaper = new Reaper();
    const name = `sab-${kind}-${Deno.pid}`;
    const env = { PIDKIT_DIR: dir.path, NO_COLOR: "1" };
    const start = await runCli(["start", name, "--", "sleep", "60"], { env });
    assert.equal(start.code, 0, start.stderr);
    const state = readServiceRecordSync(dir.join(`${name}.json`))!;
    reaper.pid(state.supervisor.pid);
    reaper.group(state.tree!.pgid);
    const pidfile = dir.join(`${name}.pid`);
    if (kind === "delete") Deno.removeSync(pidfile);
    else {
      Deno.writeTextFileSync(`${pidfile}.new`, "1\n");
      Deno.renameSync(`${pidfile}.new`, pidfile);
    }
    await waitUntil(
      () => /by another process/.test(Deno.readTextFileSync(dir.join(`${name}.log`))),
      { timeoutMs: 2000, what: "the supervisor to log the sabotage" },
    );
    if (kind === "delete") {
      // Deleted: the supervisor makes it again at once (issue 24).
      await waitUntil(() => /made again/.test(Deno.readTextFileSync(dir.join(`${name}.log`))), {
        what: "the PID file made again",
      });
      assert.equal(Deno.readTextFileSync(pidfile).trim(), String(state.tree!.pid));
    }
    const status = await runCli(["status", name, "--json"], { env });
    const json = JSON.parse(status.stdout);
    assert.equal(json.state, "running");
    assert.equal(json.pidfileLost ?? false, kind === "replace");
    assert.equal(status.code, 0);
    if (kind === "delete") {
      // The service runs: no second instance.
      const again = await runCli(["start", name, "--", "sleep", "60"], { env });
      assert.equal(again.code, 1, again.stdout);
      assert.match(again.stderr, /already running/);
      assert.equal(readServiceRecordSync(dir.join(`${name}.json`))!.tree?.pid, state.tree!.pid);
      const waited = await runCli(["wait", name, "--timeout", "300ms"], { env });
      assert.equal(waited.code, 1, "wait must not take a deleted PID file for a stop");
    }
    const stop = await runCli(["stop", name], { env });
    assert.equal(stop.code, 0, stop.stderr);
    // The run dir's supervisor held only this service: it exits a moment later.
    await waitUntil(() => !alive(state.supervisor.pid), { what: "the idle supervisor to exit" });
    assert.ok(!alive(state.tree!.pid), "the service is gone");
    if (kind === "replace") assert.equal(Deno.readTextFileSync(pidfile), "1\n");
  });
}
