// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are written and read with single synchronous calls on purpose (a step must not yield between writing a file and setting its time)
/**
 * `status`, `stop` and `wait --pidfile` of a daemon that writes its PID
 * file without a lock (a shell "master" with two children that forked into
 * the background, the way nginx does), with and without identity options,
 * and the bad input around them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, Reaper, runCli, tempDir, waitUntil } from "../_util/helpers.ts";
import { writeOldFile } from "../_util/legacy_helpers.ts";

const SLEEP = Deno.realPathSync("/bin/sleep");

/** A daemon that forks a master (with two children) and writes the master's PID, unlocked. */
async function startDaemon(
  reaper: Reaper,
  pidfile: string,
): Promise<{ master: number; kids: number[] }> {
  reaper.spawn(["sh", "-c", `sh -c 'sleep 1000 & sleep 1000 & wait' & echo $! > ${pidfile}`]);
  await waitUntil(() => {
    try {
      return /^\d+\n$/.test(Deno.readTextFileSync(pidfile));
    } catch {
      return false;
    }
  });
  const master = Number(Deno.readTextFileSync(pidfile));
  reaper.pid(master);
  let kids: number[] = [];
  await waitUntil(() => {
    kids = Deno.readTextFileSync(`/proc/${master}/task/${master}/children`).trim().split(" ")
      .filter(Boolean).map(Number);
    return kids.length === 2;
  });
  for (const k of kids) reaper.pid(k);
  return { master, kids };
}

Deno.test("status/stop/wait --pidfile of an unlocked daemon: running, identity-checked, stopped with its children", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const pidfile = tmp.join("daemon.pid");
  const { master, kids } = await startDaemon(reaper, pidfile);

  const st = await runCli(["status", "--pidfile", pidfile, "--json"]);
  assert.equal(st.code, 0, st.stdout + st.stderr);
  const json = JSON.parse(st.stdout);
  assert.equal(json.state, "running");
  assert.equal(json.pid, master);
  assert.equal(json.locked, false);
  assert.deepEqual(json.verifiedBy, ["start-time"]);
  const text = await runCli(["status", "--pidfile", pidfile], { env: { NO_COLOR: "1" } });
  assert.match(
    text.stdout,
    /running \(pid \d+\)\n {2}lock: +none \(unlocked PID file\); verified by start-time/,
  );

  // Not that program: status 1, stop refuses (exit 1) and signals nothing.
  const wrong = await runCli(["status", "--pidfile", pidfile, "--exec", SLEEP, "--json"]);
  assert.equal(wrong.code, 1);
  assert.match(JSON.parse(wrong.stdout).reason, new RegExp(`runs .*sh, not ${SLEEP}`));
  const refused = await runCli(["stop", "--pidfile", pidfile, "--name", "nginx"]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^pidkit stop: .*daemon\.pid: not that program: pid \d+ is sh, not nginx; nothing signalled\n$/,
  );
  assert.ok(alive(master) && kids.every(alive));

  // The same file in a run dir (a daemon's own NAME.pid, no pidkit state): list and status NAME.
  const runDir = tmp.join("run");
  Deno.mkdirSync(runDir);
  Deno.linkSync(pidfile, `${runDir}/daemon.pid`);
  const list = JSON.parse((await runCli(["list", "--dir", runDir, "--json"])).stdout);
  assert.deepEqual(
    list.services.map((
      r: { name: string; state: string; pid: number },
    ) => [r.name, r.state, r.pid]),
    [["daemon", "running", master]],
  );
  const byName = await runCli(["status", "daemon", "--dir", runDir, "--json"]);
  assert.equal(byName.code, 0);
  assert.equal(JSON.parse(byName.stdout).locked, false);
  Deno.removeSync(`${runDir}/daemon.pid`);

  const waited = await runCli(["wait", "--pidfile", pidfile, "--timeout", "200ms"]);
  assert.equal(waited.code, 1, waited.stderr);
  assert.match(waited.stderr, /still running after 200ms/);

  // A waiter in the background returns once the stop is done.
  const waiter = runCli(["wait", "--pidfile", pidfile, "--name", "sh"]);
  const stop = await runCli(["stop", "--pidfile", pidfile, "--name", "sh", "--json"]);
  assert.equal(stop.code, 0, stop.stderr);
  const out = JSON.parse(stop.stdout);
  assert.equal(out.status, "stopped");
  assert.equal(out.pid, master);
  assert.deepEqual(out.survivors, []);
  assert.ok(!alive(master) && !kids.some(alive), "master and children gone");
  assert.equal((await waiter).code, 0);
  assert.equal((await runCli(["status", "--pidfile", pidfile])).code, 1, "stale now");
  assert.ok(Deno.statSync(pidfile).isFile, "a file pidkit does not hold is never removed");
});

Deno.test("stop --pidfile of an unlocked file naming a reused PID signals nothing", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const stranger = reaper.spawn(["sleep", "1000"]);
  const pidfile = tmp.join("old.pid");
  writeOldFile(pidfile, `${stranger.pid}\n`);
  const st = await runCli(["status", "--pidfile", pidfile, "--json"]);
  assert.equal(st.code, 1);
  assert.match(JSON.parse(st.stdout).reason, /after the file was last written: the PID was reused/);
  const stop = await runCli(["stop", "--pidfile", pidfile]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /not running \(stale PID file: .*reused; nothing signalled\)/);
  assert.equal((await runCli(["wait", "--pidfile", pidfile, "--timeout", "1s"])).code, 0);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(stranger.pid));
});

Deno.test("identity options: bad input is one line and a usage error (2)", async () => {
  await using tmp = tempDir();
  const pidfile = tmp.join("x.pid");
  Deno.writeTextFileSync(pidfile, `${Deno.pid}\n`);
  const cases: [string[], RegExp][] = [
    [["status", "--exec", SLEEP], /--exec needs --pidfile FILE/],
    [["stop", "web", "--name", "nginx"], /--name needs --pidfile FILE/],
    [["wait", "web", "--user", "root"], /--user needs --pidfile FILE/],
    [
      ["stop", "--pidfile", pidfile, "--exec", tmp.join("missing")],
      /--exec .*missing: no such file/,
    ],
    [
      ["status", "--pidfile", pidfile, "--user", "no-such-user-x"],
      /--user no-such-user-x: no such user/,
    ],
    [["wait"], /missing NAME or --pidfile FILE/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.equal(Deno.readTextFileSync(pidfile), `${Deno.pid}\n`, "nothing clobbered");
});

Deno.test("a plain file naming pid 1 is not taken for init's without an identity option", async () => {
  await using tmp = tempDir();
  const path = tmp.join("init.pid");
  Deno.writeTextFileSync(path, "1\n"); // written now: init started long before
  const st = await runCli(["status", "--pidfile", path, "--json"]);
  assert.equal(st.code, 1, st.stderr);
  assert.equal(JSON.parse(st.stdout).state, "stale");
  assert.match(JSON.parse(st.stdout).reason, /pid 1 is this namespace's init/);
  const stop = await runCli(["stop", "--pidfile", path]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /nothing signalled/);
  const comm = Deno.readTextFileSync("/proc/1/comm").trim();
  const named = await runCli(["status", "--pidfile", path, "--name", comm, "--json"]);
  assert.equal(named.code, 0, named.stderr);
  assert.deepEqual(JSON.parse(named.stdout).verifiedBy, ["start-time", "name"]);
});
