// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads small files (PID files, logs) between steps; nothing else runs meanwhile
/**
 * A `--forking` service whose supervisor was SIGKILLed is adopted by the
 * next one (issue 19): the same main process, `running`, its PID file
 * naming the main PID; the adopted main process followed (its death
 * restarts the service, never two at once) and stopped with its whole
 * tree; in both tracking tiers, from `start`, from another service's start
 * and from `up`; with a guessed main process; a daemon the group tier
 * cannot see (it left the session and cleared its environment); and one
 * killed during its start.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, hasProgram, tempDir, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";
import { childrenOf } from "../../_util/process_view.ts";
import { trackingTiers } from "../../_util/tiers.ts";

/** A leader that forks a "master" (a shell with one sleeping worker) writing its PID to `main`, and exits 0. */
function forkingCommand(main: string, before = ""): string[] {
  return ["sh", "-c", `${before}sh -c 'sleep 1000 & echo $$ > ${main}; wait' & exit 0`];
}

const tiers = await trackingTiers("the adopted --forking tests");

/** SIGKILL the run directory's supervisor and wait for it to be gone. */
async function killSupervisor(s: Services): Promise<number> {
  const old = s.supervisorPid()!;
  assert.ok(old !== undefined);
  Deno.kill(old, "SIGKILL");
  await waitUntil(() => !alive(old), { what: "the supervisor to die" });
  return old;
}

async function status(s: Services, name: string): Promise<Record<string, unknown>> {
  return JSON.parse((await s.cli(["status", name, "--json"])).stdout);
}

