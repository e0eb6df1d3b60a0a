// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads small files the service writes between steps; nothing else runs meanwhile
/**
 * `--watchdog` of a `--forking` service (started, and adopted after its
 * supervisor was SIGKILLed): the main process stops pinging, SIGABRT
 * reaches it (not the leader, which exited at start-up), it gets the
 * abort's grace to exit on its own (it traps SIGABRT and exits a second
 * later), then its escaped descendant and the rest of its tree are
 * stopped, and `--restart always` brings up a new main process, never
 * while anything of the old one runs. Both tracking tiers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alive, FIXTURES, hasProgram, waitUntil } from "../../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";
import { trackingTiers } from "../../_util/tiers.ts";

const SENDER = `deno run -A ${FIXTURES}/notify_sender.ts`;

const tiers = await trackingTiers("the --forking watchdog tests");

/**
 * The daemon's master, the service's main process. Each run: checks that
 * nothing an earlier run left is alive (`overlap`), starts a descendant
 * that leaves the session and clears its environment (the group tier
 * cannot see it) and a plain worker, writes its PID file, says READY=1 and
 * pings WATCHDOG=1; the first run stops pinging once `hang` exists. On
 * SIGABRT it notes `aborted`, takes a second, notes `exited`, exits 3.
 * Each sender stays a moment after sending: a sender gone before the
 * supervisor reads its datagram cannot be verified as a member (ignored).
 */
function masterScript(d: string): string {
  return `D=${d}
echo run >> $D/runs
run=$(wc -l < $D/runs)
for p in $(cat $D/pids 2>/dev/null); do
  if [ -r /proc/$p/stat ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ]; then
    echo "pid $p alive as run $run started" >> $D/overlap
  fi
done
setsid env -i sleep 1000 &
echo $! > $D/escaped.$run
sleep 1000 &
echo $! > $D/worker.$run
cat $D/escaped.$run $D/worker.$run >> $D/pids
echo $$ >> $D/pids
trap 'echo $$ >> $D/aborted; sleep 1; echo $$ >> $D/exited; exit 3' ABRT
echo $$ > $D/main.pid
${SENDER} ready sleep:500
while [ $run -gt 1 ] || [ ! -e $D/hang ]; do ${SENDER} send:WATCHDOG=1 sleep:200; done
wait
`;
}

function lines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

async function status(s: Services, name: string): Promise<Record<string, unknown>> {
  return JSON.parse((await s.cli(["status", name, "--json"])).stdout);
}

/** The processes of run `n` (main, escaped descendant, worker), recorded for the clean-up. */
function runPids(s: Services, d: string, n: number): { escaped: number; worker: number } {
  const escaped = Number(lines(`${d}/escaped.${n}`)[0]);
  const worker = Number(lines(`${d}/worker.${n}`)[0]);
  s.pid(escaped);
  s.pid(worker);
  return { escaped, worker };
}

/** SIGKILL the run directory's supervisor; another service's start brings up one that adopts the orphan. */
async function adoptBySupervisor(s: Services, name: string, main: number): Promise<void> {
  const old = s.supervisorPid()!;
  Deno.kill(old, "SIGKILL");
  await waitUntil(() => !alive(old), { what: "the supervisor to die" });
  assert.equal((await status(s, name)).state, "orphaned");
  await s.start(uniqueName("other"), [], ["sleep", "1000"]);
  const st = await status(s, name);
  assert.equal(st.state, "running", JSON.stringify(st));
  assert.equal(st.pid, main, "adopted with the same main process");
}

/** The scenario of the tests below, in run directory `s`. */
async function abortScenario(s: Services, tier: string, adopted: boolean): Promise<void> {
  const name = uniqueName(adopted ? "afdog" : "fdog");
  const d = s.dir.path;
  const mainFile = `${d}/main.pid`;
  Deno.writeTextFileSync(`${d}/master.sh`, masterScript(d));
  await s.start(name, [
    "--forking",
    "--main-pidfile",
    mainFile,
    "--ready-notify",
    "--watchdog",
    "2s", // each ping is a `deno run` (60 ms idle, 450 ms seen under a loaded suite)
    "--tracking",
    tier,
    "--restart",
    "always",
    "--restart-delay",
    "50ms",
  ], ["sh", "-c", `sh ${d}/master.sh & exit 0`]);
  const first = Number(lines(mainFile)[0]);
  s.pid(first);
  const one = runPids(s, d, 1);
  const leader = (await s.state(name)).tree!.pid;
  assert.notEqual(leader, first);
  assert.ok(!alive(leader), "the leader exited at start-up");
  assert.equal((await status(s, name)).pid, first);
  if (adopted) await adoptBySupervisor(s, name, first);

  // The main process stops pinging: the watchdog fires.
  Deno.writeTextFileSync(`${d}/hang`, "");
  await waitUntil(async () => {
    const st = await status(s, name);
    return st.state === "running" && st.pid !== first && st.restarts === 1;
  }, { timeoutMs: 40_000, what: "a new main process after the watchdog fired" });
  await s.recordAll();
  const second = Number(lines(mainFile)[0]);
  s.pid(second);
  const two = runPids(s, d, 2);
  assert.notEqual(second, first);

  assert.deepEqual(
    lines(`${d}/aborted`),
    [String(first)],
    "SIGABRT reached the main process",
  );
  assert.deepEqual(
    lines(`${d}/exited`),
    [String(first)],
    "the main process had its grace and exited on its own, not killed by the stop",
  );
  assert.ok(!alive(one.escaped), "its escaped descendant was stopped");
  assert.ok(!alive(one.worker), "its worker was stopped");
  assert.deepEqual(lines(`${d}/overlap`), [], "never two trees at once");
  const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
  assert.match(log, /watchdog timeout for .*: no WATCHDOG=1 within 2000 ms/);
  assert.match(log, new RegExp(`main pid ${first} exited after SIGABRT`));
  assert.equal(log.match(/watchdog timeout/g)!.length, 1, log);

  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  for (const pid of [second, two.escaped, two.worker]) {
    assert.ok(!alive(pid), `pid ${pid} left`);
  }
  assert.deepEqual(markedProcesses(name), []);
}

