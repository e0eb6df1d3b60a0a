/**
 * Supervisor crashes: every round runs 24 services in one run directory
 * under its one resident supervisor and SIGKILLs that supervisor while the
 * services are spread over every phase: starting (a readiness that has not
 * come yet), running (plain, and chatty ones writing a line every 50 ms),
 * stopping (a `pidkit stop` in flight of a service that holds out against
 * TERM), restarting (a `pidkit restart` in flight), crash-looping (restart
 * always, in backoff or just respawned), `--forking` (with and without
 * `--main-pidfile`: adopted with the main process they had). Then the next command that needs a
 * supervisor (a `pidkit start` of another service, or `pidkit supervise` in
 * the foreground; sometimes a command in flight gets there first) starts a
 * new one, which must re-adopt every orphan.
 *
 * Checked once every command in flight has ended: each service is either
 * held by the new supervisor (status running, the record names it, `hello`
 * lists it; a plain or chatty one with the very leader it had) or cleanly
 * stopped (no live process carries its marker, its PID file lock free);
 * never two trees of one name alive at once (sampled every 20 ms from the
 * kill on); never a live marked process that no record names (an untracked
 * tree); chatty services alive and their log going on after the adoption.
 * The stops in flight must succeed. Finally SIGTERM of the new supervisor
 * must stop every service and leave nothing.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { probe } from "../../mod.ts";
import {
  readServiceRecordSync,
  type ServiceRecord,
} from "../../src/service/model/service_record.ts";
import { askSupervisor } from "../../src/service/control/supervisor_client.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import {
  InstanceSampler,
  markerName,
  markers,
  pidkit,
  residentOf,
  ServiceReaper,
  spawnPidkit,
  uniquePrefix,
} from "./cli_util.ts";
import { type Output, randInt, sleep } from "./util.ts";

/** What each kind of service runs, and how many of it a round has. */
const CHATTY = ["sh", "-c", 'i=0; while :; do i=$((i+1)); echo "chat $i"; sleep 0.05; done'];
const PLAIN = ["sh", "-c", "sleep 600 & wait"];
/** Holds out against TERM: the stop schedule must go on to KILL. */
const DEAF = ["sh", "-c", "trap '' TERM; sleep 600 & wait; wait"];
/**
 * Takes 0.8 s to go after TERM (the sleep in the trap ignores TERM: a stop
 * signals the tree's newcomers too).
 */
const SLOW_EXIT = [
  "sh",
  "-c",
  `trap 'trap "" TERM; sleep 0.8; exit 0' TERM; while :; do sleep 0.1; done`,
];
const CRASHER = ["sh", "-c", "sleep 0.3; exit 1"];
/** A leader that forks a daemon writing its PID to `main`, and exits 0. */
function forking(main: string): string[] {
  return ["sh", "-c", `sh -c 'sleep 600 & echo $$ > ${main}; wait' & exit 0`];
}

type Kind =
  | "plain"
  | "chatty"
  | "slow-start"
  | "stopping"
  | "restarting"
  | "crashloop"
  | "forking";
const COUNTS: Record<Kind, number> = {
  plain: 9,
  chatty: 4,
  "slow-start": 3,
  stopping: 3,
  restarting: 1,
  crashloop: 2,
  forking: 2,
};

interface Figures {
  orphaned: number;
  adopted: number;
  byTrigger: number;
  byOther: number;
  foreground: number;
  stoppedAsOrphans: number;
  startsCut: number;
  linesLost: number;
  readyUnmet: number;
}

export const supervisorCrash: Scenario = {
  name: "supervisor-crash",
  shows: "SIGKILL of the resident supervisor of 24 services spread over every phase (starting, " +
    "running, chatty, stop and restart in flight, crash-looping, --forking): the next command " +
    "that needs a supervisor (start, supervise) re-adopts every orphan with its leader (a " +
    "--forking one with its main process); each service is " +
    "then held by the new supervisor or cleanly stopped, never two trees of one name, never " +
    "an untracked tree, chatty logs go on, the stops in flight succeed.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 12, 1);
    await using base = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("sc");
    const figures: Figures = {
      orphaned: 0,
      adopted: 0,
      byTrigger: 0,
      byOther: 0,
      foreground: 0,
      stoppedAsOrphans: 0,
      startsCut: 0,
      linesLost: 0,
      readyUnmet: 0,
    };
    for (let i = 0; i < n; i++) {
      // Half the rounds `pidkit supervise` re-adopts (quick mode's one round: either).
      const foreground = options.quick ? Math.random() < 0.5 : i % 2 === 1;
      // The round's names all start with `${prefix}r${i}-` (so r1 is no prefix of r10's).
      await oneRound(tally, base.join(`r${i}`), `${prefix}r${i}-`, foreground, figures);
    }
    tally.note(
      `${n} rounds of ${total()} services: ${figures.orphaned} orphaned by the kills, ` +
        `${figures.adopted} adopted (the new supervisor started by the trigger in ` +
        `${figures.byTrigger} rounds, of them ${figures.foreground} pidkit supervise; by a ` +
        `command in flight in ${figures.byOther}), ` +
        `${figures.stoppedAsOrphans} stops in flight finished as orphan stops, ` +
        `${figures.startsCut} starts in flight cut off (${figures.readyUnmet} services adopted ` +
        `as running whose --ready-file never appeared), ${figures.linesLost} chatty lines lost ` +
        `at the kills`,
    );
    return tally.result();
  },
};

