// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/** PidFile.check and PidFile.watch: a deleted or replaced PID file is noticed. */
import assert from "node:assert/strict";
import { PidFile } from "../../mod.ts";
import { tempDir, waitUntil } from "../_util/helpers.ts";

Deno.test("check: held, removed, replaced, released", async () => {
  await using dir = tempDir();
  const path = dir.join("app.pid");
  const pid = await PidFile.acquire(path, { removeOnExit: false });
  assert.equal(pid.check(), "held");
  Deno.removeSync(path);
  assert.equal(pid.check(), "removed");
  Deno.writeTextFileSync(path, "1\n");
  assert.equal(pid.check(), "replaced");
  await pid.release();
  assert.equal(pid.check(), "released");
  assert.equal(Deno.readTextFileSync(path), "1\n", "release kept the third party's file");
});

Deno.test("watch: reports a deletion within the interval, and stops on dispose", async () => {
  await using dir = tempDir();
  const path = dir.join("app.pid");
  await using pid = await PidFile.acquire(path, { removeOnExit: false });
  const seen: string[] = [];
  {
    using _w = pid.watch((s) => seen.push(s), { intervalMs: 20 });
    Deno.removeSync(path);
    await waitUntil(() => seen.length > 0, { timeoutMs: 2000, what: "the loss to be reported" });
    assert.deepEqual(seen, ["removed"]);
    Deno.symlinkSync("/dev/null", path);
    await waitUntil(() => seen.length > 1, { timeoutMs: 2000, what: "the replacement" });
    assert.deepEqual(seen, ["removed", "replaced"]);
  }
  Deno.removeSync(path);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen.length, 2, "no report after dispose");
});
