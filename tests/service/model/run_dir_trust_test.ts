// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * Regression found by the torture suite (hostile-paths): `pidkit start` in
 * a run dir that another user owns, or that anyone may write, is refused --
 * the supervisor used to append the service's output through a symlink
 * planted at NAME.log (as root: to any file).
 */
import assert from "node:assert/strict";
import { runCli, tempDir } from "../../_util/helpers.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) console.log("run_dir_trust_test: the foreign-owner case needs root (chown); skipped");

Deno.test("start refuses a world-writable run dir and writes nothing through a planted log symlink", async () => {
  await using dir = tempDir();
  const run = dir.join("run");
  Deno.mkdirSync(run);
  Deno.chmodSync(run, 0o1777);
  Deno.symlinkSync(dir.join("victim"), `${run}/svc.log`);
  const out = await runCli(["start", "svc", "--dir", run, "--", "sh", "-c", "echo x; sleep 5"]);
  assert.equal(out.code, 1);
  assert.match(out.stderr, /refusing run dir .*anyone may write/);
  assert.throws(() => Deno.lstatSync(dir.join("victim")), Deno.errors.NotFound);
});

Deno.test({
  name: "start refuses a run dir owned by another user",
  ignore: !isRoot,
  async fn() {
    await using dir = tempDir();
    const run = dir.join("run");
    Deno.mkdirSync(run);
    Deno.chownSync(run, 65534, 65534);
    Deno.symlinkSync(dir.join("victim"), `${run}/svc.log`);
    const out = await runCli(["start", "svc", "--dir", run, "--", "sh", "-c", "echo x; sleep 5"]);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /refusing run dir .*owned by uid 65534/);
    assert.throws(() => Deno.lstatSync(dir.join("victim")), Deno.errors.NotFound);
  },
});