/** The trees of `name` alive now: the distinct markers (`NAME:NONCE`, one per spawn) its live processes carry. */
function trees(name: string): Set<string> {
  const out = new Set<string>();
  for (const pid of markedProcesses(name)) {
    try {
      const env = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
      const marker = env.find((kv) => kv.startsWith(`PIDKIT_SERVICE=${name}:`));
      if (marker) out.add(marker);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

for (const tier of tiers) {
  Deno.test(`adopted --forking --main-pidfile (${tier} tier): same main PID, running, stop ends the whole tree`, async () => {
    await using s = new Services();
    const name = uniqueName("afork");
    const main = s.dir.join("daemon.pid");
    const options = ["--forking", "--main-pidfile", main, "--tracking", tier];
    await s.start(name, options, forkingCommand(main));
    const first = Number(Deno.readTextFileSync(main));
    s.pid(first);
    const worker = childrenOf(first)[0];
    s.pid(worker);
    const old = await killSupervisor(s);
    assert.equal((await status(s, name)).state, "orphaned");

    // A start of its name adopts it: already running, never a second tree.
    const r = await s.cli(["start", name, ...options, "--", ...forkingCommand(main)]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`already running \\(pid ${first}\\).*adopted it`));
    const st = await status(s, name);
    assert.equal(st.state, "running", JSON.stringify(st));
    assert.equal(st.pid, first, "the same main PID");
    assert.notEqual(st.supervisorPid, old);
    assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${first}\n`);
    const record = await s.state(name);
    assert.equal(record.mainPid, first);
    assert.ok(record.mainStartTime !== undefined, "the main process's start time is recorded");
    assert.ok(alive(first) && alive(worker));
    assert.equal(markedProcesses(name).length, 2, "the master and its worker, nothing more");
    assert.equal(trees(name).size, 1);
    const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
    assert.match(log, new RegExp(`adopted ${name} \\(pid ${first}\\)`));

    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(first) && !alive(worker), "stop ends the main process and its worker");
    assert.deepEqual(markedProcesses(name), []);
  });

  Deno.test(`adopted --forking --restart always (${tier} tier): its main process dies, a new one starts, never two at once`, async () => {
    await using s = new Services();
    const name = uniqueName("arest");
    const main = s.dir.join("daemon.pid");
    await s.start(name, [
      "--forking",
      "--main-pidfile",
      main,
      "--tracking",
      tier,
      "--restart",
      "always",
      "--restart-delay",
      "50ms",
    ], forkingCommand(main));
    const first = Number(Deno.readTextFileSync(main));
    s.pid(first);
    const worker = childrenOf(first)[0];
    s.pid(worker);
    await killSupervisor(s);
    // Another service's start brings up a supervisor, which adopts every orphan first.
    const other = uniqueName("other");
    await s.start(other, [], ["sleep", "1000"]);
    const st = await status(s, name);
    assert.equal(st.state, "running", JSON.stringify(st));
    assert.equal(st.pid, first);

    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, trees(name).size);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    Deno.kill(first, "SIGKILL");
    await waitUntil(async () => {
      const again = await status(s, name);
      return again.state === "running" && again.pid !== first && again.restarts === 1;
    }, { timeoutMs: 30_000, what: "the adopted service restarted" });
    sampling = false;
    await sampler;
    await s.recordAll();
    assert.ok(!alive(worker), "the old worker was stopped before the restart");
    const second = Number(Deno.readTextFileSync(main));
    s.pid(second);
    assert.notEqual(second, first);
    assert.ok(alive(second));
    assert.equal((await status(s, name)).pid, second);
    assert.equal(most, 1, "never two trees at once");
    const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
    assert.match(log, new RegExp(`main pid ${first} exited`));

    for (const n of [name, other]) {
      const stop = await s.cli(["stop", n]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.deepEqual(markedProcesses(n), []);
    }
  });
}

Deno.test("adopted --forking without --main-pidfile: the guessed main process is kept", async () => {
  await using s = new Services();
  const name = uniqueName("aguess");
  const main = s.dir.join("daemon.pid");
  await s.start(name, ["--forking", "--tracking", "group"], forkingCommand(main));
  const first = Number(Deno.readTextFileSync(main));
  s.pid(first);
  assert.equal((await status(s, name)).pid, first, "guessed at the start");
  await killSupervisor(s);
  const other = uniqueName("other");
  await s.start(other, [], ["sleep", "1000"]);
  const st = await status(s, name);
  assert.equal(st.state, "running", JSON.stringify(st));
  assert.equal(st.pid, first);
  assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${first}\n`);
  for (const n of [name, other]) {
    assert.equal((await s.cli(["stop", n])).code, 0);
    assert.deepEqual(markedProcesses(n), []);
  }
});

Deno.test("adopted --forking, main process unknown: the PID file stays empty, the tree is followed and stopped", async () => {
  await using s = new Services();
  const name = uniqueName("aunknown");
  await s.start(name, ["--forking", "--tracking", "group"], [
    "sh",
    "-c",
    "sleep 1000 & sleep 1001 & exit 0",
  ]);
  await s.recordAll();
  const before = markedProcesses(name);
  for (const pid of before) s.pid(pid);
  assert.equal(before.length, 2);
  await killSupervisor(s);
  const other = uniqueName("other");
  await s.start(other, [], ["sleep", "1000"]);
  const st = await status(s, name);
  assert.equal(st.state, "running", JSON.stringify(st));
  assert.equal(st.pid, null, "no main process");
  assert.equal(st.mainUnknown, 2);
  assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), "", "never the exited leader");
  assert.deepEqual(markedProcesses(name).sort(), before.sort());
  for (const n of [name, other]) {
    assert.equal((await s.cli(["stop", n])).code, 0);
    assert.deepEqual(markedProcesses(n), []);
  }
});

Deno.test(
  "adopted --forking, group tier: a daemon that left the session and cleared its environment, by its recorded main process",
  { ignore: !hasProgram("setsid") },
  async () => {
    await using s = new Services();
    const name = uniqueName("aescape");
    const main = s.dir.join("escape.pid");
    // setsid + env -i: out of pidkit's session and without its marker, as nginx does.
    const daemon = `setsid env -i sh -c 'sleep 1000 & echo $$ > ${main}; wait'`;
    await s.start(name, [
      "--forking",
      "--main-pidfile",
      main,
      "--tracking",
      "group",
      "--restart",
      "always",
      "--restart-delay",
      "50ms",
    ], ["sh", "-c", `${daemon} &`]);
    const first = Number(Deno.readTextFileSync(main));
    s.pid(first);
    const worker = childrenOf(first)[0];
    s.pid(worker);
    await killSupervisor(s);
    assert.equal((await status(s, name)).state, "orphaned", "not stopped, not stale");
    const other = uniqueName("other");
    await s.start(other, [], ["sleep", "1000"]);
    const st = await status(s, name);
    assert.equal(st.state, "running", JSON.stringify(st));
    assert.equal(st.pid, first);
    // Followed: its death restarts it, its worker stopped first.
    Deno.kill(first, "SIGKILL");
    await waitUntil(async () => {
      const again = await status(s, name);
      return again.state === "running" && again.pid !== first && again.restarts === 1;
    }, { timeoutMs: 30_000, what: "the adopted daemon restarted" });
    assert.ok(!alive(worker), "the old worker was stopped before the restart");
    const second = Number(Deno.readTextFileSync(main));
    s.pid(second);
    const secondWorker = childrenOf(second)[0];
    s.pid(secondWorker);
    await waitUntil(async () => (await s.state(name)).mainPid === second, {
      what: "the new main process recorded",
    });
    // Orphaned again, a stop without any supervisor ends it too.
    await killSupervisor(s);
    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(second) && !alive(secondWorker), "stop ends the daemon and its worker");
    assert.equal((await s.cli(["stop", other])).code, 0);
  },
);