function total(): number {
  return Object.values(COUNTS).reduce((a, b) => a + b, 0);
}

/** One service of a round. */
interface Service {
  name: string;
  kind: Kind;
  /** Its leader when the supervisor was killed (pid, start time), if it had one alive. */
  leader?: [number, number];
  /** A forking service's main PID when the supervisor was killed. */
  main?: number;
}

async function oneRound(
  tally: Tally,
  dir: string,
  prefix: string,
  foreground: boolean,
  figures: Figures,
): Promise<void> {
  tally.rounds++;
  await Deno.mkdir(dir, { mode: 0o700 });
  await using reaper = new ServiceReaper(dir, prefix, tally);
  let supervise: Deno.ChildProcess | undefined;
  const sampler = new InstanceSampler(prefix);
  let sampling: Promise<void> | undefined;
  try {
    const services: Service[] = [];
    for (const [kind, count] of Object.entries(COUNTS) as [Kind, number][]) {
      for (let k = 0; k < count; k++) services.push({ name: `${prefix}${kind}-${k}`, kind });
    }
    // 1. Everything but the slow starts runs (4 starts at a time).
    const steady = services.filter((s) => s.kind !== "slow-start");
    await pool(steady, 4, async (s) => {
      const o = await pidkit(["start", s.name, "--dir", dir, ...startArgs(s, dir)]);
      if (o.code !== 0) tally.violation(`${s.name}: start failed: ${o.stderr.trim()}`);
    });
    reaper.record();
    const old = residentOf(dir);
    debug(`${steady.length} services started`);
    if (old === undefined) {
      tally.violation(`${prefix}: no resident supervisor in supervisor.lock after the starts`);
      return;
    }
    // 2. Commands in flight. The slow starts first, until the supervisor has
    // spawned their trees (so the kill finds them starting, and their
    // commands talk to the old supervisor); then the stops and the restart.
    const inFlight: { s: Service; op: string; out: Promise<Output> }[] = [];
    const launch = (s: Service, args: string[]) =>
      inFlight.push({ s, op: args[0], out: pidkit(args) });
    const slow = services.filter((s) => s.kind === "slow-start");
    for (const s of slow) launch(s, ["start", s.name, "--dir", dir, ...startArgs(s, dir)]);
    await until(() => slow.every((s) => record(dir, s.name)?.tree !== undefined), 5000);
    for (const s of services) {
      if (s.kind === "stopping") {
        launch(s, ["stop", s.name, "--dir", dir, "--retry", "TERM/1.5/KILL/3"]);
      }
      if (s.kind === "restarting") launch(s, ["restart", s.name, "--dir", dir]);
    }
    // Sample the instances of every name from now until the checks.
    sampling = sampler.run();
    // 3. The kill: mostly while the stops are at the supervisor (their
    // services hold out 0.8 to 1.5 s), sometimes before they got there.
    if (Math.random() < 2 / 3) {
      const stopping = services.filter((s) => s.kind === "stopping");
      await until(() => stopping.some((s) => record(dir, s.name)?.phase === "stopping"), 3000);
      await sleep(randInt(0, 300));
    } else await sleep(randInt(0, 300));
    reaper.record();
    if (startTimeOf(old[0]) !== old[1]) {
      tally.violation(`${prefix}: the supervisor died before it was killed`);
    } else {
      Deno.kill(old[0], "SIGKILL");
      tally.faults++;
    }
    while (startTimeOf(old[0]) === old[1]) await sleep(2);
    debug(`killed ${old[0]}`);
    // What the dead supervisor left: each service's live leader.
    for (const s of services) {
      const t = record(dir, s.name)?.tree;
      if (t && startTimeOf(t.pid) === t.startTime) {
        s.leader = [t.pid, t.startTime];
        figures.orphaned++;
      }
      if (s.kind === "forking") {
        s.main = record(dir, s.name)?.mainPid;
        if (s.main !== undefined) figures.orphaned++;
      }
    }
    // 4. The next command that needs a supervisor: `pidkit supervise` at once
    // (a command in flight may still get there first), or a start of another
    // service a moment later.
    const trigger = `${prefix}trigger`;
    let triggerOut: Promise<Output> | undefined;
    let triggeredAt = 0;
    let launched: { pid: number; listening: boolean; text: string } | undefined;
    if (foreground) {
      supervise = spawnPidkit(["supervise", "--dir", dir]);
      launched = await untilListening(supervise);
    } else {
      await sleep(randInt(0, 400));
      triggeredAt = uptimeTicks();
      triggerOut = pidkit(["start", trigger, "--dir", dir, "--", ...PLAIN]);
    }
    const outs = await Promise.all(inFlight.map((f) => f.out));
    const trig = await triggerOut;
    reaper.record();
    debug(`commands in flight done`);
    if (trig && trig.code !== 0) {
      tally.violation(`${trigger}: start after the kill failed: ${trig.stderr.trim()}`);
    }
    if (launched && !launched.listening && !/another supervisor/.test(launched.text)) {
      tally.violation(`${prefix}: pidkit supervise did not listen: ${launched.text.trim()}`);
    }
    outs.forEach((o, k) => {
      const { s, op } = inFlight[k];
      debug(`${s.name}: ${op} exit ${o.code} in ${o.ms.toFixed(0)} ms: ${o.stdout}${o.stderr}`);
      if (o.timedOut) tally.violation(`${s.name}: ${op} in flight hung after the kill`);
      if (/\n\s+at |Uncaught/.test(o.stderr)) {
        tally.violation(`${s.name}: ${op} printed a stack trace: ${o.stderr.trim()}`);
      }
      if (op === "stop" && o.code !== 0) {
        tally.violation(`${s.name}: stop in flight exited ${o.code}: ${o.stderr.trim()}`);
      }
      if (op === "stop" && /orphaned/.test(o.stdout)) figures.stoppedAsOrphans++;
      if (op === "start" && /went away/.test(o.stderr)) figures.startsCut++;
    });
    // 5. The new supervisor and what it holds.
    const now = residentOf(dir);
    if (now === undefined || now[0] === old[0]) {
      tally.violation(`${prefix}: no new resident supervisor after the kill`);
      return;
    }
    const hello = await askSupervisor<{ pid: number; services: string[] }>(
      dir,
      { op: "hello" },
      { launch: false },
    ).catch(() => undefined);
    if (hello?.pid !== now[0]) {
      tally.violation(`${prefix}: hello answered ${JSON.stringify(hello)}, not pid ${now[0]}`);
    }
    const journal = await Deno.readTextFile(`${dir}/supervisor.journal`);
    const adopted = new RegExp(`supervisor \\(pid ${now[0]}\\).*; (\\d+) orphaned`).exec(journal);
    figures.adopted += Number(adopted?.[1] ?? 0);
    // Who started the new supervisor: the trigger, or a command in flight before it.
    if (launched?.listening && launched.pid === now[0]) figures.foreground++;
    if (foreground ? launched?.pid !== now[0] : now[1] < triggeredAt) figures.byOther++;
    else figures.byTrigger++;
    const list = await pidkit(["list", "--dir", dir, "--json"]);
    const states = new Map<string, string>();
    try {
      for (const r of JSON.parse(list.stdout).services) states.set(r.name, r.state);
    } catch {
      tally.violation(`${prefix}: list --json printed no JSON: ${list.stderr.trim()}`);
    }
    const all: Service[] = [...services];
    if (!foreground) all.push({ name: trigger, kind: "plain" });
    await checkServices(tally, dir, prefix, all, now[0], hello?.services ?? [], states);
    figures.readyUnmet += slow.filter((s) =>
      !s.name.endsWith("-0") && ["running", "starting"].includes(states.get(s.name) ?? "") &&
      record(dir, s.name)?.phase === "running"
    ).length;
    // 6. Chatty services go on writing into their logs under the new supervisor.
    const before = all.filter((s) =>
      s.kind === "chatty"
    ).map((s) => chatLines(dir, s.name));
    await sleep(400);
    all.filter((s) => s.kind === "chatty").forEach((s, k) => {
      const after = chatLines(dir, s.name);
      if (after.last <= before[k].last) {
        tally.violation(`${s.name}: its log stopped at line ${after.last} after the adoption`);
      }
      figures.linesLost += after.missing;
    });
    sampler.stop();
    await sampling;
    for (const [name, count] of sampler.doubles) {
      tally.violation(`${name}: ${count} trees alive at once after the kill`);
    }
    debug(`checked`);
    // 7. SIGTERM of the new supervisor stops every service, then it exits.
    reaper.record();
    Deno.kill(now[0], "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (startTimeOf(now[0]) === now[1] && Date.now() < deadline) await sleep(20);
    if (startTimeOf(now[0]) === now[1]) {
      tally.violation(`${prefix}: the new supervisor did not exit within 30 s of SIGTERM`);
    } else {
      const left = markers(prefix);
      if (left.size > 0) {
        tally.violation(`${prefix}: SIGTERM of the supervisor left ${left.size} processes`);
        await reaper.killAll();
      }
    }
    if (supervise) {
      const status = await supervise.status;
      await supervise.stderr.cancel().catch(() => {});
      await supervise.stdout.cancel().catch(() => {});
      if (launched?.listening && status.code !== 0) {
        tally.violation(`${prefix}: pidkit supervise exited ${status.code} after SIGTERM`);
      }
      supervise = undefined;
    }
    debug(`ended`);
  } finally {
    sampler.stop();
    await sampling;
    if (supervise) {
      try {
        supervise.kill("SIGKILL");
      } catch { /* gone */ }
      await supervise.status;
      await supervise.stderr.cancel().catch(() => {});
      await supervise.stdout.cancel().catch(() => {});
    }
    await reaper.killAll();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The end state of every service: held by the new supervisor (with the same
 * leader for the ones that simply ran) or cleanly stopped; no live marked
 * process that the records do not name.
 */
async function checkServices(
  tally: Tally,
  dir: string,
  prefix: string,
  services: Service[],
  supervisor: number,
  held: string[],
  states: Map<string, string>,
): Promise<void> {
  const live = markers(prefix);
  const byName = new Map<string, Set<string>>();
  for (const m of live.values()) {
    const set = byName.get(markerName(m)) ?? new Set();
    set.add(m);
    byName.set(markerName(m), set);
  }
  const known = new Set(services.map((s) => s.name));
  for (const name of byName.keys()) {
    if (!known.has(name)) tally.violation(`${name}: live marked processes of no service`);
  }
  for (const s of services) {
    const state = states.get(s.name) ?? "absent";
    const rec = record(dir, s.name);
    const trees = byName.get(s.name) ?? new Set();
    const untracked = [...trees].filter((m) => m !== rec?.tree?.marker && m !== rec?.spawning);
    // A crash-looper between two samples (its record and /proc) can differ for a moment.
    if (untracked.length > 0 && !(await stillUntracked(dir, s.name, untracked))) {
      untracked.length = 0;
    }
    if (untracked.length > 0) {
      tally.violation(`${s.name} (${s.kind}, ${state}): untracked tree ${untracked.join(", ")}`);
    }
    // A restart back-off keeps the name held (its lock) between two trees.
    if (["running", "starting", "stopping", "reloading", "restarting"].includes(state)) {
      if (rec?.supervisor.pid !== supervisor) {
        tally.violation(
          `${s.name} (${s.kind}): ${state}, but its record names supervisor ` +
            `${rec?.supervisor.pid}, not the new one (${supervisor})`,
        );
      }
      if (!held.includes(s.name)) {
        tally.violation(`${s.name} (${s.kind}): ${state}, but the new supervisor does not hold it`);
      }
      // Adopted, not restarted: the very tree it had (a crash loop may have respawned since).
      if (s.leader && ["plain", "chatty", "slow-start"].includes(s.kind)) {
        const t = rec?.tree;
        if (t?.pid !== s.leader[0] || t.startTime !== s.leader[1]) {
          tally.violation(
            `${s.name} (${s.kind}): adopted with leader ${t?.pid}, it ran as ${s.leader[0]}`,
          );
        }
      }
    } else {
      if (state === "orphaned") {
        tally.violation(`${s.name} (${s.kind}): still orphaned after the new supervisor started`);
      }
      if (trees.size > 0) {
        tally.violation(`${s.name} (${s.kind}): ${state}, but ${trees.size} trees of it live`);
      }
      try {
        const p = await probe(`${dir}/${s.name}.pid`);
        if (p.status === "running") {
          tally.violation(`${s.name} (${s.kind}): ${state}, but its PID file lock is held`);
        }
      } catch (err) {
        tally.violation(`${s.name}: probe of its PID file failed: ${err}`);
      }
    }
    // Adopted, not restarted: the main process it had.
    if (s.kind === "forking" && s.main !== undefined && rec?.mainPid !== s.main) {
      tally.violation(
        `${s.name} (forking): adopted with main pid ${rec?.mainPid}, it ran as ${s.main}`,
      );
    }
    if (["plain", "chatty", "forking"].includes(s.kind) && state !== "running") {
      tally.violation(
        `${s.name} (${s.kind}): ${state} after the kill; it ran and nobody stopped it`,
      );
    }
    if (s.kind === "stopping" && state !== "stopped") {
      tally.violation(`${s.name}: ${state} after its stop in flight succeeded`);
    }
  }
}

/** Whether a marker the record did not name is still alive and still not named, 500 ms on. */
async function stillUntracked(dir: string, name: string, found: string[]): Promise<boolean> {
  await sleep(500);
  const rec = record(dir, name);
  const alive = new Set(markers(name + ":").values());
  return found.some((m) => alive.has(m) && m !== rec?.tree?.marker && m !== rec?.spawning);
}

function startArgs(s: Service, dir: string): string[] {
  switch (s.kind) {
    case "chatty":
      return ["--ready-after", "50ms", "--", ...CHATTY];
    case "plain":
      return ["--ready-after", "50ms", "--", ...PLAIN];
    case "slow-start":
      // Two wait for a file that never comes; one for 4 s of life.
      return s.name.endsWith("-0")
        ? ["--ready-after", "4s", "--ready-timeout", "6s", "--", ...PLAIN]
        : ["--ready-file", `${dir}/${s.name}.ready`, "--ready-timeout", "6s", "--", ...PLAIN];
    case "stopping":
      return ["--ready-after", "50ms", "--", ...(s.name.endsWith("-0") ? SLOW_EXIT : DEAF)];
    case "restarting":
      return ["--ready-after", "50ms", "--", ...SLOW_EXIT];
    case "forking": {
      // One names its main process in a file; the other's is guessed.
      const main = `${dir}/${s.name}.main`;
      const file = s.name.endsWith("-0") ? ["--main-pidfile", main] : [];
      return ["--forking", ...file, "--", ...forking(main)];
    }
    case "crashloop":
      return [
        "--restart",
        "always",
        "--restart-delay",
        "150ms",
        "--max-restarts",
        "1000",
        "--ready-after",
        "100ms",
        "--",
        ...CRASHER,
      ];
  }
}

/** Wait until `done()` holds, at most `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(10);
}

/** PIDKIT_TORTURE_DEBUG=1: the round's steps with times, on stderr. */
const DEBUG = Deno.env.get("PIDKIT_TORTURE_DEBUG") === "1";
const T0 = performance.now();
function debug(text: string): void {
  if (DEBUG) console.error(`[${((performance.now() - T0) / 1000).toFixed(2)} s] ${text.trim()}`);
}

/** The time since boot in clock ticks (what /proc/PID/stat's start time counts). */
function uptimeTicks(): number {
  return Math.floor(Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 100);
}

function record(dir: string, name: string): ServiceRecord | undefined {
  try {
    return readServiceRecordSync(`${dir}/${name}.json`);
  } catch {
    return undefined;
  }
}

/** The last `chat N` line of a chatty service's log, and how many numbers are missing before it. */
function chatLines(dir: string, name: string): { last: number; missing: number } {
  let text = "";
  try {
    text = Deno.readTextFileSync(`${dir}/${name}.log`);
  } catch { /* none yet */ }
  const seen = new Set<number>();
  let last = 0;
  for (const m of text.matchAll(/^chat (\d+)$/gm)) {
    const k = Number(m[1]);
    seen.add(k);
    last = Math.max(last, k);
  }
  let missing = 0;
  for (let k = 1; k <= last; k++) if (!seen.has(k)) missing++;
  return { last, missing };
}

/**
 * Wait until `pidkit supervise` says it listens (its first line on stderr),
 * or exits; the rest of its stderr is drained in the background.
 */
async function untilListening(
  child: Deno.ChildProcess,
): Promise<{ pid: number; listening: boolean; text: string }> {
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => reader.cancel().catch(() => {}), 30_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (/listening/.test(text)) {
        // Keep draining: it writes a line for each service it stops later.
        void (async () => {
          while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
        })();
        return { pid: child.pid, listening: true, text };
      }
    }
  } finally {
    clearTimeout(timer);
  }
  reader.releaseLock();
  return { pid: child.pid, listening: false, text };
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}
