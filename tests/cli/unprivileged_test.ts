/**
 * The life cycle as an unprivileged user without cgroup access (uid 65534,
 * so the group tier): acquire/probe/release of a PID file, and
 * start/status/stop of a service, with the same outcomes as root. Runs
 * readable copies of deno and the sources when the clone is not readable
 * by others (readable_copy.ts). Skips with a reason unless root with
 * setpriv(1).
 */

import assert from "node:assert/strict";
import { findSetpriv } from "../../src/tree/find_program.ts";
import { Reaper, tempDir } from "../_util/helpers.ts";
import { nobodyCli, nobodyDeno, readableCopy } from "../_util/readable_copy.ts";

const NOBODY = 65534;
const setpriv = Deno.build.os === "linux" ? findSetpriv() : undefined;
const problem = Deno.build.os !== "linux"
  ? "Linux only"
  : Deno.uid() !== 0
  ? "needs root to switch to uid 65534"
  : setpriv === undefined
  ? "needs setpriv(1)"
  : undefined;
if (problem) console.log(`skipped: unprivileged life cycle: ${problem}`);

Deno.test({
  name: "as uid 65534 (group tier): acquire/probe/release and start/status/stop",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    Deno.chmodSync(tmp.path, 0o755);
    const from = readableCopy(tmp.path);
    const home = tmp.join("home");
    Deno.mkdirSync(home, { mode: 0o700 });
    Deno.chownSync(home, NOBODY, NOBODY);
    const dir = `${home}/run`;
    const asNobody = nobodyDeno(setpriv!, from, { home, cwd: home });
    const cli = (args: string[]) => asNobody(["run", "-A", "--quiet", from.cli, ...args]);

    // The library: acquire, probe (held, by us), release, probe (absent).
    const lib = tmp.join("lib.ts");
    Deno.writeTextFileSync(
      lib,
      `import { PidFile, probe } from ${JSON.stringify(`file://${from.root}/mod.ts`)};
const path = Deno.args[0];
const held = await PidFile.acquire(path);
const seen = await probe(path);
await held.release();
const after = await probe(path);
console.log(JSON.stringify({ me: Deno.pid, pid: held.pid, seen: seen.status, holder: seen.status === "running" ? seen.holderPid : null, after: after.status }));`,
    );
    Deno.chmodSync(lib, 0o644);
    const l = await asNobody(["run", "-A", "--quiet", lib, `${home}/app.pid`]);
    assert.equal(l.code, 0, l.stderr);
    const r = JSON.parse(l.stdout);
    assert.deepEqual(r, { me: r.me, pid: r.me, seen: "running", holder: r.me, after: "absent" });

    // The CLI: start, status, stop, status.
    const start = await cli(["start", "web", "--dir", dir, "--", "sleep", "600"]);
    assert.equal(start.code, 0, start.stderr);
    const state = JSON.parse(Deno.readTextFileSync(`${dir}/web.json`));
    reaper.pid(state.supervisor.pid);
    reaper.group(state.tree.pid);
    assert.equal(state.tree.tracking, "group"); // no cgroup for uid 65534
    const st = await cli(["status", "web", "--dir", dir, "--json"]);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout);
    assert.equal(s.state, "running");
    assert.equal(s.pid, state.tree.pid);
    const stop = await cli(["stop", "web", "--dir", dir]);
    assert.equal(stop.code, 0, stop.stderr);
    const after = await cli(["status", "web", "--dir", dir]);
    assert.equal(after.code, 3, after.stdout + after.stderr);
  },
});

Deno.test({
  name:
    "as uid 65534: a run dir it may not read is refused (exit 4, one line naming it) by every reading command",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    Deno.chmodSync(tmp.path, 0o755);
    const from = readableCopy(tmp.path);
    const home = tmp.join("home");
    Deno.mkdirSync(home, { mode: 0o700 });
    Deno.chownSync(home, NOBODY, NOBODY);
    // root's 0700 run directory with a service's files in it
    const dir = tmp.join("closed");
    Deno.mkdirSync(dir, { mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
    Deno.writeTextFileSync(`${dir}/web.pid`, "1\n");
    Deno.writeTextFileSync(`${dir}/web.log`, "secret\n");
    const cli = nobodyCli(setpriv!, from, home);
    const line = new RegExp(`^pidkit (\\w+): cannot read run dir ${dir}: permission denied\\n$`);
    const commands = [
      ["list"],
      ["status"],
      ["ps", "web"],
      ["logs"],
      ["logs", "web"],
      ["logs", "-f", "web"],
      ["events"],
      ["events", "-f"],
      ["top"], // not a terminal: the list snapshot
    ];
    for (const args of commands) {
      const r = await cli([...args, "--dir", dir]);
      assert.equal(r.code, 4, `${args.join(" ")}: ${r.code} ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, line, args.join(" "));
      assert.equal(line.exec(r.stderr)![1], args[0]);
      assert.equal(r.stdout, "", args.join(" "));
    }
    const j = await cli(["list", "--json", "--dir", dir]);
    assert.equal(j.code, 4, j.stderr);
    assert.deepEqual(JSON.parse(j.stderr), {
      error: `pidkit list: cannot read run dir ${dir}: permission denied`,
      code: 4,
    });
    // a directory it may enter, a log it may not read (0640, root's group): the file, exit 4
    Deno.chmodSync(dir, 0o755);
    Deno.chmodSync(`${dir}/web.log`, 0o640);
    const l = await cli(["logs", "web", "--dir", dir]);
    assert.equal(l.code, 4, l.stdout + l.stderr);
    assert.equal(l.stderr, `pidkit logs: cannot read ${dir}/web.log: permission denied\n`);
  },
});