Deno.test("a --forking service whose supervisor was killed during its start: the adopter finishes the start", async () => {
  await using s = new Services();
  const name = uniqueName("amid");
  const main = s.dir.join("daemon.pid");
  // The leader forks only after a while: its supervisor is killed before.
  const starting = s.cli([
    "start",
    name,
    "--forking",
    "--main-pidfile",
    main,
    "--tracking",
    "group",
    "--ready-timeout",
    "60s",
    "--",
    ...forkingCommand(main, "sleep 1.5; "),
  ], { timeoutMs: 60_000 });
  await waitUntil(async () => {
    const r = await s.state(name).catch(() => undefined);
    return r?.phase === "starting" && r.tree !== undefined;
  }, { timeoutMs: 30_000, what: "the start under way" });
  const leader = (await s.state(name)).tree!.pid;
  assert.ok(alive(leader), "killed while the leader still runs");
  await killSupervisor(s);
  await starting;
  const other = uniqueName("other");
  await s.start(other, [], ["sleep", "1000"]);
  await waitUntil(async () => {
    const st = await status(s, name);
    return st.state === "running" && typeof st.pid === "number" && st.pid !== leader;
  }, { timeoutMs: 30_000, what: "the adopted start finished" });
  const first = Number(Deno.readTextFileSync(main));
  s.pid(first);
  assert.equal((await status(s, name)).pid, first);
  assert.equal(Deno.readTextFileSync(s.dir.join(`${name}.pid`)), `${first}\n`);
  assert.equal(markedProcesses(name).length, 2, "the master and its worker, nothing more");
  assert.equal(trees(name).size, 1);
  for (const n of [name, other]) {
    assert.equal((await s.cli(["stop", n])).code, 0);
    assert.deepEqual(markedProcesses(n), []);
  }
});

Deno.test("pidkit up after its supervisor was SIGKILLed: the --forking service is unchanged and running, not orphaned", async () => {
  await using s = new Services();
  using home = tempDir("pidkit-stack-");
  const fk = uniqueName("fk");
  const plain = uniqueName("plain");
  const main = home.join("fk.main");
  const file = home.join("pidkit.jsonc");
  Deno.writeTextFileSync(
    file,
    JSON.stringify({
      services: {
        [fk]: { cmd: `sleep 1000 & echo $! > ${main}`, forking: true, mainPidfile: main },
        [plain]: { cmd: ["sleep", "1000"] },
      },
    }),
  );
  const up = await s.cli(["up", "-c", file]);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  await s.recordAll();
  const daemon = Number(Deno.readTextFileSync(main));
  s.pid(daemon);
  await killSupervisor(s);
  const again = await s.cli(["up", "-c", file]);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  assert.match(again.stdout, new RegExp(`unchanged ${fk} \\(pid ${daemon}\\)`));
  assert.match(again.stdout, /nothing to do: 2 unchanged/);
  const list = JSON.parse((await s.cli(["list", "--json"])).stdout);
  const entry = list.services.find((e: { name: string }) => e.name === fk);
  assert.equal(entry?.state, "running", JSON.stringify(entry));
  assert.equal(entry.pid, daemon);
  assert.equal(markedProcesses(fk).length, 1, "one daemon, never started twice");
  const down = await s.cli(["down", "-c", file]);
  assert.equal(down.code, 0, down.stderr);
  assert.ok(!alive(daemon));
  assert.deepEqual(markedProcesses(fk), []);
});
