/**
 * The service options of `pidkit start` that shape what runs and when it is
 * ready (`--env`, `--cwd`, `--user`, `--ready-file`, `--ready-tcp`), and
 * SIGHUP to a supervisor reopening its log. Each test has its own run dir;
 * what it starts is ended by the PIDs and groups its state files record.
 */
import assert from "node:assert/strict";
import { findSetpriv } from "../../src/tree/find_program.ts";
import { alive, waitUntil } from "../_util/helpers.ts";
import { Services, uniqueName } from "../_util/service_dir.ts";

/** The uid and gid lines of /proc/PID/status: [real, effective, saved, fs]. */
function ids(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (key: string) =>
    (new RegExp(`^${key}:\\s*(.*)$`, "m").exec(text)?.[1] ?? "").trim().split(/\s+/)
      .filter((s) => s !== "").map(Number);
  return { uid: field("Uid"), gid: field("Gid"), groups: field("Groups") };
}

/** The `nobody` account from /etc/passwd, if there is one. */
function nobody(): { uid: number; gid: number } | undefined {
  let passwd = "";
  try {
    passwd = Deno.readTextFileSync("/etc/passwd");
  } catch {
    return undefined;
  }
  const f = passwd.split("\n").find((l) => l.startsWith("nobody:"))?.split(":");
  return f ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

/** A user that /etc/group lists as a member of some group: [name, its groups incl. primary]. */
function userWithGroups(): [string, number[]] | undefined {
  let passwd = "", group = "";
  try {
    passwd = Deno.readTextFileSync("/etc/passwd");
    group = Deno.readTextFileSync("/etc/group");
  } catch {
    return undefined;
  }
  const primary = new Map<string, number>();
  for (const f of passwd.split("\n").map((l) => l.split(":"))) {
    if (f.length >= 4) primary.set(f[0], Number(f[3]));
  }
  const groups = group.split("\n").map((l) => l.split(":"));
  for (const f of groups) {
    const name = f[3]?.split(",").find((m) => primary.has(m) && m !== "root");
    if (name === undefined) continue;
    const gids = new Set([primary.get(name)!]);
    for (const g of groups) if (g[3]?.split(",").includes(name)) gids.add(Number(g[2]));
    return [name, [...gids].sort((a, b) => a - b)];
  }
  return undefined;
}

Deno.test("--env and --cwd reach the service, beside the PIDKIT_SERVICE marker", async () => {
  await using s = new Services();
  const name = uniqueName("envcwd");
  const work = s.dir.join("work");
  await Deno.mkdir(work);
  const options = ["--cwd", work, "--env", "GREETING=hello world", "--env", "EMPTY="];
  const report = 'printf "%s|%s|%s|%s\\n" "$GREETING" "${EMPTY-unset}" "$(pwd)" "$PIDKIT_SERVICE"';
  const state = await s.start(name, options, ["sh", "-c", `${report} > seen; sleep 1000`]);
  await waitUntil(() => {
    try {
      return Deno.readTextFileSync(`${work}/seen`).endsWith("\n");
    } catch {
      return false;
    }
  }, { what: "the service's report" });
  const seen = await Deno.readTextFile(`${work}/seen`);
  const [greeting, empty, cwd, marker] = seen.trimEnd().split("|");
  assert.equal(greeting, "hello world");
  assert.equal(empty, "");
  assert.equal(cwd, work);
  assert.match(marker, new RegExp(`^${name}:[0-9a-f]+$`));
  // The values only in NAME.env (0600); the state everyone reads names them.
  assert.deepEqual(state.envNames, ["GREETING", "EMPTY"]);
  assert.equal(state.env, undefined);
  const envFile = s.dir.join(`${name}.env`);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(envFile)), {
    GREETING: "hello world",
    EMPTY: "",
  });
  assert.equal((await Deno.stat(envFile)).mode! & 0o777, 0o600);
  assert.equal(state.cwd, work);

  const bad = await s.cli(["start", uniqueName("badenv"), "--env", "NOEQUALS", "--", "true"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad --env 'NOEQUALS' \(use KEY=VALUE\)/);
  const missing = await s.cli([
    "start",
    uniqueName("badcwd"),
    "--cwd",
    s.dir.join("nope"),
    "--",
    "true",
  ]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trimEnd().split("\n").length, 1, missing.stderr);
  assert.match(missing.stderr, /nope/);
});

