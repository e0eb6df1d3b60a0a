// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * Regression found by the torture suite (hostile-paths): `pidkit start` in
 * a run dir that another user owns, or that anyone may write, is refused --
 * the supervisor used to append the service's output through a symlink
 * planted at NAME.log (as root: to any file).
 */
import assert from "node:assert/strict";
import { CLI, runCli, tempDir } from "./helpers.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) {
  console.log("run_dir_trust_test: the foreign-owner and other-user cases need root; skipped");
}

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

Deno.test({
  name: "status cannot trust a planted per-user run dir: exit 4 (cannot tell), not 1 (stale)",
  ignore: !isRoot,
  async fn() {
    // As an unprivileged user without PIDKIT_DIR or XDG_RUNTIME_DIR, the run
    // dir is $TMPDIR/pidkit-UID, which anyone could have planted.
    await using dir = tempDir();
    Deno.chmodSync(dir.path, 0o755);
    const denoDir = dir.join("deno");
    Deno.mkdirSync(denoDir);
    Deno.chownSync(denoDir, 65534, 65534);
    Deno.symlinkSync("/etc", dir.join("pidkit-65534"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "status"],
      uid: 65534,
      gid: 65534,
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", HOME: denoDir, DENO_DIR: denoDir, TMPDIR: dir.path },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 4, stderr);
    assert.match(stderr, /^pidkit status: refusing run dir .*pidkit-65534: it is a symlink/);
    assert.equal(stderr.trimEnd().split("\n").length, 1);
  },
});
