/**
 * A PID file that a run directory's resident supervisor holds (a service
 * started with `--pidfile` elsewhere, and DIR/NAME.pid itself): `status
 * --pidfile` and `stop --pidfile` with --exec, --name and --user check the
 * service's main process, not the supervisor holding the lock (which is
 * deno: before, every such check said "stale (pid SUPERVISOR)").
 */
import assert from "node:assert/strict";
import { alive } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

Deno.test("status/stop --pidfile with --exec/--name/--user of a supervisor-held file check the service's main process", async () => {
  await using svc = new Services();
  const name = uniqueName("held");
  const outside = svc.dir.join(`${name}-elsewhere.pid`);
  const record = await svc.start(name, ["--pidfile", outside, "--ready-after", "0"], [
    "sleep",
    "1000",
  ]);
  const inDir = uniqueName("held-in-dir");
  const second = await svc.start(inDir, ["--ready-after", "0"], ["sleep", "1000"]);
  const sup = record.supervisor.pid;
  const me = String(Deno.uid());
  const main = record.mainPid ?? record.tree!.pid;
  const exe = await Deno.readLink(`/proc/${main}/exe`);
  const cases = [
    { path: outside, pid: main },
    { path: svc.dir.join(`${inDir}.pid`), pid: second.mainPid ?? second.tree!.pid },
  ];
  for (const { path, pid } of cases) {
    for (const id of [["--exec", exe], ["--name", "sleep"], ["--user", me]]) {
      const r = await svc.cli(["status", "--pidfile", path, ...id]);
      assert.equal(r.code, 0, `${path} ${id.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`: running \\(pid ${pid}\\)`));
    }
    const j = await svc.cli(["status", "--pidfile", path, "--name", "sleep", "--json"]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout).verifiedBy, ["lock", "name"]);
    // Another program: refused, naming the service's main process, not the supervisor.
    const other = await svc.cli(["status", "--pidfile", path, "--name", "nginx"]);
    assert.equal(other.code, 1, other.stdout);
    assert.match(other.stdout, new RegExp(`not that program: pid ${pid} is sleep, not nginx`));
    assert.doesNotMatch(other.stdout, new RegExp(`pid ${sup}\\b`));
    assert.doesNotMatch(other.stdout, /lock is free/, "the lock is held");
  }

  const refused = await svc.cli(["stop", "--pidfile", outside, "--name", "nginx"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`pid ${main} is sleep, not nginx; nothing signalled`));
  assert.ok(alive(main), "a refused stop signals nothing");
  const stopped = await svc.cli(["stop", "--pidfile", outside, "--exec", exe]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, new RegExp(`stopped ${name} \\(pid ${main}\\)`));
  assert.ok(alive(sup), "the supervisor was not stopped");
});
