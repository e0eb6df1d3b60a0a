/**
 * The events a per-service machine emits through its host's sink, in
 * order, for a crash loop that gives up and for a stop: real processes
 * (sh), a host of the test's own making (the machine asks nothing else of
 * the process that hosts it).
 */
import assert from "node:assert/strict";
import { FdPoller } from "../../../src/os/fd_poller.ts";
import type { ServiceEvent } from "../../../src/service/model/service_event.ts";
import type { SupervisionHost } from "../../../src/service/machine/host.ts";
import { ServiceMachine } from "../../../src/service/machine/service_machine.ts";
import { buildSupervisorConfig } from "../../../src/service/control/supervisor_config.ts";
import type { StartResult } from "../../../src/service/control/supervisor_protocol.ts";
import { tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

type Seen = Omit<ServiceEvent, "time" | "seq"> & { time?: string };

function testHost(events: Seen[]): SupervisionHost & { close(): Promise<void> } {
  const poller = FdPoller.create();
  return {
    kind: "dir",
    poller,
    reaper: {},
    events: (event) => events.push(event),
    reportsAtSpawn: false,
    adoptsOrphans: false,
    pidFileCheckMs: 1000,
    markedTrees: () => [],
    ensureDir: () => {},
    note: () => {},
    close: async () => await poller?.close(),
  };
}

Deno.test("events: a crash loop: started, ready, exited, restarting ... failed", async () => {
  await using dir = tempDir();
  const name = uniqueName("crashloop");
  const events: Seen[] = [];
  const host = testHost(events);
  const config = buildSupervisorConfig(name, ["/bin/sh", "-c", "sleep 0.3; exit 3"], {
    dir: dir.path,
    restart: "on-failure",
    maxRestarts: 2,
    restartDelay: 10,
    tracking: "group",
  });
  let started: StartResult | undefined;
  const machine = new ServiceMachine(config, host, { onStarted: (r) => void (started = r) });
  try {
    assert.equal(await machine.run(), "ended");
  } finally {
    await host.close();
  }
  assert.equal(started?.ok, true);
  assert.deepEqual(events.map((e) => e.kind), [
    "started",
    "ready",
    "exited",
    "restarting",
    "started",
    "ready",
    "exited",
    "restarting",
    "started",
    "ready",
    "exited",
    "failed",
  ]);
  for (const e of events) assert.equal(e.service, name);
  const exits = events.filter((e) => e.kind === "exited");
  assert.ok(exits.every((e) => e.code === 3 && e.signal === null && typeof e.pid === "number"));
  const restarts = events.filter((e) => e.kind === "restarting");
  assert.deepEqual(restarts.map((e) => [e.attempt, e.of, e.delayMs]), [[1, 2, 10], [2, 2, 20]]);
  assert.match(events.at(-1)!.reason!, /gave up after 2 restarts in a row \(last exit: code 3\)/);
  assert.equal(machine.state.phase, "failed");
});

Deno.test("events: a stop: started, ready, stopping, exited by the signal, stopped", async () => {
  await using dir = tempDir();
  const name = uniqueName("stopped");
  const events: Seen[] = [];
  const host = testHost(events);
  const config = buildSupervisorConfig(name, ["/bin/sh", "-c", "exec sleep 60"], {
    dir: dir.path,
    tracking: "group",
  });
  const ready = Promise.withResolvers<StartResult>();
  const machine = new ServiceMachine(config, host, { onStarted: (r) => ready.resolve(r) });
  const ran = machine.run();
  try {
    assert.equal((await ready.promise).ok, true);
    await waitUntil(() => events.some((e) => e.kind === "ready"), { what: "ready" });
    machine.requestStop();
    assert.equal(await ran, "ended");
  } finally {
    machine.requestStop();
    await ran;
    await host.close();
  }
  assert.deepEqual(events.map((e) => e.kind), [
    "started",
    "ready",
    "stopping",
    "exited",
    "stopped",
  ]);
  const exited = events.find((e) => e.kind === "exited")!;
  assert.equal(exited.signal, "SIGTERM");
  assert.equal(machine.state.phase, "stopped");
});

Deno.test("restartNow: in place, with its reason; the answer once the new instance is ready", async () => {
  await using dir = tempDir();
  const name = uniqueName("restarted");
  const events: Seen[] = [];
  const host = testHost(events);
  const config = buildSupervisorConfig(name, ["/bin/sh", "-c", "exec sleep 60"], {
    dir: dir.path,
    tracking: "group",
  });
  const ready = Promise.withResolvers<StartResult>();
  const machine = new ServiceMachine(config, host, { onStarted: (r) => ready.resolve(r) });
  const ran = machine.run();
  try {
    const first = await ready.promise;
    assert.equal(first.ok, true);
    const answer = await machine.restartNow({ reason: "a schedule said so" });
    assert.equal(answer.held, true);
    assert.equal(answer.started?.ok, true);
    const pid = answer.started?.ok ? answer.started.pid : undefined;
    assert.notEqual(pid, first.ok ? first.pid : undefined);
    const log = await Deno.readTextFile(config.log!);
    assert.match(log, new RegExp(`restarting ${name}: a schedule said so`));
  } finally {
    machine.requestStop();
    await ran;
    await host.close();
  }
  assert.deepEqual(events.map((e) => e.kind), [
    "started",
    "ready",
    "stopping",
    "exited",
    "started",
    "ready",
    "stopping",
    "exited",
    "stopped",
  ]);
});

Deno.test("startNow: a service waiting out its restart back-off starts at once", async () => {
  await using dir = tempDir();
  const name = uniqueName("backoff");
  const events: Seen[] = [];
  const host = testHost(events);
  const config = buildSupervisorConfig(name, ["/bin/sh", "-c", "sleep 0.3; exit 1"], {
    dir: dir.path,
    restart: "on-failure",
    restartDelay: "10m",
    tracking: "group",
  });
  const machine = new ServiceMachine(config, host, { onStarted: () => {} });
  assert.equal(machine.startNow("too early"), false); // nothing to cut short yet
  const ran = machine.run();
  try {
    await waitUntil(() => machine.state?.phase === "restarting", {
      timeoutMs: 30_000,
      what: "the back-off",
    });
    assert.equal(machine.startNow("a file changed"), true);
    await waitUntil(() => events.filter((e) => e.kind === "started").length === 2, {
      timeoutMs: 30_000,
      what: "the second start",
    });
  } finally {
    machine.requestStop();
    await ran;
    await host.close();
  }
  const restarting = events.find((e) => e.kind === "restarting")!;
  assert.equal(restarting.delayMs, 600_000);
  assert.match(await Deno.readTextFile(config.log!), /starting .* now: a file changed/);
});

Deno.test("events: the run directory's supervisor journals its machines' events (pidkit events)", async () => {
  await using services = new Services();
  const name = uniqueName("journaled");
  await services.start(name, ["--restart", "no"], ["/bin/sh", "-c", "exec sleep 60"]);
  const stop = await services.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  let kinds: string[] = [];
  await waitUntil(async () => {
    const r = await services.cli(["events", name, "--json"]);
    kinds = r.stdout.trimEnd().split("\n").filter((l) => l).map((l) => JSON.parse(l).kind);
    return kinds.includes("stopped");
  }, { timeoutMs: 30_000, what: "the stopped event in the journal" });
  assert.deepEqual(kinds, ["started", "ready", "stopping", "exited", "stopped"]);
});

Deno.test("events: a service's log rotated by size is a log-rotated event", async () => {
  await using services = new Services();
  const name = uniqueName("rotated");
  await services.start(name, ["--log-max-size", "4K", "--log-keep", "2"], [
    "/bin/sh",
    "-c",
    "while :; do echo 0123456789012345678901234567890123456789012345678901234567890123; done",
  ]);
  try {
    await waitUntil(async () => {
      const r = await services.cli(["events", name, "--json"]);
      return r.stdout.split("\n").some((l) => l && JSON.parse(l).kind === "log-rotated");
    }, { timeoutMs: 30_000, what: "a log-rotated event" });
  } finally {
    const stop = await services.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
  }
});
