/**
 * What the CLI and the supervisor tell: `help --help`, where `--help`
 * sends the reader, the journal lines of SIGHUP and of a restart that was
 * due, requests answered only once the orphans are adopted, and process
 * titles in `ps`.
 */
import assert from "node:assert/strict";
import { alive, CLI, Reaper, runCli, waitUntil } from "../_util/helpers.ts";
import { Services, uniqueName } from "../_util/service_dir.ts";
import { findDaemon, freePort, nginxConfig } from "../_util/real_daemons.ts";

Deno.test("help --help exits 0; --help points to pidkit help, not to a man page an install lacks", async () => {
  const helpHelp = await runCli(["help", "--help"]);
  assert.equal(helpHelp.code, 0, helpHelp.stderr);
  assert.match(helpHelp.stdout, /^Usage: pidkit help \[COMMAND\]/);
  const main = await runCli(["--help"]);
  assert.equal(main.code, 0);
  assert.doesNotMatch(main.stdout, /man pidkit/);
  assert.match(main.stdout, /pidkit help COMMAND/);
});

Deno.test("the journal: a line for SIGHUP's reopen, and a due restart's line whole", async () => {
  await using s = new Services();
  const journal = s.dir.join("supervisor.journal");
  const name = uniqueName("hup");
  await s.start(name, [], ["sleep", "1000"]);
  const sup = s.supervisorPid()!;
  Deno.kill(sup, "SIGHUP");
  await waitUntil(
    () => /SIGHUP: reopened the journal and 1 log/.test(Deno.readTextFileSync(journal)),
    {
      what: "the SIGHUP line",
    },
  );

  // Ready after 100 ms, then it exits: the supervisor waits 30 s to restart it.
  const flaky = uniqueName("due");
  await s.start(flaky, ["--restart", "on-failure", "--restart-delay", "30s"], [
    "sh",
    "-c",
    "sleep 0.3; exit 1",
  ]);
  await waitUntil(async () => (await s.state(flaky)).phase === "restarting", {
    what: "the restart wait",
  });
  Deno.kill(sup, "SIGKILL");
  await waitUntil(() => !alive(sup), { what: "the supervisor to die" });
  await s.start(uniqueName("other"), [], ["sleep", "1000"]); // the next supervisor restarts it
  const due = new RegExp(
    `^\\[pidkit\\] \\S+ its supervisor \\(pid ${sup}\\) was killed while it waited to restart it; ` +
      `restarting ${flaky} \\(--restart on-failure\\)$`,
    "m",
  );
  await waitUntil(() => due.test(Deno.readTextFileSync(journal)), {
    what: "the due restart's line",
  });
  await s.recordAll();
});

Deno.test("a supervisor answers nobody before it has adopted every orphan", async () => {
  await using s = new Services();
  await using reaper = new Reaper();
  const names = Array.from({ length: 12 }, () => uniqueName("orphan"));
  for (const name of names) await s.start(name, [], ["sleep", "1000"]);
  const old = s.supervisorPid()!;
  Deno.kill(old, "SIGKILL");
  await waitUntil(() => !alive(old), { what: "the supervisor to die" });
  const socket = s.dir.join("supervisor.sock");
  await Deno.remove(socket).catch(() => {});
  const sup = reaper.spawn([Deno.execPath(), "run", "-A", "--quiet", CLI, "supervise"], {
    env: { PIDKIT_DIR: s.dir.path },
    stderr: "null",
  });
  // Ask the moment the socket is there.
  let conn: Deno.UnixConn | undefined;
  await waitUntil(async () => {
    try {
      conn = await Deno.connect({ transport: "unix", path: socket });
      return true;
    } catch {
      return false;
    }
  }, { intervalMs: 1, what: "the socket" });
  await conn!.write(new TextEncoder().encode('{"op":"hello"}\n'));
  const answer = JSON.parse((await new Response(conn!.readable).text()).trim());
  assert.deepEqual([...answer.services].sort(), [...names].sort());
  Deno.kill(sup.pid, "SIGTERM");
  assert.equal((await sup.status).code, 0);
  await s.recordAll();
});

Deno.test("ps shows a process title (nginx: worker process) as ps(1) does, without the padding", async () => {
  const nginx = findDaemon("nginx");
  if (nginx === undefined) return console.log("skipped: needs nginx");
  await using s = new Services();
  const ng = nginxConfig(s.dir.path, freePort(), { workers: 2, daemon: false });
  const name = uniqueName("nginx");
  await s.start(name, [], [nginx, "-c", ng.conf, "-p", ng.prefix]);
  let text = "";
  await waitUntil(async () => {
    text = (await s.cli(["ps", name])).stdout;
    return (text.match(/nginx: worker process/g) ?? []).length === 2;
  }, { what: "two workers in ps" });
  assert.doesNotMatch(text, /''/);
  assert.doesNotMatch(text, /'nginx: worker process'/);
  const json = JSON.parse((await s.cli(["ps", name, "--json"])).stdout);
  const commands = JSON.stringify(json);
  assert.ok(!commands.includes('"nginx: worker process",""'), commands);
  assert.equal((await s.cli(["stop", name])).code, 0);
});

Deno.test("a start that fails again shows only this attempt's log lines, from its started line on", async () => {
  await using s = new Services();
  const name = uniqueName("boom");
  const attempt = async (json: boolean) => {
    const cmd = ["sh", "-c", "echo boom >&2; exit 3"];
    const r = await s.cli([
      "start",
      name,
      "--ready-after",
      "2s",
      ...(json ? ["--json"] : []),
      "--",
      ...cmd,
    ]);
    await s.recordAll();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    return r.stderr;
  };
  const first = await attempt(false);
  assert.match(first, /^last lines of /m);
  const second = await attempt(false);
  const pidOf = (text: string) =>
    Number(new RegExp(`started ${name} \\(pid (\\d+)\\)`).exec(text)?.[1]);
  const pid1 = pidOf(first), pid2 = pidOf(second);
  assert.ok(pid1 > 0 && pid2 > 0 && pid1 !== pid2, second);
  const tail = second.slice(second.indexOf("last lines of "));
  assert.equal(tail.match(/boom$/gm)?.length, 1, tail);
  assert.equal(tail.match(/\[pidkit\] \S+ started /g)?.length, 1, tail);
  assert.ok(!tail.includes(`(pid ${pid1})`), tail);
  assert.match(tail, new RegExp(`\\(pid ${pid2}\\) exited with code 3`));
  // --json: the same lines in `log`
  const json = JSON.parse((await attempt(true)).trim().split("\n").at(-1)!);
  assert.equal(json.log.filter((l: string) => l === "boom").length, 1, json.log.join("|"));
  assert.equal(
    json.log.filter((l: string) => /\[pidkit\] \S+ started /.test(l)).length,
    1,
    json.log.join("|"),
  );
  assert.ok(!json.log.some((l: string) => l.includes(`(pid ${pid2})`)), json.log.join("|"));
});
