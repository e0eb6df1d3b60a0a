// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads and writes small files between steps; nothing else runs meanwhile
/**
 * Who can read what in a run directory: the directory is 0750, logs 0640,
 * the `--env` values only in `NAME.env` (0600) and never in the state file
 * everyone may read, also after a 0.2 record is adopted; a `--user`
 * service's log belongs to its user's group and the service gets its
 * user's HOME, SHELL, USER and LOGNAME. The reader runs as uid 65534
 * through setpriv(1).
 */
import assert from "node:assert/strict";
import { alive, hasProgram, waitUntil } from "../_util/helpers.ts";
import { Services, uniqueName } from "../_util/service_dir.ts";

const NOBODY = 65534;

function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "reading as another user needs root";
  if (!hasProgram("setpriv")) return "needs setpriv(1)";
  return undefined;
}

/** `cat path` as uid/gid 65534 with no supplementary groups. */
async function readAsNobody(path: string): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "cat", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { ok: out.success, text: new TextDecoder().decode(out.stdout) };
}

function mode(path: string): number {
  return (Deno.statSync(path).mode ?? 0) & 0o777;
}

function count(text: string, line: string): number {
  return text.split("\n").filter((l) => l === line).length;
}

Deno.test("run dir 0750, log 0640, --env values only in NAME.env (0600), also after adopting a 0.2 record", async (t) => {
  const skip = skipReason();
  if (skip) return console.log(`skipped: ${skip}`);
  await using s = new Services();
  Deno.removeSync(s.dir.path); // pidkit makes it
  const name = uniqueName("secret");
  const file = (ext: string) => s.dir.join(`${name}.${ext}`);
  const state = await s.start(name, ["--env", "SECRET=s3cret", "--restart", "always"], [
    "sh",
    "-c",
    'echo "token=$SECRET"; exec sleep 1000',
  ]);
  await waitUntil(() => count(Deno.readTextFileSync(file("log")), "token=s3cret") === 1, {
    what: "the service's first line",
  });

  await t.step("modes: dir 0750, log 0640, env 0600; the state names the variable only", () => {
    assert.equal(mode(s.dir.path), 0o750);
    assert.equal(mode(file("log")), 0o640);
    assert.equal(mode(file("env")), 0o600);
    assert.equal(mode(s.dir.join("supervisor.journal")), 0o640);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(file("env"))), { SECRET: "s3cret" });
    assert.ok(!Deno.readTextFileSync(file("json")).includes("s3cret"));
    assert.deepEqual(state.envNames, ["SECRET"]);
    assert.equal(state.env, undefined);
  });

  await t.step("another user reads nothing; in a 0755 dir (0.2's) the state only", async () => {
    assert.equal((await readAsNobody(file("json"))).ok, false, "the dir is 0750");
    Deno.chmodSync(s.dir.path, 0o755);
    const json = await readAsNobody(file("json"));
    assert.ok(json.ok);
    assert.ok(!json.text.includes("s3cret"));
    assert.equal((await readAsNobody(file("log"))).ok, false, "log");
    assert.equal((await readAsNobody(file("env"))).ok, false, "env");
    Deno.chmodSync(s.dir.path, 0o750);
  });

  await t.step(
    "a 0.2 record with the values is adopted: values move to NAME.env, restarts keep them",
    async () => {
      const sup = s.supervisorPid()!;
      Deno.kill(sup, "SIGKILL");
      await waitUntil(() => !alive(sup), { what: "the supervisor to die" });
      // What 0.2 wrote: the values in the state file, no NAME.env.
      const { envNames: _names, ...old } = JSON.parse(Deno.readTextFileSync(file("json")));
      Deno.writeTextFileSync(file("json"), JSON.stringify({ ...old, env: { SECRET: "s3cret" } }));
      Deno.removeSync(file("env"));
      await s.start(uniqueName("other"), [], ["sleep", "1000"]); // a new supervisor adopts
      const adopted = await s.state(name);
      assert.notEqual(adopted.supervisor.pid, sup);
      assert.ok(!Deno.readTextFileSync(file("json")).includes("s3cret"));
      assert.equal(mode(file("env")), 0o600);
      assert.deepEqual(JSON.parse(Deno.readTextFileSync(file("env"))), { SECRET: "s3cret" });
      // Its restart (the policy, after the leader dies) has the value.
      Deno.kill(adopted.tree!.pid, "SIGKILL");
      await waitUntil(() => count(Deno.readTextFileSync(file("log")), "token=s3cret") === 2, {
        what: "the restarted service's line",
        timeoutMs: 30_000,
      });
      await s.state(name);
    },
  );
  assert.equal((await s.cli(["stop", name])).code, 0);
});

