/**
 * `pidkit events`: what it prints from a journal (text, --json, NAME
 * filter, -n), and bad input (one line, exit 2).
 */
import assert from "node:assert/strict";
import { EventJournal } from "../../../src/service/events/event_journal.ts";
import { hasProgram, runCli, tempDir } from "../../_util/helpers.ts";
import { nobodyDeno, readableCopy } from "../../_util/readable_copy.ts";

Deno.test("pidkit events: the last N, oldest first; NAME filters; --json is the journal's lines", async () => {
  await using dir = tempDir();
  const journal = EventJournal.open(dir.path);
  journal.append({ service: "web", kind: "started", pid: 41 });
  journal.append({ service: "db", kind: "ready", pid: 42, statusText: "accepting" });
  journal.append({ service: "web", kind: "exited", pid: 41, code: 1, signal: null });
  journal.append({ service: "web", kind: "restarting", delayMs: 1500, attempt: 1, of: 5 });
  journal.append({ service: "web", kind: "failed", reason: "too many restarts" });
  await journal.close();
  const env = { NO_COLOR: "1" };

  const all = await runCli(["events", "--dir", dir.path], { env });
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z web started pid 41$/);
  assert.match(lines[1], / db ready pid 42, status: accepting$/);
  assert.match(lines[2], / web exited pid 41, code 1$/);
  assert.match(lines[3], / web restarting in 1\.5s, attempt 1 of 5$/);
  assert.match(lines[4], / web failed: too many restarts$/);

  const web = await runCli(["events", "web", "-n", "2", "--json", "--dir", dir.path]);
  assert.equal(web.code, 0, web.stderr);
  const events = web.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => [e.seq, e.kind]), [[4, "restarting"], [5, "failed"]]);
  assert.equal(events[0].delayMs, 1500);

  const none = await runCli(["events", "--dir", `${dir.path}/nothing-here`]);
  assert.deepEqual([none.code, none.stdout, none.stderr], [0, "", ""]);
});

Deno.test("pidkit events: an unknown option, a bad -n, a bad name: one line, exit 2", async () => {
  await using dir = tempDir();
  for (
    const [args, what] of [
      [["events", "--bogus"], /unknown option '--bogus'/],
      [["events", "-n", "ten"], /bad event count 'ten'/],
      [["events", "-n", "-3"], /-n|-3/],
      [["events", "-f", "../etc"], /bad service name '\.\.\/etc'/],
    ] as const
  ) {
    const r = await runCli([...args, "--dir", dir.path]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, what);
  }
  const left: string[] = [];
  for await (const e of Deno.readDir(dir.path)) left.push(e.name);
  assert.deepEqual(left, [], "nothing written");
});

const asNobody = Deno.uid() === 0 && hasProgram("setpriv");
if (!asNobody) {
  console.log("skip: events of another user's run dir needs root and setpriv (uid 65534)");
}

Deno.test({
  name:
    "pidkit events of a run dir whose journal this user may not read: one line, exit 4 (refused), -f too",
  ignore: !asNobody,
  fn: async () => {
    await using tmp = tempDir();
    await Deno.chmod(tmp.path, 0o755);
    const dir = tmp.join("root-owned");
    await Deno.mkdir(dir, { mode: 0o755 });
    const journal = EventJournal.open(dir);
    journal.append({ service: "web", kind: "started", pid: 41 });
    await journal.close();
    await Deno.chmod(`${dir}/events/events.jsonl`, 0o640); // as a root supervisor leaves it
    const home = tmp.join("home");
    await Deno.mkdir(home, { mode: 0o777 });
    await Deno.chmod(home, 0o777);
    const from = readableCopy(tmp.path);
    const run = nobodyDeno("setpriv", from, { home });
    for (const follow of [[], ["-f"]]) {
      const r = await run(["run", "-A", "--quiet", from.cli, "events", ...follow, "--dir", dir]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(
        r.stderr,
        /^pidkit events: cannot read the events of .*events\.jsonl: permission denied$/m,
      );
      assert.equal(r.stdout, "");
    }
  },
});
