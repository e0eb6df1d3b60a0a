/**
 * The service API from code ("."), on real processes in a temp run
 * dir: start, status, list, restart, stop; typed errors for a start that
 * fails and for bad options. Every supervisor and tree is ended by the PIDs
 * and groups its state file records (tests/_util/service_dir.ts).
 */
import assert from "node:assert/strict";
import {
  AlreadyRunningError,
  listServices,
  PidkitError,
  restartService,
  ServiceAlreadyRunningError,
  ServiceStartError,
  serviceStatus,
  signalService,
  startService,
  stopService,
  UsageError,
  waitService,
} from "../../service.ts";
import { markedProcesses, Services, uniqueName } from "../_util/service_dir.ts";
import { alive, tempDir } from "../_util/helpers.ts";

Deno.test("service API: start, status, list, restart, stop", async () => {
  await using s = new Services();
  const dir = s.dir.path;
  const name = uniqueName("api");
  const started = await startService(name, ["sleep", "1000"], { dir, readyAfter: 0 });
  const state = await s.state(name); // recorded for the cleanup first
  assert.equal(started.status, "started");
  assert.ok(started.status === "started");
  assert.equal(started.pid, state.tree!.pid);
  assert.equal(started.supervisorPid, state.supervisor.pid);
  assert.equal(started.pidfile, `${dir}/${name}.pid`);
  assert.equal(started.log, `${dir}/${name}.log`);

  const status = await serviceStatus(name, { dir });
  assert.equal(status.state, "running");
  assert.equal(status.exitCode, 0);
  assert.equal(status.pid, started.pid);
  assert.equal(status.supervisorPid, started.supervisorPid);
  assert.deepEqual(status.command, ["sleep", "1000"]);
  assert.equal(status.locked, true);

  const list = await listServices({ dir });
  assert.equal(list.dir, dir);
  assert.deepEqual(list.services.map((e) => [e.name, e.state, e.pid]), [
    [name, "running", started.pid],
  ]);
  assert.equal(list.services[0].processes, 1);

  // Already running: the typed error, or a result with ifNotRunning.
  await assert.rejects(
    startService(name, ["sleep", "1000"], { dir }),
    (err: unknown) =>
      err instanceof ServiceAlreadyRunningError && err instanceof AlreadyRunningError &&
      err.service === name && err.pid === started.pid &&
      err.message === `${name} is already running (pid ${started.pid})`,
  );
  const again = await startService(name, ["sleep", "1000"], { dir, ifNotRunning: true });
  assert.equal(again.status, "already-running");
  assert.equal(again.pid, started.pid);

  const stops: string[] = [];
  const restarted = await restartService(name, {
    dir,
    retry: "TERM/5/KILL/5",
    onStopped: (r) => stops.push(r.status),
  });
  await s.state(name);
  assert.deepEqual(stops, ["stopped"]);
  assert.equal(restarted.status, "restarted");
  assert.equal(restarted.stopped.pid, started.pid);
  assert.notEqual(restarted.pid, started.pid);
  assert.ok(!alive(started.pid));
  assert.equal((await serviceStatus(name, { dir })).pid, restarted.pid);

  const events: string[] = [];
  const stopped = await stopService(name, { dir, onProgress: (e) => events.push(e.kind) });
  assert.equal(stopped.status, "stopped");
  assert.equal(stopped.pid, restarted.pid);
  assert.equal(stopped.lastSignal, "SIGTERM");
  assert.deepEqual(stopped.survivors, []);
  assert.deepEqual(events, ["begin", "end"]);
  assert.deepEqual(markedProcesses(name), []);
  const after = await serviceStatus(name, { dir });
  assert.equal(after.state, "stopped");
  assert.equal(after.exitCode, 3);
  assert.equal(after.pid, null);
});