for (const tier of tiers) {
  for (const adopted of [false, true]) {
    const how = adopted ? "adopted" : "started";
    Deno.test(
      `--forking --watchdog (${how}, ${tier} tier): SIGABRT to the main process, its grace, its escaped descendant stopped, restarted, never two at once`,
      { ignore: !hasProgram("setsid") },
      async () => {
        await using s = new Services();
        try {
          await abortScenario(s, tier, adopted);
        } finally {
          // The escaped descendants carry no marker: killed at the end by their recorded PIDs.
          for (const e of Deno.readDirSync(s.dir.path)) {
            if (e.name.startsWith("escaped.")) s.pid(Number(lines(s.dir.join(e.name))[0]));
          }
        }
      },
    );
  }
}

/**
 * Two processes left by the leader, the main process unknown: `a` says
 * READY=1 and pings (run 1 until `hang` exists), `b` only waits. Each
 * notes itself in `procs`, checks nothing of an earlier run is alive
 * (`overlap`), and on SIGABRT notes `aborted`, takes a second, notes
 * `exited`, exits 3.
 */
function twinScript(d: string): string {
  return `D=${d}
trap 'echo $$ >> $D/aborted; sleep 1; echo $$ >> $D/exited; exit 3' ABRT
echo run >> $D/runs.$1
run=$(wc -l < $D/runs.$1)
for p in $(cat $D/procs.$((run - 1)) 2>/dev/null); do
  if [ -r /proc/$p/stat ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ]; then
    echo "pid $p alive as run $run started" >> $D/overlap
  fi
done
echo $$ >> $D/procs.$run
if [ $1 = a ]; then
  ${SENDER} ready sleep:500
  while [ $run -gt 1 ] || [ ! -e $D/hang ]; do ${SENDER} send:WATCHDOG=1 sleep:200; done
fi
sleep 1000 &
wait
`;
}

Deno.test("--forking --watchdog, main process unknown: SIGABRT to every process of the tree, the grace waits for the tree, restarted", async () => {
  await using s = new Services();
  const name = uniqueName("udog");
  const d = s.dir.path;
  Deno.writeTextFileSync(`${d}/twin.sh`, twinScript(d));
  const r = await s.cli([
    "start",
    name,
    "--forking",
    "--ready-notify",
    "--watchdog",
    "2s",
    "--tracking",
    "group",
    "--restart",
    "always",
    "--restart-delay",
    "50ms",
    "--",
    "sh",
    "-c",
    `sh ${d}/twin.sh a & sh ${d}/twin.sh b & exit 0`,
  ]);
  await s.recordAll();
  assert.equal(r.code, 0, r.stderr);
  // Two, or more while a short-lived child of theirs is seen without its parent.
  assert.match(r.stdout, /main process unknown \(\d+ processes\)/, r.stdout + r.stderr);
  const first = lines(`${d}/procs.1`).map(Number);
  for (const pid of first) s.pid(pid);
  assert.equal(first.length, 2);

  Deno.writeTextFileSync(`${d}/hang`, "");
  await waitUntil(async () => {
    const st = await status(s, name);
    return st.state === "running" && st.restarts === 1 && lines(`${d}/procs.2`).length === 2;
  }, { timeoutMs: 40_000, what: "a new tree after the watchdog fired" });
  await s.recordAll();
  for (const pid of lines(`${d}/procs.2`).map(Number)) s.pid(pid);
  const sorted = (xs: string[]) => xs.map(Number).sort((x, y) => x - y);
  const both = [...first].sort((x, y) => x - y);
  assert.deepEqual(sorted(lines(`${d}/aborted`)), both, "SIGABRT reached both processes");
  assert.deepEqual(
    sorted(lines(`${d}/exited`)),
    both,
    "both had the grace and exited on their own",
  );
  assert.deepEqual(lines(`${d}/overlap`), [], "never two trees at once");
  const log = Deno.readTextFileSync(s.dir.join(`${name}.log`));
  assert.match(log, /its processes \(main process unknown\) exited after SIGABRT \(watchdog\)/);
  assert.equal((await s.cli(["stop", name])).code, 0);
  assert.deepEqual(markedProcesses(name), []);
});
