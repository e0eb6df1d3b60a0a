/**
 * A run directory's resident supervisor holds every service of its
 * directory: a command about one service never signals it (0.2 sent it
 * SIGTERM, stopping every service, whenever the record was not a directory
 * supervisor's). Through a custom PID file, a garbage or unreadable record,
 * a start racing a stop of a new name, an unlocked NAME.pid naming it.
 */

import assert from "node:assert/strict";
import { startTimeOf, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const linux = Deno.build.os === "linux";

/** The supervisor and `keep`, a bystander service, both as they were. */
async function bystander(s: Services) {
  const keep = await s.start(uniqueName("keep"), [], ["sleep", "600"]);
  const sup = s.supervisorPid()!;
  const supStart = startTimeOf(sup);
  assert.ok(supStart !== undefined);
  const untouched = (what: string) => {
    assert.equal(startTimeOf(sup), supStart, `the supervisor was hit by ${what}`);
    assert.equal(startTimeOf(keep.tree!.pid), keep.tree!.startTime, `keep was hit by ${what}`);
  };
  return { sup, untouched };
}

Deno.test({
  name:
    "stop/status/wait --pidfile of a service started with --pidfile elsewhere act on the service",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const { sup, untouched } = await bystander(s);
    const name = uniqueName("x");
    const pidfile = s.dir.join(`elsewhere-${name}.pid`);
    const x = await s.start(name, ["--pidfile", pidfile], ["sleep", "600"]);
    const st = await s.cli(["status", "--pidfile", pidfile, "--json"]);
    assert.equal(st.code, 0, st.stderr);
    const j = JSON.parse(st.stdout);
    assert.equal(j.pid, x.tree!.pid);
    assert.equal(j.supervisorPid ?? j.supervisor ?? sup, sup);
    assert.ok(
      String(j.log ?? "").endsWith(`${name}.log`),
      `status speaks of the service: ${st.stdout}`,
    );
    const w = await s.cli(["wait", "--pidfile", pidfile, "--timeout", "300ms"]);
    assert.equal(w.code, 1, `wait returned while the service runs: ${w.stdout}${w.stderr}`);
    const stop = await s.cli(["stop", "--pidfile", pidfile]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout + stop.stderr, new RegExp(`pid ${x.tree!.pid}\\b`));
    assert.equal(startTimeOf(x.tree!.pid), undefined, "the service was stopped");
    untouched("stop --pidfile");
  },
});

Deno.test({
  name: "stop NAME with a garbage or unreadable record asks the supervisor; never signals it",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const { untouched } = await bystander(s);
    for (const spoil of ["garbage", "directory"]) {
      const name = uniqueName(`g-${spoil}`);
      const g = await s.start(name, [], ["sleep", "600"]);
      const json = s.dir.join(`${name}.json`);
      Deno.removeSync(json);
      if (spoil === "garbage") Deno.writeTextFileSync(json, "{ not json");
      else Deno.mkdirSync(json); // unreadable as a file, even to root
      const stop = await s.cli(["stop", name]);
      assert.equal(stop.code, 0, `${spoil}: ${stop.stderr}`);
      await waitUntil(() => startTimeOf(g.tree!.pid) === undefined, { what: `${name} to stop` });
      untouched(`stop of a service with a ${spoil} record`);
      try {
        Deno.removeSync(json, { recursive: true });
      } catch { /* rewritten by the supervisor */ }
    }
  },
});

Deno.test({
  name: "start NAME racing stop NAME for a new name never signals the supervisor",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const { untouched } = await bystander(s);
    for (let i = 0; i < 6; i++) {
      const name = uniqueName("r");
      const [start, stop] = await Promise.all([
        s.cli(["start", name, "--", "sleep", "600"]),
        s.cli(["stop", name]),
      ]);
      await s.recordAll();
      untouched(`try ${i}: start ${start.code} / stop ${stop.code} ${stop.stderr.trim()}`);
      const again = await s.cli(["stop", name]);
      assert.equal(again.code, 0, again.stderr);
    }
  },
});

Deno.test({
  name: "stop NAME of an unlocked NAME.pid naming the supervisor refuses and signals nothing",
  ignore: !linux,
  async fn() {
    await using s = new Services();
    const { sup, untouched } = await bystander(s);
    const name = uniqueName("fake");
    Deno.writeTextFileSync(s.dir.join(`${name}.pid`), `${sup}\n`);
    const stop = await s.cli(["stop", name]);
    assert.notEqual(stop.code, 0, stop.stdout);
    assert.match(stop.stderr, /supervisor/);
    assert.match(stop.stderr, /nothing signalled/);
    const byFile = await s.cli(["stop", "--pidfile", s.dir.join(`${name}.pid`)]);
    assert.notEqual(byFile.code, 0, byFile.stdout);
    untouched("stop of an unlocked PID file naming it");
  },
});