Deno.test("service API: a service that exits during start-up throws ServiceStartError with its log", async () => {
  await using s = new Services();
  const dir = s.dir.path;
  const name = uniqueName("boom");
  const err = await startService(name, ["sh", "-c", "echo first; echo boom >&2; exit 3"], {
    dir,
    readyAfter: "2s",
  }).then(() => undefined, (e: unknown) => e);
  await s.recordAll();
  assert.ok(err instanceof ServiceStartError, String(err));
  assert.equal(err.reason, "exited");
  assert.equal(err.service, name);
  assert.deepEqual(err.exit, { code: 3, signal: null });
  assert.equal(err.log, `${dir}/${name}.log`);
  assert.ok(err.logTail.includes("first") && err.logTail.includes("boom"), err.logTail.join("|"));
  assert.equal(err.message, `${name} exited during start-up with code 3`);
  const status = await serviceStatus(name, { dir });
  assert.equal(status.state, "failed"); // one rule: an exit before ready is a failed start
  assert.equal(status.error, `${name} exited during start-up with code 3`);
  assert.deepEqual(status.lastExit && [status.lastExit.code, status.lastExit.signal], [3, null]);
});

Deno.test("service API: not ready in time throws ServiceStartError, reason not-ready", async () => {
  await using s = new Services();
  const dir = s.dir.path;
  const name = uniqueName("late");
  const err = await startService(name, ["sleep", "1000"], {
    dir,
    readyFile: s.dir.join("never"),
    readyTimeout: 300,
  }).then(() => undefined, (e: unknown) => e);
  await s.recordAll();
  assert.ok(err instanceof ServiceStartError, String(err));
  assert.equal(err.reason, "not-ready");
  assert.match(err.message, new RegExp(`^${name} not ready within `));
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("service API: stop, status and restart of a service that is not running", async () => {
  await using s = new Services();
  const dir = s.dir.path;
  assert.deepEqual(await stopService("nothing", { dir }), {
    name: "nothing",
    status: "not-running",
  });
  const status = await serviceStatus("nothing", { dir });
  assert.equal(status.state, "stopped");
  assert.equal(status.exitCode, 3);
  assert.deepEqual(await listServices({ dir }), { dir, services: [], stoppedSupervisors: [] });
  await assert.rejects(
    restartService("nothing", { dir }),
    (err: unknown) => err instanceof PidkitError && /has no recorded command/.test(err.message),
  );
});

Deno.test("service API: bad names and options throw UsageError before anything is created", async () => {
  await using tmp = tempDir("pidkit-api-");
  const dir = tmp.join("run"); // must stay absent
  const bad: [string, Parameters<typeof startService>[2]][] = [
    ["../x", {}],
    ["web", { restart: "sometimes" }],
    ["web", { maxRestarts: "many" }],
    ["web", { readyTimeout: "soon" }],
    ["web", { readyTimeout: 5 }],
    ["web", { readyTcp: "nowhere" }],
    ["web", { logKeep: 3 }],
    ["web", { tracking: "psychic" }],
    ["web", { retry: "TERM/abc" }],
    ["web", { mainPidfile: "/tmp/x.pid" }],
    ["web", { env: ["NOEQUALS"] }],
    ["web", { env: { "1BAD": "x" } }],
  ];
  for (const [name, options] of bad) {
    await assert.rejects(
      startService(name, ["sleep", "1"], { dir, ...options }),
      UsageError,
      `${name} ${JSON.stringify(options)}`,
    );
  }
  await assert.rejects(startService("web", [], { dir }), UsageError);
  await assert.rejects(stopService("web", { dir, retry: "TERM/abc" }), UsageError);
  await assert.rejects(stopService("a/b", { dir }), UsageError);
  await assert.rejects(serviceStatus("..", { dir }), UsageError);
  await assert.rejects(restartService("web", { dir, retry: "KILL/x" }), UsageError);
  assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
});

Deno.test("service API: signalService reaches the whole tree; waitService returns once it ends", async () => {
  await using s = new Services();
  const dir = s.dir.path;
  const name = uniqueName("sig");
  // A leader and a child; HUP ends both (no trap), so the service exits.
  await startService(name, ["sh", "-c", "sleep 1000 & wait"], { dir, readyAfter: 0 });
  await s.state(name);
  assert.equal(await waitService(name, { dir, timeout: 200 }), false, "running: timed out");
  await assert.rejects(signalService(name, "NOSUCH", { dir }), UsageError);
  const sent = await signalService(name, "HUP", { dir });
  assert.equal(sent.signal, "SIGHUP");
  assert.equal(sent.processes, 2);
  assert.equal(await waitService(name, { dir, timeout: 10_000 }), true);
  await assert.rejects(signalService(name, "HUP", { dir }), /is not running/);
});