Deno.test("--user runs the whole tree as that user, without root's groups", async (t) => {
  const who = nobody();
  if (Deno.uid() !== 0 || who === undefined) {
    console.log("skipped: --user needs root and a 'nobody' account");
    return;
  }
  await using s = new Services();
  const name = uniqueName("user");
  // --cwd /: the service's user may not enter the clone (a checkout under a 0700 home).
  const state = await s.start(name, ["--user", "nobody", "--cwd", "/"], [
    "sh",
    "-c",
    "sleep 1000 & wait",
  ]);
  const leader = state.tree!.pid;
  await t.step(
    "the leader: every uid and gid is nobody's, no supplementary root group",
    () => {
      const mine = ids(leader);
      assert.deepEqual(mine.uid, [who.uid, who.uid, who.uid, who.uid]);
      assert.deepEqual(mine.gid, [who.gid, who.gid, who.gid, who.gid]);
      assert.ok(!mine.groups.includes(0), `supplementary groups ${mine.groups}`);
    },
  );
  await t.step("the supervisor stays root and still writes the log and state", async () => {
    assert.equal(ids(state.supervisor.pid).uid[1], 0);
    assert.equal(state.user, "nobody");
    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(leader));
  });
  await t.step(
    "a user with supplementary groups gets them, as initgroups(3) sets them",
    async () => {
      const member = userWithGroups();
      if (member === undefined || findSetpriv() === undefined) {
        console.log("skipped: needs setpriv(1) and a user listed in /etc/group");
        return;
      }
      const [user, groups] = member;
      const grouped = uniqueName("groups");
      const st = await s.start(grouped, ["--user", user, "--cwd", "/"], [
        "sh",
        "-c",
        "sleep 1000 & wait",
      ]);
      // setpriv sets the groups and ids, then execs the command in the same process.
      const comm = () => Deno.readTextFileSync(`/proc/${st.tree!.pid}/comm`).trim();
      await waitUntil(() => comm() === "sh", { what: "setpriv to exec the command" });
      const got = ids(st.tree!.pid);
      assert.deepEqual([...got.groups].sort((a, b) => a - b), groups);
      assert.equal(new Set(got.uid).size, 1);
      assert.notEqual(got.uid[0], 0);
      const stop = await s.cli(["stop", grouped]);
      assert.equal(stop.code, 0, stop.stderr);
    },
  );
  const unknown = await s.cli([
    "start",
    uniqueName("nouser"),
    "--user",
    "no-such-user-pk",
    "--",
    "true",
  ]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown user 'no-such-user-pk'/);
});

Deno.test("--ready-file: start waits until the service creates it; an old file does not count", async (t) => {
  await using s = new Services();
  const ready = s.dir.join("ready");
  await t.step("a file left by an earlier run is ignored until touched", async () => {
    await Deno.writeTextFile(ready, "");
    const old = Date.now() - 3_600_000;
    await Deno.utime(ready, old / 1000, old / 1000);
    const name = uniqueName("rfile");
    await s.start(name, ["--ready-file", ready], [
      "sh",
      "-c",
      `sleep 0.4; touch '${ready}'; sleep 1000`,
    ]);
    // Had the old file counted, start would have returned before the touch.
    assert.ok(
      (await Deno.stat(ready)).mtime!.getTime() > old + 1000,
      "start returned before the touch",
    );
  });
  await t.step("created later: start returns once it exists", async () => {
    const file = s.dir.join("ready2");
    const name = uniqueName("rfile");
    await s.start(name, ["--ready-file", file], [
      "sh",
      "-c",
      `sleep 0.3; echo ok > '${file}'; sleep 1000`,
    ]);
    assert.equal(await Deno.readTextFile(file), "ok\n");
  });
  await t.step("the service dies before creating it: exit 1 with its status", async () => {
    const name = uniqueName("rfile");
    const r = await s.cli([
      "start",
      name,
      "--ready-file",
      s.dir.join("never"),
      "--",
      "sh",
      "-c",
      "echo giving up; exit 7",
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${name} exited during start-up with code 7\n$`));
    assert.match(r.stderr, /giving up/); // the last log lines
  });
});

Deno.test("--ready-tcp: start returns once the port accepts connections", async () => {
  await using s = new Services();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const name = uniqueName("rtcp");
  const server = `await new Promise((r) => setTimeout(r, 400));
    for await (const c of Deno.listen({ hostname: "127.0.0.1", port: ${port} })) c.close();`;
  await s.start(name, ["--ready-tcp", `127.0.0.1:${port}`], [Deno.execPath(), "eval", server]);
  // No waiting here: ready means it accepts now.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.close();

  const bad = await s.cli(["start", uniqueName("rtcp"), "--ready-tcp", "localhost", "--", "true"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad --ready-tcp 'localhost' \(use HOST:PORT/);
});

Deno.test("SIGHUP to a supervisor reopens its log (logrotate); the service runs on", async () => {
  await using s = new Services();
  const name = uniqueName("rotate");
  const state = await s.start(name, [], [
    "sh",
    "-c",
    "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done",
  ]);
  const log = s.dir.join(`${name}.log`);
  await waitUntil(() => Deno.readTextFileSync(log).includes("tick 2\n"), { what: "ticks" });
  await Deno.rename(log, `${log}.1`);
  Deno.kill(state.supervisor.pid, "SIGHUP");
  await waitUntil(() => {
    try {
      return /tick \d+\n/.test(Deno.readTextFileSync(log));
    } catch {
      return false;
    }
  }, { what: "ticks in the new log" });
  const rotated = await Deno.readTextFile(`${log}.1`);
  const fresh = await Deno.readTextFile(log);
  const lastOld = Number(/tick (\d+)\n$/.exec(rotated)![1]);
  const firstNew = Number(/tick (\d+)/.exec(fresh)![1]);
  assert.equal(firstNew, lastOld + 1, "no line lost or repeated across the reopen");
  const after = await s.state(name);
  assert.equal(after.tree?.pid, state.tree?.pid, "the service was not restarted");
  assert.equal(after.restarts, 0);
  assert.ok(alive(state.supervisor.pid));
});
