// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are written and read with single synchronous calls on purpose (a step must not yield between writing a file and setting its time)
/**
 * The real thing: Debian's nginx and redis-server, each on 127.0.0.1 and a
 * free port with every file in a temp dir, ended by the test by recorded
 * PID. Daemonized nginx by its unlocked PID file (status, stop with and
 * without --exec, --exec of another program refused, a reused PID left
 * alone), and nginx and `redis-server --daemonize yes` as --forking
 * services (main PID, SIGKILL of the main process -> old workers gone and
 * a new master serving, stop leaves nothing).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  acceptsTcp,
  findDaemon,
  freePort,
  nginxConfig,
  redisArgs,
  skipReason,
} from "../_util/real_daemons.ts";
import { alive, Reaper, runCli, tempDir, waitUntil } from "../_util/helpers.ts";
import { writeOldFile } from "../_util/legacy_helpers.ts";
import { markedProcesses, Services, uniqueName } from "../_util/service_dir.ts";
import { childrenOf } from "../_util/process_view.ts";

const NGINX = findDaemon("nginx");
const REDIS = findDaemon("redis-server");
const nginxSkip = skipReason("real nginx tests", "nginx");
const redisSkip = skipReason("real redis tests", "redis-server");
if (nginxSkip) console.log(nginxSkip);
if (redisSkip) console.log(redisSkip);

async function readPid(path: string): Promise<number> {
  await waitUntil(() => {
    try {
      return /^\d+\n$/.test(Deno.readTextFileSync(path));
    } catch {
      return false;
    }
  }, { timeoutMs: 10_000 });
  return Number(Deno.readTextFileSync(path));
}

Deno.test({
  name:
    "nginx daemonized: status/stop by its unlocked PID file, --exec checked, a reused PID left alone",
  ignore: nginxSkip !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const port = freePort();
    const ng = nginxConfig(tmp.path, port, { workers: 2 });
    const run = await new Deno.Command(NGINX!, { args: ["-c", ng.conf, "-p", ng.prefix] }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const master = await readPid(ng.pidFile);
    reaper.pid(master);
    await waitUntil(() => childrenOf(master).length === 2);
    const workers = childrenOf(master);
    for (const w of workers) reaper.pid(w);
    assert.ok(await acceptsTcp(port));

    const st = await runCli(["status", "--pidfile", ng.pidFile, "--json"]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.equal(JSON.parse(st.stdout).locked, false);
    const withExec = await runCli(["status", "--pidfile", ng.pidFile, "--exec", NGINX!]);
    assert.equal(withExec.code, 0, withExec.stdout);
    const wrong = await runCli(["stop", "--pidfile", ng.pidFile, "--exec", REDIS ?? "/bin/sh"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /not that program: pid \d+ runs .*nginx, not .*; nothing signalled/);
    assert.ok(alive(master) && workers.every(alive) && await acceptsTcp(port));

    const stop = await runCli(["stop", "--pidfile", ng.pidFile, "--exec", NGINX!, "--json"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(JSON.parse(stop.stdout).survivors, []);
    assert.ok(!alive(master) && !workers.some(alive), "master and workers gone");
    assert.equal(await acceptsTcp(port), false);

    // The same file, now naming a live stranger that started after it was written.
    const stranger = reaper.spawn(["sleep", "1000"]);
    writeOldFile(ng.pidFile, `${stranger.pid}\n`);
    const reused = await runCli(["stop", "--pidfile", ng.pidFile]);
    assert.equal(reused.code, 0);
    assert.match(reused.stdout, /the PID was reused; nothing signalled/);
    const plain = await runCli(["status", "--pidfile", ng.pidFile]);
    assert.equal(plain.code, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(alive(stranger.pid), "the stranger lives");
  },
});

Deno.test({
  name:
    "nginx as a --forking service: main PID, SIGKILL of the master -> old workers gone, new master serving",
  ignore: nginxSkip !== undefined,
  async fn() {
    await using s = new Services();
    const port = freePort();
    const ng = nginxConfig(s.dir.path, port, { workers: 2 });
    const name = uniqueName("nginx");
    await s.start(name, [
      "--forking",
      "--main-pidfile",
      ng.pidFile,
      "--restart",
      "on-failure",
      "--restart-delay",
      "50ms",
    ], [NGINX!, "-c", ng.conf, "-p", ng.prefix]);
    const master = Number(Deno.readTextFileSync(ng.pidFile));
    s.pid(master);
    await waitUntil(() => childrenOf(master).length === 2);
    const workers = childrenOf(master);
    for (const w of workers) s.pid(w);
    const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    assert.equal(st.pid, master);
    assert.ok(await acceptsTcp(port));

    Deno.kill(master, "SIGKILL");
    let next = 0;
    await waitUntil(async () => {
      const again = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
      next = again.pid ?? 0;
      return again.state === "running" && next !== master && again.restarts === 1;
    }, { timeoutMs: 20_000 });
    s.pid(next);
    await s.recordAll();
    assert.ok(!workers.some(alive), "the old workers went before the new master started");
    await waitUntil(() => acceptsTcp(port), { timeoutMs: 10_000 });
    for (const w of childrenOf(next)) s.pid(w);

    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(next), "the new master is gone");
    assert.equal(await acceptsTcp(port), false);
    assert.deepEqual(markedProcesses(name), []);
  },
});

Deno.test({
  name: "redis-server --daemonize yes as a --forking service: main PID, restart, stop",
  ignore: redisSkip !== undefined,
  async fn() {
    await using s = new Services();
    const port = freePort();
    const pidFile = s.dir.join("redis.pid");
    const name = uniqueName("redis");
    await s.start(name, [
      "--forking",
      "--main-pidfile",
      pidFile,
      "--restart",
      "on-failure",
      "--restart-delay",
      "50ms",
    ], [REDIS!, ...redisArgs(s.dir.path, port, pidFile), "--daemonize", "yes"]);
    const main = Number(Deno.readTextFileSync(pidFile));
    s.pid(main);
    const st = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    assert.equal(st.pid, main);
    await waitUntil(() => acceptsTcp(port));

    Deno.kill(main, "SIGKILL");
    let next = 0;
    await waitUntil(async () => {
      const again = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
      next = again.pid ?? 0;
      return again.state === "running" && next !== main && again.restarts === 1;
    }, { timeoutMs: 20_000 });
    s.pid(next);
    await s.recordAll();
    await waitUntil(() => acceptsTcp(port), { timeoutMs: 10_000 });

    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(next));
    assert.equal(await acceptsTcp(port), false);
    assert.deepEqual(markedProcesses(name), []);
  },
});

Deno.test({
  name:
    "nginx as a --forking service without --main-pidfile (cgroup tier): the master is guessed; status, list, signal and stop name it, also once orphaned",
  ignore: nginxSkip !== undefined || Deno.uid() !== 0,
  async fn() {
    await using s = new Services();
    const port = freePort();
    const ng = nginxConfig(s.dir.path, port, { workers: 2 });
    const name = uniqueName("nginxguess");
    const state = await s.start(
      name,
      ["--forking", "--tracking", "cgroup"],
      [NGINX!, "-c", ng.conf, "-p", ng.prefix],
    );
    if (state.tree?.tracking !== "cgroup") {
      console.log("skipped: no writable cgroup2 here; nginx escapes the group tier");
      await s.cli(["stop", name]);
      return;
    }
    const master = await readPid(ng.pidFile);
    s.pid(master);
    for (const w of childrenOf(master)) s.pid(w);
    assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${master}\n`);
    const pidOf = async (args: string[]) => JSON.parse((await s.cli(args)).stdout);
    assert.equal((await pidOf(["status", name, "--json"])).pid, master);
    const listed = (await pidOf(["list", "--json"])).services;
    assert.equal(listed.find((x: { name: string }) => x.name === name).pid, master);
    assert.equal((await pidOf(["signal", name, "CONT", "--json"])).pid, master);
    Deno.kill(state.supervisor.pid, "SIGKILL");
    await waitUntil(async () => (await pidOf(["status", name, "--json"])).state === "orphaned");
    assert.equal((await pidOf(["status", name, "--json"])).pid, master);
    const stop = await s.cli(["stop", name, "--json"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(JSON.parse(stop.stdout).pid, master);
    assert.ok(!alive(master));
    assert.equal(await acceptsTcp(port), false);
  },
});
