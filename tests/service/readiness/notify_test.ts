/**
 * sd_notify readiness (`--ready-notify`), the watchdog, and `--ready-timeout`
 * with real clients: shell services using systemd-notify, redis-server
 * `--supervised systemd`, a Deno fixture that floods and sends junk, and a
 * hostile sender outside the tree.
 */
import assert from "node:assert/strict";
import { alive, FIXTURES, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";
import { findDaemon, freePort, redisArgs, skipReason } from "../../_util/real_daemons.ts";

const SENDER = ["deno", "run", "-A", `${FIXTURES}/notify_sender.ts`];
const isRoot = Deno.uid() === 0;

/**
 * systemd-notify sends with its parent's credentials only as root; as
 * another user it sends its own PID, which may be gone (not verifiable as a
 * member) by the time the datagram is read.
 */
function notifySkip(test: string): string | undefined {
  return skipReason(test, "systemd-notify") ??
    (isRoot ? undefined : `skipped: ${test}: systemd-notify vouches for its parent only as root`);
}

async function logText(svc: Services, name: string): Promise<string> {
  return await Deno.readTextFile(svc.dir.join(`${name}.log`)).catch(() => "");
}

/**
 * Nothing of the service is left: no process with its marker, no PID file,
 * no socket. A supervisor that ended by itself writes its final state
 * before it releases (and removes) the PID file and the socket, so give it
 * a moment for that last step.
 */
async function assertNothingLeft(svc: Services, name: string): Promise<void> {
  const gone = (file: string) => {
    try {
      Deno.statSync(svc.dir.join(file));
      return false;
    } catch {
      return true;
    }
  };
  await waitUntil(() => gone(`${name}.pid`) && gone(`${name}.notify`), {
    timeoutMs: 10_000,
    what: "the supervisor to release the PID file and the socket",
  }).catch(() => {});
  assert.deepEqual(markedProcesses(name), [], "processes left");
  assert.ok(gone(`${name}.pid`), "PID file left");
  assert.ok(gone(`${name}.notify`), "notify socket left");
}

Deno.test("--ready-notify: a shell service using systemd-notify; start waits for READY=1, status shows STATUS=", async () => {
  const skip = notifySkip("systemd-notify service");
  if (skip) return console.log(skip);
  await using svc = new Services();
  const name = uniqueName("nfy");
  const t0 = performance.now();
  const state = await svc.start(name, ["--ready-notify"], [
    "sh",
    "-c",
    'sleep 0.7; touch "$0.ready-marker"; systemd-notify --no-block --ready --status="warmed up"; exec sleep 60',
    svc.dir.join(name),
  ]);
  // start returned after READY=1, so the marker written just before it is there.
  assert.ok(performance.now() - t0 >= 600, "start returned before the service was ready");
  await Deno.stat(svc.dir.join(`${name}.ready-marker`));
  assert.equal(state.phase, "running");
  assert.equal(state.notifySocket, svc.dir.join(`${name}.notify`));
  const sock = await Deno.stat(state.notifySocket!);
  assert.ok(sock.isSocket);
  assert.equal(sock.mode! & 0o777, 0o600);
  await waitUntil(async () => (await svc.state(name)).statusText === "warmed up", {
    what: "STATUS= in the state",
  });
  const text = await svc.cli(["status", name]);
  assert.match(text.stdout, /status:\s+warmed up/);
  const json = JSON.parse((await svc.cli(["status", name, "--json"])).stdout);
  assert.equal(json.statusText, "warmed up");
  const list = JSON.parse((await svc.cli(["list", "--json"])).stdout);
  assert.equal(list.services[0].statusText, "warmed up");
  assert.match(await logText(svc, name), /is ready \(READY=1 from pid \d+\)/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("--ready-notify: redis-server --supervised systemd answers PONG as soon as start returns", async () => {
  const skip = skipReason("redis sd_notify", "redis-server", "redis-cli");
  if (skip) return console.log(skip);
  await using svc = new Services();
  const name = uniqueName("redis");
  const port = freePort();
  const dir = svc.dir.join("redis-data");
  await Deno.mkdir(dir);
  await svc.start(name, ["--ready-notify"], [
    findDaemon("redis-server")!,
    ...redisArgs(dir, port),
    "--supervised",
    "systemd",
  ]);
  const ping = await new Deno.Command(findDaemon("redis-cli")!, {
    args: ["-p", String(port), "ping"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(ping.stdout).trim(), "PONG");
  const status = await svc.cli(["status", name]);
  assert.match(status.stdout, /status:\s+Ready to accept connections/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("--ready-notify: READY=1 from a process outside the tree is ignored; start times out, nothing left", async () => {
  const skip = notifySkip("hostile sender");
  if (skip) return console.log(skip);
  await using svc = new Services();
  const name = uniqueName("hostile");
  const socket = svc.dir.join(`${name}.notify`);
  const starting = svc.cli([
    "start",
    name,
    "--ready-notify",
    "--ready-timeout",
    "3s",
    "--",
    "sleep",
    "60",
  ]);
  await waitUntil(() => {
    try {
      return Deno.statSync(socket).isSocket === true;
    } catch {
      return false;
    }
  }, { what: "the notify socket" });
  // The test process is no member of the tree: root could read the path from /proc/PID/environ.
  for (let i = 0; i < 3; i++) {
    await new Deno.Command(findDaemon("systemd-notify")!, {
      args: ["--no-block", "--ready", "--status=pwned"],
      env: { NOTIFY_SOCKET: socket },
    }).output();
  }
  const r = await starting;
  await svc.recordAll();
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /not ready within 3\.0 s: no READY=1 arrived on the notify socket/);
  const log = await logText(svc, name);
  assert.match(log, /ignored a notify message from pid \d+: not a process of/);
  assert.equal(log.match(/ignored a notify message/g)!.length, 1, "logged once per sender");
  assert.doesNotMatch(log, /is ready/);
  assert.equal((await svc.state(name)).statusText, undefined);
  await assertNothingLeft(svc, name);
});

Deno.test("--ready-timeout: a service that never gets ready fails the start with exit 1, the reason and the last log lines", async () => {
  await using svc = new Services();
  const name = uniqueName("never");
  const r = await svc.cli([
    "start",
    name,
    "--ready-notify",
    "--ready-timeout",
    "1s",
    "--",
    "sh",
    "-c",
    "echo still warming up; sleep 60 & sleep 60",
  ]);
  await svc.recordAll();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not ready within 1\.0 s/);
  assert.match(r.stderr, /still warming up/);
  assert.equal((await svc.state(name)).phase, "failed");
  await assertNothingLeft(svc, name);
});

Deno.test("--ready-notify with --ready-file: conditions combine, all must hold", async () => {
  await using svc = new Services();
  const name = uniqueName("both");
  const file = svc.dir.join("ready.flag");
  // READY=1 comes at once; the file only after 0.5 s: start must wait for both.
  const t0 = performance.now();
  await svc.start(name, ["--ready-notify", "--ready-file", file], [
    "sh",
    "-c",
    `${SENDER.join(" ")} ready & sleep 0.5; touch ${file}; exec sleep 60`,
  ]);
  assert.ok(performance.now() - t0 >= 450, "start did not wait for the file");
  assert.match(await logText(svc, name), /is ready \(READY=1/);
  // ... and the file alone is not enough either.
  const name2 = uniqueName("both");
  const file2 = svc.dir.join("ready2.flag");
  const r = await svc.cli([
    "start",
    name2,
    "--ready-notify",
    "--ready-file",
    file2,
    "--ready-timeout",
    "1s",
    "--",
    "sh",
    "-c",
    `touch ${file2}; exec sleep 60`,
  ]);
  await svc.recordAll();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no READY=1 arrived/);
  assert.doesNotMatch(r.stderr, /did not appear/);
});

Deno.test("notify: junk, oversized datagrams and a flood of 100 000 messages from a member; status answers, stop works", async () => {
  await using svc = new Services();
  const name = uniqueName("flood");
  await svc.start(name, ["--ready-notify"], [
    ...SENDER,
    "malformed",
    "oversized",
    "ready",
    "flood:100000",
    "status:after the flood",
    "stay",
  ]);
  const sup = (await svc.state(name)).supervisor.pid;
  // During the flood: status answers (a generous bound catches a stall).
  for (let i = 0; i < 3; i++) {
    const r = await svc.cli(["status", name, "--json"], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).state, "running");
  }
  await waitUntil(async () => (await svc.state(name)).statusText === "after the flood", {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: "the flood to be read",
  });
  const log = await logText(svc, name);
  assert.match(log, /sent 100000/);
  assert.match(log, /ignored a notify message over 4096 bytes/);
  assert.match(log, /ignored MAINPID=x/);
  assert.equal(log.split("\n").filter((l) => l.startsWith("[pidkit]")).length < 10, true, log);
  assert.ok(alive(sup));
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("notify: a flood during start-up does not delay stop", async () => {
  await using svc = new Services();
  const name = uniqueName("floodstop");
  await svc.start(name, ["--ready-notify"], [...SENDER, "ready", "flood:1000000", "stay"]);
  const t0 = performance.now();
  const r = await svc.cli(["stop", name], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(performance.now() - t0 < 15_000);
  await assertNothingLeft(svc, name);
});

Deno.test("notify: RELOADING=1 and STOPPING=1 show as phases; READY=1 ends a reload; MAINPID= only for a member", async () => {
  await using svc = new Services();
  const name = uniqueName("phases");
  // Each phase lasts until the test has seen it and creates the next go-file:
  // a slow machine cannot make the test miss a phase.
  const go = (n: number) => svc.dir.join(`go${n}`);
  await svc.start(name, ["--ready-notify"], [
    "sh",
    "-c",
    `sleep 60 & child=$!; ${SENDER.join(" ")} ready send:RELOADING=1\\\\nMONOTONIC_USEC=1 ` +
    `await:${go(1)} ready send:MAINPID=1 send:MAINPID=$child await:${go(2)} send:STOPPING=1 ` +
    `sleep:100000`,
  ]);
  const phase = async () => JSON.parse((await svc.cli(["status", name, "--json"])).stdout).state;
  await waitUntil(async () => await phase() === "reloading", { what: "reloading" });
  assert.equal((await svc.cli(["status", name])).code, 0, "reloading counts as running");
  await Deno.writeTextFile(go(1), "");
  await waitUntil(async () => await phase() === "running", { what: "READY=1 to end the reload" });
  await waitUntil(async () => (await svc.state(name)).mainPid !== undefined, { what: "MAINPID" });
  const state = await svc.state(name);
  const main = state.mainPid!;
  assert.notEqual(main, state.tree!.pid);
  assert.equal((await Deno.readTextFile(svc.dir.join(`${name}.pid`))).trim(), String(main));
  await Deno.writeTextFile(go(2), "");
  await waitUntil(async () => await phase() === "stopping", { what: "STOPPING=1" });
  const log = await logText(svc, name);
  assert.match(log, /ignored MAINPID=1 from pid/);
  assert.match(log, /is reloading \(RELOADING=1/);
  assert.match(log, /finished reloading \(READY=1\)/);
  assert.match(log, /is stopping \(STOPPING=1/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("--watchdog: no WATCHDOG=1 in time: SIGABRT, the tree stopped, restarted as a failure", async () => {
  await using svc = new Services();
  const name = uniqueName("dog");
  const marker = svc.dir.join("runs");
  // 1.5 s: each ping is a `deno run` (60 ms idle, 450 ms seen under a loaded parallel suite).
  await svc.start(name, ["--ready-notify", "--watchdog", "1500ms", "--restart", "on-failure"], [
    "sh",
    "-c",
    // The first run pings three times and then hangs; the second keeps pinging.
    `echo "usec=$WATCHDOG_USEC pid=$WATCHDOG_PID self=$$"; echo run >> ${marker}; ` +
    `if [ "$(wc -l < ${marker})" -gt 1 ]; then n=1000; else n=3; fi; ` +
    `${SENDER.join(" ")} ready; i=0; while [ $i -lt $n ]; do i=$((i+1)); ` +
    `${SENDER.join(" ")} send:WATCHDOG=1; sleep 0.1; done; sleep 60`,
  ]);
  await waitUntil(async () => (await svc.state(name)).restarts >= 1, {
    timeoutMs: 20_000,
    what: "a restart after the watchdog fired",
  });
  const log = await logText(svc, name);
  assert.match(log, /watchdog timeout for .*: no WATCHDOG=1 within 1500 ms/);
  assert.match(log, /exited with signal SIGABRT/);
  const env = /usec=(\d+) pid=(\d+) self=(\d+)/.exec(log)!;
  assert.equal(env[1], "1500000");
  assert.equal(env[2], env[3], "WATCHDOG_PID is the main process");
  // The second run keeps pinging: no second timeout for a while.
  await new Promise((r) => setTimeout(r, 3000));
  const after = await logText(svc, name);
  assert.equal(after.match(/watchdog timeout/g)!.length, 1, after);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("--watchdog: WATCHDOG=trigger fires at once", async () => {
  await using svc = new Services();
  const name = uniqueName("trig");
  await svc.start(name, ["--ready-notify", "--watchdog", "60s"], [
    ...SENDER,
    "ready",
    "sleep:300",
    "send:WATCHDOG=trigger",
    "stay",
  ]);
  await waitUntil(async () => (await svc.state(name)).phase === "exited", {
    what: "the watchdog to stop it",
  });
  const s = await svc.state(name);
  assert.equal(s.lastExit?.signal, "SIGABRT");
  assert.match(await logText(svc, name), /WATCHDOG=trigger/);
  await assertNothingLeft(svc, name);
});

Deno.test("--ready-notify: a run dir too long for sun_path gets a short socket path, said in the log", async () => {
  await using svc = new Services();
  const deep = svc.dir.join(`${"d".repeat(60)}/${"e".repeat(60)}`);
  await Deno.mkdir(deep, { recursive: true, mode: 0o700 });
  const name = uniqueName("long");
  const r = await svc.cli([
    "start",
    name,
    "--dir",
    deep,
    "--ready-notify",
    "--",
    ...SENDER,
    "ready",
    "stay",
  ]);
  const state = JSON.parse(await Deno.readTextFile(`${deep}/${name}.json`));
  svc.record(state);
  assert.equal(r.code, 0, r.stderr);
  assert.match(state.notifySocket, /^\/tmp\/pidkit-n-\d+\/[0-9a-f]{24}\/notify$/);
  assert.match(
    await Deno.readTextFile(`${deep}/${name}.log`),
    /too long for a socket address; NOTIFY_SOCKET is \/tmp\//,
  );
  assert.equal((await svc.cli(["stop", name, "--dir", deep])).code, 0);
  await assert.rejects(() => Deno.stat(state.notifySocket), "fallback socket left");
  await assert.rejects(
    () => Deno.stat(state.notifySocket.slice(0, -"/notify".length)),
    "its directory left",
  );
});

Deno.test({
  name: "--ready-notify --user: the socket belongs to the service's user, mode 0600",
  ignore: !isRoot,
  async fn() {
    await using svc = new Services();
    // A run dir the service's user may search (it connects to DIR/NAME.notify).
    await Deno.chmod(svc.dir.path, 0o711);
    const name = uniqueName("owned");
    const socket = svc.dir.join(`${name}.notify`);
    const starting = svc.cli([
      "start",
      name,
      "--user",
      "65534",
      "--ready-notify",
      "--ready-timeout",
      "2s",
      "--",
      "sleep",
      "60",
    ]);
    let info: Deno.FileInfo | undefined;
    await waitUntil(() => {
      try {
        info = Deno.statSync(socket);
        return info.isSocket === true;
      } catch {
        return false;
      }
    }, { what: "the notify socket" });
    assert.equal(info!.uid, 65534);
    assert.equal(info!.mode! & 0o777, 0o600);
    const r = await starting;
    await svc.recordAll();
    assert.equal(r.code, 1);
    await assertNothingLeft(svc, name);
  },
});

Deno.test("EXTEND_TIMEOUT_USEC= pushes the ready deadline out", async () => {
  await using svc = new Services();
  const name = uniqueName("extend");
  // Ready after 2.5 s with a 1 s timeout: only the extension lets it through.
  await svc.start(name, ["--ready-notify", "--ready-timeout", "1s"], [
    ...SENDER,
    "send:EXTEND_TIMEOUT_USEC=5000000",
    "sleep:2500",
    "ready",
    "stay",
  ]);
  assert.match(await logText(svc, name), /is ready/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("--ready-notify after a restart: starting until READY=1; a restart that never gets ready is a failure", async () => {
  await using svc = new Services();
  const name = uniqueName("again");
  const runs = svc.dir.join("runs");
  await svc.start(name, [
    "--ready-notify",
    "--ready-timeout",
    "1s",
    "--restart",
    "on-failure",
    "--max-restarts",
    "2",
    "--restart-delay",
    "100ms",
  ], [
    "sh",
    "-c",
    // Run 1: ready, then fails. Run 2: ready after 0.5 s, then fails. Run 3: never ready.
    `echo run >> ${runs}; n=$(wc -l < ${runs}); ` +
    `if [ "$n" = 1 ]; then ${SENDER.join(" ")} ready; sleep 0.3; exit 3; fi; ` +
    `if [ "$n" = 2 ]; then sleep 0.5; ${SENDER.join(" ")} ready; sleep 0.5; exit 3; fi; ` +
    "exec sleep 60",
  ]);
  const phases = new Set<string>();
  await waitUntil(async () => {
    const s = await svc.state(name);
    if (s.restarts === 1) phases.add(s.phase);
    return s.phase === "failed";
  }, { timeoutMs: 30_000, intervalMs: 20, what: "the service to give up" });
  assert.ok(phases.has("starting"), `restart 1 was starting before READY=1: ${[...phases]}`);
  assert.ok(phases.has("running"), `restart 1 became running: ${[...phases]}`);
  const log = await logText(svc, name);
  assert.match(log, /not ready within 1\.0 s: no READY=1 arrived on the notify socket/);
  assert.match(log, /giving up on .* after 2 restarts/);
  await assertNothingLeft(svc, name);
});

Deno.test("an adopted service keeps its notify socket and watchdog: STATUS= reaches the new supervisor, pings keep it alive", async () => {
  await using svc = new Services();
  const name = uniqueName("adoptdog");
  const ping = `${SENDER.join(" ")} send:WATCHDOG=1 send:STATUS=ping-$i`;
  const first = await svc.start(name, ["--ready-notify", "--watchdog", "1s"], [
    "sh",
    "-c",
    `${SENDER.join(" ")} ready; i=0; while :; do i=$((i+1)); ${ping}; sleep 0.2; done`,
  ]);
  Deno.kill(first.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(first.supervisor.pid), { what: "the supervisor to die" });
  const adopt = await svc.cli(["start", name, "--", "true"]);
  assert.match(adopt.stderr, /adopted it/);
  const adopted = await svc.state(name);
  assert.notEqual(adopted.supervisor.pid, first.supervisor.pid);
  const seen = async () => JSON.parse((await svc.cli(["status", name, "--json"])).stdout);
  const before = (await seen()).statusText;
  const t0 = Date.now();
  // STATUS= moves on through the new socket (however slowly the pings come on a loaded machine)...
  await waitUntil(async () => (await seen()).statusText !== before, {
    what: "a STATUS= through the new socket",
    timeoutMs: 30_000,
  });
  // ...and three watchdog periods after the adoption it still runs.
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + 3000 - Date.now())));
  const now = await seen();
  assert.equal(now.state, "running");
  assert.equal(now.pid, first.tree!.pid);
  assert.notEqual(now.statusText, before);
  assert.doesNotMatch(await logText(svc, name), /watchdog timeout/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  await assertNothingLeft(svc, name);
});

Deno.test("a run dir too long for sun_path: an adopted --watchdog service pings the same short socket, nothing aborts it", async () => {
  await using svc = new Services();
  const deep = svc.dir.join(`${"d".repeat(60)}/${"e".repeat(60)}`);
  await Deno.mkdir(deep, { recursive: true, mode: 0o700 });
  const name = uniqueName("longdog");
  const cli = (args: string[]) => svc.cli([args[0], "--dir", deep, ...args.slice(1)]);
  const ping = `${SENDER.join(" ")} send:WATCHDOG=1 send:STATUS=ping-$i`;
  const r = await cli([
    "start",
    name,
    "--ready-notify",
    "--ready-timeout",
    "20s",
    "--watchdog",
    "1s",
    "--",
    "sh",
    "-c",
    `${SENDER.join(" ")} ready; i=0; while :; do i=$((i+1)); ${ping}; sleep 0.2; done`,
  ]);
  const stateOf = async () => JSON.parse(await Deno.readTextFile(`${deep}/${name}.json`));
  const first = await stateOf();
  svc.record(first);
  const log = () => Deno.readTextFile(`${deep}/${name}.log`).catch(() => "(no log)");
  // A READY=1 lost shows as a clear `not ready` (the ready timeout), not as runCli's kill at 30 s.
  if (r.code !== 0) assert.fail(`pidkit start exited ${r.code}: ${r.stderr}\nlog:\n${await log()}`);
  assert.match(first.notifySocket, /^\/tmp\/pidkit-n-/);
  Deno.kill(first.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(first.supervisor.pid), { what: "the supervisor to die" });
  const adopt = await cli(["start", name, "--", "true"]);
  assert.match(adopt.stderr, /adopted it/);
  const adopted = await stateOf();
  svc.record(adopted);
  assert.notEqual(adopted.supervisor.pid, first.supervisor.pid);
  assert.equal(adopted.notifySocket, first.notifySocket, "rebound at the same path");
  const pings = async () => {
    const s = JSON.parse((await cli(["status", name, "--json"])).stdout);
    return { ...s, n: Number(/ping-(\d+)/.exec(s.statusText ?? "")?.[1] ?? 0) };
  };
  const before = await pings();
  // Ten pings (2 s, two watchdog periods) through the new socket: still the same process.
  await waitUntil(async () => (await pings()).n >= before.n + 10, {
    timeoutMs: 60_000,
    what: "ten more pings to reach the new supervisor",
  });
  const now = await pings();
  assert.equal(now.state, "running");
  assert.equal(now.pid, first.tree.pid);
  assert.doesNotMatch(await log(), /watchdog timeout/);
  assert.equal((await cli(["stop", name])).code, 0);
  await assert.rejects(() => Deno.stat(first.notifySocket), "socket left");
});
