/**
 * The reading commands against real supervised services: `pidkit start`,
 * then status / list / ps / logs through restarts, an orphaned tree, and
 * `pidkit stop`. Each test has its own run dir and stops what it started.
 */
import assert from "node:assert/strict";
import { alive, CLI, Reaper, runCli, tempDir, waitUntil } from "../_util/helpers.ts";

type Status = {
  state: string;
  pid: number | null;
  supervisorPid: number | null;
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
};

async function statusJson(dir: string, name: string): Promise<[number, Status]> {
  const r = await runCli(["status", "--dir", dir, name, "--json"]);
  return [r.code, JSON.parse(r.stdout)];
}

Deno.test("life cycle: start -> status 0 -> list -> ps -> logs -> stop -> status 3", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const start = await runCli([
    "start",
    "--dir",
    dir,
    "web",
    "--",
    "sh",
    "-c",
    "echo hello from web; sleep 1000 & sleep 1001 & wait",
  ]);
  assert.equal(start.code, 0, start.stderr);
  const [code, s] = await statusJson(dir, "web");
  assert.equal(code, 0);
  assert.equal(s.state, "running");
  reaper.group(s.pid!);
  reaper.pid(s.supervisorPid!);
  assert.match(start.stdout, new RegExp(`started web \\(pid ${s.pid}\\)`));
  assert.ok(alive(s.supervisorPid!));

  await waitUntil(async () => {
    const j = JSON.parse((await runCli(["ps", "--dir", dir, "web", "--json"])).stdout);
    return j.processes?.length === 3;
  }, { what: "three processes in ps" });
  const ps = await runCli(["ps", "--dir", dir, "web"]);
  assert.match(ps.stdout, new RegExp(`^ *${s.pid} .* sh -c `, "m"));
  assert.match(ps.stdout, /^ *\d+ .* {3}sleep 1001$/m);

  const list = JSON.parse((await runCli(["list", "--dir", dir, "--json"])).stdout);
  assert.equal(list.services.length, 1);
  assert.equal(list.services[0].name, "web");
  assert.equal(list.services[0].pid, s.pid);
  assert.equal(list.services[0].processes, 3);
  assert.ok(list.services[0].memoryBytes > 0);

  await waitUntil(async () => {
    return (await runCli(["logs", "--dir", dir, "web"])).stdout.includes("hello from web\n");
  }, { what: "log line" });

  const stop = await runCli(["stop", "--dir", dir, "web"]);
  assert.equal(stop.code, 0, stop.stderr);
  const [after, s2] = await statusJson(dir, "web");
  assert.equal(after, 3);
  assert.equal(s2.state, "stopped");
  assert.ok(!alive(s.pid!));
});

Deno.test("restarts show in status and list; logs -f sees every start", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const follow = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "logs", "--dir", dir, "flappy", "-f"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  reaper.pid(follow.pid);
  let out = "";
  const reader = (async () => {
    for await (const c of follow.stdout.pipeThrough(new TextDecoderStream())) out += c;
  })();
  try {
    const start = await runCli([
      "start",
      "--dir",
      dir,
      "flappy",
      "--restart",
      "always",
      "--restart-delay",
      "50ms",
      "--ready-after",
      "0",
      "--",
      "sh",
      "-c",
      "echo run-$$; sleep 0.3; exit 3",
    ]);
    assert.equal(start.code, 0, start.stderr);
    await waitUntil(async () => (await statusJson(dir, "flappy"))[1].restarts >= 2, {
      what: "two restarts",
      timeoutMs: 20_000,
    });
    const [, s] = await statusJson(dir, "flappy");
    reaper.pid(s.supervisorPid!);
    const list = JSON.parse((await runCli(["list", "--dir", dir, "--json"])).stdout);
    assert.ok(list.services[0].restarts >= 2);
    const human = await runCli(["status", "--dir", dir, "flappy"], { env: { NO_COLOR: "1" } });
    assert.match(human.stdout, /last exit: +code 3 at /);
    await waitUntil(() => (out.match(/run-\d+/g) ?? []).length >= 3, {
      what: "three starts in -f",
    });
  } finally {
    await runCli(["stop", "--dir", dir, "flappy"]);
    follow.kill("SIGINT");
    assert.equal((await follow.status).code, 0);
    await reader;
  }
});

