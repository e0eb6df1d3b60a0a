/**
 * RunDirLooks (src/service/inspect/run_dir_looks.ts), the HTTP server's
 * repeated looks: each gives what a fresh listServiceDetails gives, though
 * it keeps records, names and markers between looks; a service started or
 * stopped after a look shows in the next one, also when the names were
 * kept (the directory had settled).
 */
import assert from "node:assert/strict";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { listServiceDetails } from "../../../src/service/inspect/list_services.ts";
import { RunDirLooks } from "../../../src/service/inspect/run_dir_looks.ts";

/** A look without what changes from one moment to the next (uptime, CPU, memory). */
function steady(look: Awaited<ReturnType<typeof listServiceDetails>>): unknown {
  return {
    list: {
      ...look.list,
      services: look.list.services.map(({ uptimeMs: _u, cpuPercent: _c, memoryBytes: _m, ...s }) =>
        s
      ),
    },
    details: look.details.map(({ cpuSeconds: _c, ...d }) => d),
  };
}

Deno.test("RunDirLooks: every look as a fresh one, services started and stopped in between", async () => {
  await using svc = new Services();
  const a = uniqueName("looka");
  const b = uniqueName("lookb");
  await svc.start(a, [], ["sleep", "300"]);
  await svc.start(b, ["--tracking", "group"], ["sh", "-c", "sleep 300 & exec sleep 300"]);
  const looks = new RunDirLooks(svc.dir.path);
  const first = await looks.look();
  assert.deepEqual(first.list.services.map((s) => [s.name, s.state]), [[a, "running"], [
    b,
    "running",
  ]]);
  assert.equal(first.list.services[1].processes, 2);
  assert.deepEqual(
    steady(await looks.look()),
    steady(await listServiceDetails({ dir: svc.dir.path })),
  );

  // Settled: the names are kept from now on, until the directory changes.
  const past = new Date(Date.now() - 60_000);
  await Deno.utime(svc.dir.path, past, past);
  await looks.look();
  const c = uniqueName("lookc");
  await svc.start(c, [], ["sleep", "300"]);
  const stop = await svc.cli(["stop", a]);
  assert.equal(stop.code, 0, stop.stderr);
  const later = await looks.look();
  assert.deepEqual(later.list.services.map((s) => [s.name, s.state]), [
    [a, "stopped"],
    [b, "running"],
    [c, "running"],
  ]);
  assert.deepEqual(steady(later), steady(await listServiceDetails({ dir: svc.dir.path })));
});
