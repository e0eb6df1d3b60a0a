// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads small files the service writes between steps; nothing else runs meanwhile
/**
 * A `--forking` service restarted by its restart policy (an instance
 * nobody waits for) waits for its readiness conditions as its first start
 * does: `starting` until they hold within `--ready-timeout` counted from
 * its spawn (the deadline watched against the main process, not the
 * leader that exited at start-up), then `running` with the new main PID;
 * not in time, it is stopped as a failure and the restart policy decides.
 * Both tracking tiers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, FIXTURES, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";
import { trackingTiers } from "../../_util/tiers.ts";

const tiers = await trackingTiers("the --forking restart readiness tests");

/** A free TCP port on 127.0.0.1 (nobody listens on it once this returns). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The daemon the leader leaves: run N notes itself, writes the main PID
 * file, waits for `open.N` (the test's gate), then does `steps` (a
 * listener, READY=1) and stays.
 */
function daemonScript(d: string, steps: string): string {
  return `D=${d}
echo run >> $D/runs
run=$(wc -l < $D/runs)
echo $$ > $D/main.pid
exec ${Deno.execPath()} run -A ${FIXTURES}/notify_sender.ts await:$D/open.$run ${steps} stay
`;
}

function firstLine(path: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(path).split("\n")[0]);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function status(s: Services, name: string): Promise<Record<string, unknown>> {
  return JSON.parse((await s.cli(["status", name, "--json"])).stdout);
}

/** Start the service (run 1 may go on at once) and return its first main PID. */
async function startForking(
  s: Services,
  name: string,
  options: string[],
  steps: string,
): Promise<number> {
  const d = s.dir.path;
  Deno.writeTextFileSync(`${d}/daemon.sh`, daemonScript(d, steps));
  Deno.writeTextFileSync(`${d}/open.1`, "");
  await s.start(name, [
    "--forking",
    "--main-pidfile",
    `${d}/main.pid`,
    ...options,
  ], ["sh", "-c", `sh ${d}/daemon.sh & exit 0`]);
  const first = firstLine(`${d}/main.pid`)!;
  s.pid(first);
  const st = await status(s, name);
  assert.equal(st.state, "running", JSON.stringify(st));
  assert.equal(st.pid, first);
  return first;
}

/** The main process of run `n`, once the supervisor has found it (recorded as mainPid). */
async function restartedMain(s: Services, name: string, old: number): Promise<number> {
  let main = 0;
  await waitUntil(async () => {
    const r = await s.state(name);
    main = r.mainPid ?? 0;
    return main !== 0 && main !== old;
  }, { timeoutMs: 30_000, what: "the restarted instance's main process" });
  s.pid(main);
  return main;
}

async function stopAndCheck(s: Services, name: string, pids: number[]): Promise<void> {
  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} left`);
  assert.deepEqual(markedProcesses(name), []);
}

for (const tier of tiers) {
  Deno.test(
    `--forking --ready-tcp restarted by its policy (${tier} tier): starting until the port opens, then running with the new main PID`,
    async () => {
      await using s = new Services();
      const d = s.dir.path;
      const name = uniqueName("frtcp");
      const port = freePort();
      const first = await startForking(s, name, [
        "--ready-tcp",
        `127.0.0.1:${port}`,
        "--tracking",
        tier,
        "--restart",
        "always",
        "--restart-delay",
        "50ms",
      ], `listen:${port}`);

      Deno.kill(first, "SIGKILL");
      const second = await restartedMain(s, name, first);
      // The new daemon waits for its gate: its port is closed, it is not ready.
      const during = await status(s, name);
      assert.equal(during.state, "starting", JSON.stringify(during));
      assert.equal((await s.state(name)).phase, "starting");

      Deno.writeTextFileSync(`${d}/open.2`, "");
      await waitUntil(async () => {
        const st = await status(s, name);
        return st.state === "running";
      }, { timeoutMs: 30_000, what: "the restarted instance to be running" });
      const st = await status(s, name);
      assert.equal(st.pid, second, "running with the new main PID");
      assert.equal(st.restarts, 1);
      assert.equal(firstLine(s.dir.join(`${name}.pid`)), second);
      await stopAndCheck(s, name, [first, second]);
    },
  );

  Deno.test(
    `--forking --ready-notify restarted by its policy (${tier} tier): no READY=1 within --ready-timeout is a failure, restarted again`,
    async () => {
      await using s = new Services();
      const d = s.dir.path;
      const name = uniqueName("frnot");
      // Run 3 goes on at once; run 2 never gets its gate: it never says READY=1.
      Deno.writeTextFileSync(`${d}/open.3`, "");
      const first = await startForking(s, name, [
        "--ready-notify",
        "--ready-timeout",
        "6s", // the first start (a shell, then a `deno run`) must be ready within it under load
        "--tracking",
        tier,
        "--restart",
        "on-failure", // only a failure restarts: the run that was not ready in time must be one
        "--restart-delay",
        "50ms",
      ], "ready");

      Deno.kill(first, "SIGKILL");
      const second = await restartedMain(s, name, first);
      const during = await status(s, name);
      assert.equal(during.state, "starting", JSON.stringify(during));

      const third = await restartedMain(s, name, second);
      assert.ok(!alive(second), "the instance not ready in time was stopped");
      await waitUntil(async () => (await status(s, name)).state === "running", {
        timeoutMs: 30_000,
        what: "the third instance to be running",
      });
      const st = await status(s, name);
      assert.equal(st.pid, third);
      assert.equal(st.restarts, 2);
      const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
      assert.match(log, /not ready within 6\.0 s: .*READY=1/);
      await stopAndCheck(s, name, [first, second, third]);
    },
  );
}