Deno.test("supervisor SIGKILLed: status says orphaned (exit 0), list and ps still see the tree", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const start = await runCli(["start", "--dir", dir, "orphan", "--", "sleep", "1000"]);
  assert.equal(start.code, 0, start.stderr);
  const [, s] = await statusJson(dir, "orphan");
  reaper.group(s.pid!);
  reaper.pid(s.pid!);
  Deno.kill(s.supervisorPid!, "SIGKILL");
  await waitUntil(async () => (await statusJson(dir, "orphan"))[1].state === "orphaned", {
    what: "orphaned",
  });
  const [code] = await statusJson(dir, "orphan");
  assert.equal(code, 0);
  const list = JSON.parse((await runCli(["list", "--dir", dir, "--json"])).stdout);
  assert.equal(list.services[0].state, "orphaned");
  assert.equal(list.services[0].processes, 1);
  const ps = await runCli(["ps", "--dir", dir, "orphan"]);
  assert.equal(ps.code, 0);
  assert.match(ps.stdout, new RegExp(`^ *${s.pid} .* sleep 1000$`, "m"));
  const stop = await runCli(["stop", "--dir", dir, "orphan"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(!alive(s.pid!));
  const [gone, s3] = await statusJson(dir, "orphan");
  assert.notEqual(gone, 0, JSON.stringify(s3));
});

Deno.test("supervisor SIGKILLed: a service that writes keeps running (no SIGPIPE); the next start adopts it and the log goes on without a gap", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const start = await runCli([
    "start",
    "--dir",
    dir,
    "chat",
    "--ready-after",
    "0",
    "--",
    "sh",
    "-c",
    "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.02; done",
  ]);
  assert.equal(start.code, 0, start.stderr);
  const [, s] = await statusJson(dir, "chat");
  reaper.group(s.pid!);
  reaper.pid(s.pid!);
  assert.ok((await Deno.lstat(`${dir}/chat.out`)).isFifo);
  const log = () => Deno.readTextFileSync(`${dir}/chat.log`);
  const ticks = () => [...log().matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
  await waitUntil(() => ticks().length >= 5, { what: "output in the log" });
  Deno.kill(s.supervisorPid!, "SIGKILL");
  // Gone for sure (a loaded machine may take its time), then the window:
  // with a pipe to the supervisor the next `echo` would die of SIGPIPE.
  await waitUntil(() => !alive(s.supervisorPid!), { what: "the supervisor to die" });
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(alive(s.pid!), "the service died with its supervisor");
  const [code, orphaned] = await statusJson(dir, "chat");
  assert.equal(code, 0);
  assert.equal(orphaned.state, "orphaned");
  const seenBefore = ticks().at(-1)!;

  // The next start (whatever command it names) adopts the orphan: no second instance.
  const again = await runCli(["start", "--dir", dir, "chat", "--", "sleep", "1000"]);
  assert.equal(again.code, 1, again.stderr);
  assert.match(
    again.stderr,
    /chat is already running \(pid \d+\); its supervisor was gone, a new one/,
  );
  const [code2, adopted] = await statusJson(dir, "chat");
  reaper.pid(adopted.supervisorPid!);
  assert.equal(code2, 0);
  assert.equal(adopted.state, "running");
  assert.equal(adopted.pid, s.pid);
  assert.notEqual(adopted.supervisorPid, s.supervisorPid);
  const record = JSON.parse(await Deno.readTextFile(`${dir}/chat.json`));
  assert.equal(record.command[0], "sh", "the recorded command goes on, not the new one");
  // What was written while nobody read is in the log, and every tick once, in order.
  await waitUntil(() => ticks().at(-1)! > seenBefore + 20, { what: "output after the adoption" });
  const all = ticks();
  assert.deepEqual(all, all.map((_, i) => i + 1));
  assert.match(log(), /adopted chat \(pid \d+\): its supervisor \(pid \d+\) was gone/);

  const stop = await runCli(["stop", "--dir", dir, "chat"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(!alive(s.pid!));
  await waitUntil(() => !alive(adopted.supervisorPid!), { what: "the idle supervisor to exit" });
  assert.throws(() => Deno.lstatSync(`${dir}/chat.out`), Deno.errors.NotFound);
  const [gone] = await statusJson(dir, "chat");
  assert.equal(gone, 3);
});

Deno.test("an adopted service that exits: its status is unknown, recorded so, and the supervisor ends", async () => {
  await using tmp = tempDir();
  await using reaper = new Reaper();
  const dir = tmp.path;
  const go = `${dir}/go`;
  const start = await runCli([
    "start",
    "--dir",
    dir,
    "ends",
    "--ready-after",
    "0",
    "--",
    "sh",
    "-c",
    `while [ ! -e ${go} ]; do sleep 0.05; done; exit 5`,
  ]);
  assert.equal(start.code, 0, start.stderr);
  const [, s] = await statusJson(dir, "ends");
  reaper.group(s.pid!);
  reaper.pid(s.pid!);
  Deno.kill(s.supervisorPid!, "SIGKILL");
  await waitUntil(async () => (await statusJson(dir, "ends"))[1].state === "orphaned", {
    what: "orphaned",
  });
  const adopt = await runCli(["start", "--dir", dir, "ends", "--if-not-running", "--", "true"]);
  assert.equal(adopt.code, 0, adopt.stderr);
  const [, adopted] = await statusJson(dir, "ends");
  reaper.pid(adopted.supervisorPid!);
  assert.equal(adopted.state, "running");
  await Deno.writeTextFile(go, "");
  await waitUntil(() => !alive(adopted.supervisorPid!), { what: "the adopter to end" });
  const [code, after] = await statusJson(dir, "ends");
  assert.equal(code, 3);
  assert.equal(after.lastExit?.code, null, "an adopted leader's status cannot be known");
  const log = await Deno.readTextFile(`${dir}/ends.log`);
  assert.match(log, /ends \(pid \d+\) exited with an unknown status/);
  const human = await runCli(["status", "--dir", dir, "ends"], { env: { NO_COLOR: "1" } });
  assert.match(human.stdout, /last exit: +status unknown at /);
  assert.throws(() => Deno.lstatSync(`${dir}/ends.out`), Deno.errors.NotFound);
});
