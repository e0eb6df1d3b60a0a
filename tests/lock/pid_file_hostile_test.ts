// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * Regressions found by the torture suite (hostile-paths): acquire never
 * writes through a hard link, and never takes over a file another user
 * planted in a world-writable directory.
 */
import assert from "node:assert/strict";
import { PidFile, PidFileError } from "../../mod.ts";
import { tempDir } from "../_util/helpers.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) {
  console.log("pid_file_hostile_test: the foreign-owner test needs root (chown); skipped");
}

Deno.test("acquire refuses a PID file that is a hard link to another file, and leaves it alone", async () => {
  await using dir = tempDir();
  const victim = dir.join("victim");
  Deno.writeTextFileSync(victim, "precious\n");
  Deno.linkSync(victim, dir.join("app.pid"));
  await assert.rejects(
    () => PidFile.acquire(dir.join("app.pid"), { removeOnExit: false }),
    (err) =>
      err instanceof PidFileError && err.reason === "not-a-file" && /hard links/.test(err.message),
  );
  assert.equal(Deno.readTextFileSync(victim), "precious\n");
  assert.equal(Deno.readTextFileSync(dir.join("app.pid")), "precious\n");
});

Deno.test({
  name: "acquire refuses a file owned by another user in a world-writable sticky directory",
  ignore: !isRoot,
  async fn() {
    await using dir = tempDir();
    Deno.chmodSync(dir.path, 0o1777);
    const path = dir.join("app.pid");
    Deno.writeTextFileSync(path, "1\n");
    Deno.chownSync(path, 65534, 65534);
    await assert.rejects(
      () => PidFile.acquire(path, { removeOnExit: false }),
      (err) =>
        err instanceof PidFileError && err.reason === "permission" && /uid 65534/.test(err.message),
    );
    assert.equal(Deno.readTextFileSync(path), "1\n");
    // Our own stale file in the same directory is still taken over.
    Deno.chownSync(path, 0, 0);
    const pid = await PidFile.acquire(path, { removeOnExit: false });
    assert.equal(Deno.readTextFileSync(path), `${Deno.pid}\n`);
    await pid.release();
  },
});

Deno.test("acquire never overwrites somebody's file given as a PID path; junk a crash leaves is taken over", async (t) => {
  await using dir = tempDir();
  const big = "#".repeat(70_000);
  const precious: [string, string, RegExp][] = [
    ["hosts", "127.0.0.1 localhost\n::1 localhost\n", /holds text that is not a PID record/],
    ["hostname", "myhost\n", /holds text that is not a PID record \(content "myhost"\)/],
    ["config.json", '{"name":"app","port":8080}\n', /holds JSON that is not a PID record/],
    ["list.json", "[1,2,3]\n", /holds JSON that is not a PID record/],
    ["big.log", big, /has more than 65536 bytes/],
  ];
  await t.step("refused with bad-content, the file untouched", async () => {
    for (const [name, content, why] of precious) {
      const path = dir.join(name);
      await Deno.writeTextFile(path, content);
      await assert.rejects(
        () => PidFile.acquire(path, { removeOnExit: false }),
        (err) =>
          err instanceof PidFileError && err.reason === "bad-content" && why.test(err.message) &&
          /pidkit will not overwrite it/.test(err.message),
        name,
      );
      assert.equal(await Deno.readTextFile(path), content, `${name} was changed`);
    }
  });
  const junk: [string, Uint8Array | string][] = [
    ["binary.pid", new Uint8Array([0xff, 0xfe, 0, 1, 2, 10])],
    ["nuls.pid", new Uint8Array(16)],
    ["zero.pid", "0\n"],
    ["negative.pid", "-5\n"],
    ["fraction.pid", "12.5\n"],
    ["cut.pid", '{"pid":12'],
    ["wrong-type.pid", '{"pid":"x","argv":3}\n'],
    ["stale.pid", "99999999\n"],
  ];
  await t.step("junk and stale records are taken over", async () => {
    for (const [name, content] of junk) {
      const path = dir.join(name);
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
      await using held = await PidFile.acquire(path, { removeOnExit: false });
      assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`, name);
      await held.release();
    }
  });
});
