/**
 * PID namespaces, as a container runtime makes them (`unshare --pid --fork
 * --mount-proc`): a PidFile holder as PID 1 ends with 128+N on TERM, INT
 * and HUP; `pidkit run` as PID 1 reaps the orphans it inherits and exits
 * with the service's status; status from outside shows the kernel's PID
 * beside the one written in the file; the whole life cycle works inside; a
 * namespace without its own /proc gets clear refusals, nothing signalled.
 * Each test skips with a printed reason where the machine refuses.
 */

import assert from "node:assert/strict";
import {
  CLI,
  FIXTURES,
  Reaper,
  runCli,
  startTimeOf,
  tempDir,
  waitUntil,
} from "../_util/helpers.ts";
import { Lines } from "../_util/fixture_io.ts";
import { childrenOf, cliArgv, stateOf } from "../_util/process_view.ts";
import { exists } from "../torture/util.ts";

const linux = Deno.build.os === "linux";

/** Why namespaces cannot be tested here, or undefined when they can. */
async function namespaceProblem(): Promise<string | undefined> {
  if (!linux) return "PID namespaces are Linux only";
  if (Deno.uid() !== 0) return "unshare --pid needs root";
  try {
    const out = await new Deno.Command("unshare", {
      args: ["--pid", "--fork", "--mount-proc", "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      return `unshare --pid --fork --mount-proc refused: ${
        new TextDecoder().decode(out.stderr).trim().split("\n")[0]
      }`;
    }
  } catch (err) {
    return `no unshare(1): ${err instanceof Error ? err.message : err}`;
  }
  return undefined;
}

const problem = await namespaceProblem();
if (problem) console.log(`skipped: PID namespace tests: ${problem}`);

const DENO = Deno.execPath();

/** `argv` as PID 1 of a new PID namespace; returns unshare's child and the init's host PID. */
async function inNamespace(
  reaper: Reaper,
  argv: string[],
  options: { stdout?: "piped" | "null"; mountProc?: boolean } = {},
): Promise<{ child: Deno.ChildProcess; init: number }> {
  const child = reaper.spawn(
    [
      "unshare",
      "--pid",
      "--fork",
      ...(options.mountProc === false ? [] : ["--mount-proc"]),
      ...argv,
    ],
    { stdout: options.stdout ?? "null" },
  );
  let init = 0;
  await waitUntil(() => (init = childrenOf(child.pid)[0] ?? 0) > 0, {
    what: "the namespace's init",
  });
  reaper.pid(init);
  return { child, init };
}

const SIGNALS: [Deno.Signal, number][] = [["SIGTERM", 15], ["SIGINT", 2], ["SIGHUP", 1]];

Deno.test({
  name: "PID 1: a PidFile holder ends with 128+N on TERM, INT and HUP, its file removed",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    for (const [sig, n] of SIGNALS) {
      await using reaper = new Reaper();
      const path = tmp.join(`${sig}.pid`);
      const { child, init } = await inNamespace(
        reaper,
        [DENO, "run", "-A", "--quiet", `${FIXTURES}/pid_holder.ts`, path],
        { stdout: "piped" },
      );
      const lines = new Lines(child.stdout);
      assert.match(await lines.next(30_000), /^ready 1$/); // the file says 1
      Deno.kill(init, sig);
      const status = await child.status;
      // Before: the re-raised signal was ignored for PID 1 and Deno crashed (139).
      assert.equal(status.code, 128 + n, `${sig}: ${JSON.stringify(status)}`);
      assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    }
  },
});

Deno.test({
  name: "status and stop --pidfile from outside: the kernel's PID beside 'pid 1 in its namespace'",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const path = tmp.join("app.pid");
    const { child, init } = await inNamespace(
      reaper,
      [DENO, "run", "-A", "--quiet", `${FIXTURES}/pid_holder.ts`, path],
      { stdout: "piped" },
    );
    const lines = new Lines(child.stdout);
    assert.match(await lines.next(30_000), /^ready 1$/);
    const j = await runCli(["status", "--pidfile", path, "--json"]);
    assert.equal(j.code, 0, j.stderr);
    const s = JSON.parse(j.stdout);
    assert.equal(s.pid, 1);
    assert.equal(s.kernelPid, init);
    assert.equal(s.supervisorPid, init);
    assert.equal(s.namespaced, true);
    // The holder's uptime and command, not the host's PID 1's.
    assert.ok(s.uptimeMs < 120_000, `uptime ${s.uptimeMs}`);
    assert.ok(s.command.join(" ").includes("pid_holder.ts"), s.command.join(" "));
    const h = await runCli(["status", "--pidfile", path]);
    assert.match(h.stdout, new RegExp(`running \\(pid ${init}; pid 1 in its namespace\\)`));
    // stop signals the lock holder as the kernel numbers it, never "pid 1".
    const stop = await runCli(["stop", "--pidfile", path]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`pid 1 written in the file is pid ${init} here`));
    assert.equal((await child.status).code, 143);
    assert.ok(startTimeOf(1) !== undefined, "the host's init lives");
  },
});

Deno.test({
  name: "pidkit run as PID 1 reaps every orphan and exits with the service's status",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const out = tmp.join("orphans");
    // Six orphans (each subshell exits at once; its sleep is reparented to
    // PID 1 and exits 0.1 s later), then the service waits to be told.
    const script = `for i in 1 2 3 4 5 6; do (sleep 0.1 & echo $! >> "$1"); done; ` +
      `while [ ! -e "$1.go" ]; do sleep 0.05; done; exit 7`;
    const { child, init } = await inNamespace(
      reaper,
      cliArgv(
        "run",
        "app",
        "--dir",
        tmp.join("run"),
        "--tracking",
        "group",
        "--",
        "sh",
        "-c",
        script,
        "sh",
        out,
      ),
    );
    await waitUntil(() => {
      try {
        return Deno.readTextFileSync(out).trim().split("\n").length === 6;
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000, what: "six orphans" });
    // Every orphan exits and is reaped: no zombie child of PID 1 stays.
    await waitUntil(
      () =>
        childrenOf(init).filter((p) => stateOf(p) === "Z").length === 0 &&
        childrenOf(init).length === 1,
      { timeoutMs: 10_000, what: "the orphans to be reaped" },
    );
    Deno.writeTextFileSync(`${out}.go`, "");
    assert.equal((await child.status).code, 7);
  },
});

Deno.test({
  name: "pidkit run as PID 1: TERM, INT and HUP end it with the service's status",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    for (const [sig, n] of SIGNALS) {
      await using reaper = new Reaper();
      const ready = tmp.join(`${sig}.ready`);
      const { child, init } = await inNamespace(
        reaper,
        cliArgv(
          "run",
          `app-${n}`,
          "--dir",
          tmp.join("run"),
          "--",
          "sh",
          "-c",
          `touch "$1"; exec sleep 600`,
          "sh",
          ready,
        ),
      );
      await waitUntil(() => startTimeOf(init) !== undefined && exists(ready), {
        timeoutMs: 30_000,
        what: "the service",
      });
      Deno.kill(init, sig);
      // TERM and INT stop the tree with that signal; HUP is forwarded to it.
      assert.equal((await child.status).code, 128 + n, sig);
    }
  },
});

Deno.test({
  name: "inside a namespace: acquire/probe/release and start/status/stop as everywhere",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const lib = tmp.join("lib.ts");
    Deno.writeTextFileSync(
      lib,
      `import { PidFile, probe } from ${JSON.stringify(mod)};
const path = Deno.args[0];
const held = await PidFile.acquire(path);
const seen = await probe(path);
await held.release();
const after = await probe(path);
console.log(JSON.stringify({ pid: held.pid, seen: seen.status, holder: seen.status === "running" ? seen.holderPid : null, after: after.status }));`,
    );
    const dir = tmp.join("run");
    const cli = `${DENO} run -A --quiet ${CLI}`;
    const script = [
      `${DENO} run -A --quiet ${lib} ${tmp.join("lib.pid")}`,
      `${cli} start web --dir ${dir} -- sleep 600 >/dev/null; echo "start $?"`,
      `${cli} status web --dir ${dir} --json > ${tmp.join("status.json")}; echo "status $?"`,
      `${cli} stop web --dir ${dir} >/dev/null; echo "stop $?"`,
      `${cli} status web --dir ${dir} >/dev/null; echo "after $?"`,
    ].join("; ");
    const { child } = await inNamespace(reaper, ["sh", "-c", script], { stdout: "piped" });
    const lines = new Lines(child.stdout);
    const first = JSON.parse(await lines.next(60_000));
    // The holder writes its own PID (in the namespace) and probe finds it as the lock holder.
    assert.deepEqual(first, {
      pid: first.holder,
      seen: "running",
      holder: first.holder,
      after: "absent",
    });
    assert.equal(await lines.next(60_000), "start 0");
    assert.equal(await lines.next(60_000), "status 0");
    const s = JSON.parse(Deno.readTextFileSync(tmp.join("status.json")));
    assert.equal(s.state, "running");
    assert.equal(s.namespaced, false); // seen from inside, nothing is foreign
    assert.equal(await lines.next(60_000), "stop 0");
    assert.equal(await lines.next(60_000), "after 3");
    assert.equal((await child.status).code, 0);
  },
});

Deno.test({
  name: "bad input: a stale 'pid 1' from a gone namespace is never signalled",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const path = tmp.join("app.pid");
    const { child } = await inNamespace(
      reaper,
      [DENO, "run", "-A", "--quiet", `${FIXTURES}/pid_holder.ts`, path],
      { stdout: "piped" },
    );
    const lines = new Lines(child.stdout);
    assert.match(await lines.next(30_000), /^ready 1$/);
    reaper.killAll(); // the namespace dies with its init: the file stays, saying 1
    await child.status;
    assert.equal(Deno.readTextFileSync(path), "1\n");
    const st = await runCli(["status", "--pidfile", path, "--json"]);
    assert.equal(st.code, 1, st.stderr);
    const s = JSON.parse(st.stdout);
    assert.equal(s.state, "stale");
    assert.equal(s.pid, 1);
    assert.equal(s.kernelPid, null);
    assert.equal(s.uptimeMs, null); // not the host init's uptime
    const stop = await runCli(["stop", "--pidfile", path]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /nothing signalled/);
  },
});

Deno.test({
  name: "bad input: a namespace without its own /proc refuses to signal, with one line",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const path = tmp.join("app.pid");
    const holder = reaper.spawn([DENO, "run", "-A", "--quiet", `${FIXTURES}/pid_holder.ts`, path], {
      stdout: "piped",
    });
    const lines = new Lines(holder.stdout);
    assert.match(await lines.next(30_000), /^ready /);
    const inside = async (args: string[]) => {
      const out = await new Deno.Command("unshare", {
        args: ["--pid", "--fork", DENO, "run", "-A", "--quiet", CLI, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const refused = /not the proc of this PID namespace/;
    const stop = await inside(["stop", "--pidfile", path]);
    assert.equal(stop.code, 1, stop.stdout + stop.stderr);
    assert.match(stop.stderr, refused);
    assert.equal(stop.stderr.trim().split("\n").length, 1, stop.stderr);
    const run = await inside(["run", "app", "--dir", tmp.join("run"), "--", "sleep", "1"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, refused);
    // Nothing was signalled: the holder outside still holds its file.
    assert.ok(startTimeOf(holder.pid) !== undefined);
    const st = await runCli(["status", "--pidfile", path]);
    assert.equal(st.code, 0, st.stderr);
  },
});

Deno.test({
  name:
    "a service supervised inside a namespace: status, list and ps from outside use the kernel's PIDs",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    const dir = tmp.join("run");
    const ready = tmp.join("ready");
    const { child, init } = await inNamespace(
      reaper,
      cliArgv(
        "run",
        "app",
        "--dir",
        dir,
        "--tracking",
        "group",
        "--",
        "sh",
        "-c",
        `sleep 600 & env -i setsid sleep 601 & touch "$1"; wait`,
        "sh",
        ready,
      ),
    );
    await waitUntil(() => exists(ready), { timeoutMs: 30_000, what: "the service" });
    const leader = childrenOf(init).find((p) => stateOf(p) !== "Z")!;
    const st = await runCli(["status", "app", "--dir", dir, "--json"]);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout);
    assert.equal(s.state, "running"); // the holder is the recorded supervisor (pid 1 inside)
    assert.equal(s.supervisorPid, init);
    assert.equal(s.kernelPid, leader);
    assert.equal(s.namespaced, true);
    assert.notEqual(s.pid, leader); // as written: the namespace's PID
    const list = JSON.parse((await runCli(["list", "--dir", dir, "--json"])).stdout);
    assert.equal(list.services[0].kernelPid, leader);
    assert.equal(list.services[0].processes, 3);
    assert.ok(list.services[0].uptimeMs !== null);
    const ps = JSON.parse((await runCli(["ps", "app", "--dir", dir, "--json"])).stdout);
    assert.equal(ps.kernelPid, leader);
    assert.deepEqual(ps.processes.map((p: { ppid: number }) => p.ppid), [init, leader, leader]);
    Deno.kill(init, "SIGTERM");
    assert.equal((await child.status).code, 143);
  },
});
