// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads and writes small files between steps; nothing else runs meanwhile
/**
 * Library callers get one clear error, never a raw Deno one, and nothing is
 * left behind: a missing `cwd` for spawnTree, a bad `timeout` for
 * waitService, bad `data` for PidFile.acquire, bad launch options (named as
 * option fields, not CLI flags), scoped permissions for the service API.
 */
import assert from "node:assert/strict";
import { PidFile } from "../mod.ts";
import { spawnTree, TreeError } from "../tree.ts";
import { startService, UsageError, waitService } from "../service.ts";
import { ROOT, tempDir } from "./_util/helpers.ts";

Deno.test("spawnTree with a cwd that does not exist: a spawn-failed TreeError naming it", async () => {
  for (const tracking of ["group", "auto"] as const) {
    await assert.rejects(
      () => spawnTree(["true"], { cwd: "/nonexistent-pidkit", tracking, stdin: "null" }),
      (err: unknown) => {
        assert.ok(err instanceof TreeError, `${tracking}: ${err}`);
        assert.equal(err.reason, "spawn-failed");
        assert.match(err.message, /working directory \/nonexistent-pidkit does not exist/);
        assert.doesNotMatch(err.message, /setsid/);
        return true;
      },
    );
  }
});

Deno.test("waitService refuses a timeout that is NaN or negative", async () => {
  using dir = tempDir();
  for (const timeout of [NaN, -1]) {
    await assert.rejects(
      () => waitService("web", { dir: dir.path, timeout }),
      (err: unknown) => err instanceof UsageError && /timeout must be/.test(err.message),
    );
  }
  assert.equal(await waitService("web", { dir: dir.path, timeout: 0 }), true);
});

Deno.test("PidFile.acquire with data JSON cannot write: a UsageError and no file", async () => {
  using dir = tempDir();
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n: 1n }, /data must be JSON values only: .*BigInt/],
    [cycle, /data must be JSON values only: .*circular/],
    [{ pid: 3 }, /data must not set "pid"/],
    [{ big: "x".repeat(70_000) }, /data must fit a record/],
  ];
  for (const [data, message] of cases) {
    const path = dir.join("app.pid");
    await assert.rejects(
      () => PidFile.acquire(path, { format: "json", data }),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir.path)], [], "a file was left");
  }
});

Deno.test("startService names bad options as fields (not --flags), NaN included", async () => {
  using dir = tempDir();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ maxRestarts: NaN }, /^bad options\.maxRestarts NaN/],
    [{ maxRestarts: "x" }, /^bad options\.maxRestarts 'x'/],
    [{ restartDelay: NaN }, /^bad options\.restartDelay NaN/],
    [{ readyTimeout: -5 }, /^bad options\.readyTimeout -5/],
    [{ readyTimeout: "5q" }, /^bad options\.readyTimeout '5q'/],
    [{ logKeep: 3 }, /^options\.logKeep needs options\.logMaxSize$/],
    [{ readyFd: 1 }, /^bad options\.readyFd 1/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      () => startService("never", ["true"], { dir: dir.path, ...options }),
      (err: unknown) => {
        assert.ok(err instanceof UsageError, String(err));
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /--|NaNms/);
        return true;
      },
    );
  }
  assert.deepEqual([...Deno.readDirSync(dir.path)], [], "nothing was started");
});

Deno.test("the service API under scoped permissions: one error listing what it needs", async () => {
  using dir = tempDir();
  const script = dir.join("scoped.ts");
  Deno.writeTextFileSync(
    script,
    `import { serviceStatus, startService } from ${JSON.stringify(`${ROOT}/service.ts`)};
for (const call of [() => serviceStatus("web", { dir: ${JSON.stringify(dir.path)} }),
  () => startService("web", ["true"], { dir: ${JSON.stringify(dir.path)} })]) {
  try { await call(); console.log("no error"); }
  catch (err) { console.log(err.constructor.name + ": " + err.message); }
}`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-write", "--allow-env", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
  assert.equal(lines.length, 2, new TextDecoder().decode(out.stderr));
  for (const [line, fn] of [[lines[0], "serviceStatus"], [lines[1], "startService"]]) {
    assert.equal(
      line,
      `PidkitError: ${fn} needs all permissions: run Deno with -A (missing --allow-run, ` +
        `--allow-sys, --allow-ffi; a scoped --allow-read cannot read /proc)`,
    );
  }
});