Deno.test("--user: the log is the user's group's, the service gets its user's HOME, SHELL, USER, LOGNAME", async () => {
  const skip = skipReason();
  if (skip) return console.log(`skipped: ${skip}`);
  const nobody = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith("nobody:")
  )?.split(":");
  if (nobody === undefined || Number(nobody[3]) !== NOBODY) {
    return console.log("skipped: needs a nobody account with gid 65534");
  }
  await using s = new Services();
  const name = uniqueName("user");
  const log = s.dir.join(`${name}.log`);
  await s.start(name, ["--user", "nobody", "--cwd", "/", "--env", "LOGNAME=custom"], [
    "sh",
    "-c",
    'echo "env:$HOME|$SHELL|$USER|$LOGNAME"; exec sleep 1000',
  ]);
  await waitUntil(() => Deno.readTextFileSync(log).includes("env:"), { what: "its line" });
  const line = Deno.readTextFileSync(log).split("\n").find((l) => l.startsWith("env:"));
  // --env still wins over what the user's entry gives.
  assert.equal(line, `env:${nobody[5]}|${nobody[6]}|nobody|custom`);
  assert.equal(Deno.statSync(log).gid, NOBODY);
  // The run dir is closed to nobody: its shim opened the output FIFO as root, then dropped.
  const fifo = Deno.statSync(s.dir.join(`${name}.out`));
  assert.ok(fifo.isFifo);
  assert.equal(fifo.uid, 0);
  const leader = (await s.state(name)).tree!.pid;
  assert.match(
    Deno.readTextFileSync(`/proc/${leader}/status`),
    /^Uid:\s+65534\s+65534\s+65534\s+65534$/m,
  );
  assert.doesNotMatch(Deno.readTextFileSync(log), /goes through a pipe/);
  assert.equal(mode(log), 0o640);
  // The documented way to let the user read it: give the run dir its group.
  assert.equal((await readAsNobody(log)).ok, false);
  Deno.chownSync(s.dir.path, null, NOBODY);
  Deno.chmodSync(s.dir.path, 0o750);
  const read = await readAsNobody(log);
  assert.ok(read.ok);
  assert.match(read.text, /env:/);
  assert.equal((await s.cli(["stop", name])).code, 0);

  // Its sd_notify socket cannot be in the run dir (nobody cannot enter it): a short path outside.
  Deno.chownSync(s.dir.path, null, 0);
  const notified = uniqueName("notify");
  const perl = "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, " +
    "Peer => $ENV{NOTIFY_SOCKET}) or die $!; $s->send('READY=1'); sleep 1000;";
  const st = await s.start(notified, ["--user", "nobody", "--cwd", "/", "--ready-notify"], [
    "perl",
    "-e",
    perl,
  ]);
  assert.match(st.notifySocket ?? "", /^\/tmp\/pidkit-n-0\/[0-9a-f]+\/notify$/);
  assert.match(
    Deno.readTextFileSync(s.dir.join(`${notified}.log`)),
    /out of its user's reach; NOTIFY_SOCKET is \/tmp\//,
  );
  assert.equal((await s.cli(["stop", notified])).code, 0);

  // A rotated log keeps the group (and the mode).
  const big = uniqueName("rotated");
  const bigLog = s.dir.join(`${big}.log`);
  await s.start(big, ["--user", "nobody", "--cwd", "/", "--log-max-size", "64K"], [
    "sh",
    "-c",
    "yes 0123456789abcdef | head -n 6000; exec sleep 1000",
  ]);
  await waitUntil(() => {
    try {
      return Deno.statSync(`${bigLog}.1`).isFile;
    } catch {
      return false;
    }
  }, { what: "a rotation" });
  for (const path of [bigLog, `${bigLog}.1`]) {
    assert.equal(Deno.statSync(path).gid, NOBODY, path);
    assert.equal(mode(path), 0o640, path);
  }
  assert.equal((await s.cli(["stop", big])).code, 0);
});
