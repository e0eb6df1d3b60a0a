/**
 * Supervisor crashes: SIGKILL the supervisor at a random moment while
 * `pidkit start`, `pidkit restart` or `pidkit stop` runs, or while the service
 * just runs (so every such round leaves an orphan). The service writes
 * a line every 20 ms. Afterwards `status` must not call a live tree "not
 * running"; an orphaned tree must stay alive although it writes (its output
 * goes to a FIFO it holds read-write, never SIGPIPE); a `start` while the tree
 * is orphaned must adopt it (exit 1 "already running ... adopted", no second
 * instance, `status` running again); `stop` must end every process of the
 * service, and a new `start` must succeed.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../helpers.ts";
import { probe } from "../../mod.ts";
import { readServiceRecordSync } from "../../src/service/service_record.ts";
import { readCmdline, readProcStat } from "../../src/os/proc.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markedProcesses, pidkit, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { randInt, sleep } from "./util.ts";

const TREE = ["sh", "-c", "sleep 600 & while :; do echo tick; sleep 0.02; done"];
/** `run`: the kill lands while the service runs and nothing else happens (an orphan for sure). */
const PHASES = ["start", "restart", "stop", "run"] as const;

export const supervisorCrash: Scenario = {
  name: "supervisor-crash",
  shows: "SIGKILL of the supervisor at random moments during start, restart, stop and while it " +
    "runs: status " +
    "never calls a live tree not running, a chatty orphan stays alive, a start while orphaned " +
    "adopts it (no second instance), stop ends every process, the next start succeeds.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 12, 1);
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("sc");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    const counts = { orphaned: 0, adopted: 0 };
    const jobs: { phase: typeof PHASES[number]; i: number }[] = [];
    for (let i = 0; i < n; i++) for (const phase of PHASES) jobs.push({ phase, i });
    // Two rounds at a time (different names): 2 cores.
    for (let k = 0; k < jobs.length; k += 2) {
      await Promise.all(
        jobs.slice(k, k + 2).map(({ phase, i }) =>
          oneRound(tally, reaper, dir.path, `${prefix}-${phase}-${i}`, phase, counts)
        ),
      );
    }
    tally.note(
      `orphaned after the kill: ${counts.orphaned}, adopted by the next start: ${counts.adopted}`,
    );
    return tally.result();
  },
};

const base = (dir: string) => ["--dir", dir, "--ready-after", "50ms"];

/** The supervisor holding the service's PID file now: [pid, start time]. */
async function supervisorOf(dir: string, name: string): Promise<[number, number] | undefined> {
  try {
    const found = await probe(`${dir}/${name}.pid`);
    if (found.status === "running" && found.holderPid !== undefined) {
      const start = startTimeOf(found.holderPid);
      if (start !== undefined) return [found.holderPid, start];
    }
  } catch { /* replaced meanwhile */ }
  try {
    const s = readServiceRecordSync(`${dir}/${name}.json`)?.supervisor;
    if (s && startTimeOf(s.pid) === s.startTime) return [s.pid, s.startTime];
  } catch { /* half way */ }
  return undefined;
}

/** Kill the supervisor after `delay` ms, as soon as there is one; true if one was killed. */
async function killSupervisorAfter(dir: string, name: string, delay: number): Promise<boolean> {
  await sleep(delay);
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const sup = await supervisorOf(dir, name);
    if (sup && startTimeOf(sup[0]) === sup[1]) {
      try {
        Deno.kill(sup[0], "SIGKILL");
        return true;
      } catch { /* gone */ }
    }
    await sleep(5);
  }
  return false;
}

async function oneRound(
  tally: Tally,
  reaper: ServiceReaper,
  dir: string,
  name: string,
  phase: typeof PHASES[number],
  counts: { orphaned: number; adopted: number },
): Promise<void> {
  tally.rounds++;
  if (phase !== "start") {
    const s = await pidkit(["start", name, ...base(dir), "--", ...TREE]);
    reaper.record();
    if (s.code !== 0) {
      tally.violation(`${name}: start before ${phase} failed: ${s.stderr.trim()}`);
      return;
    }
  }
  const cmd = phase === "start"
    ? ["start", name, ...base(dir), "--", ...TREE]
    : phase === "restart"
    ? ["restart", name, "--dir", dir]
    : phase === "stop"
    ? ["stop", name, "--dir", dir]
    : ["status", name, "--dir", dir];
  const running = pidkit(cmd);
  const killed = await killSupervisorAfter(dir, name, randInt(0, phase === "stop" ? 150 : 400));
  const out = await running;
  reaper.record();
  if (killed) tally.faults++;
  if (out.timedOut) tally.violation(`${name}: ${phase} hung after the supervisor was killed`);
  if (/\n\s+at /.test(out.stderr)) tally.violation(`${name}: ${phase} printed a stack trace`);
  if (phase === "stop" && out.code !== 0) {
    tally.violation(
      `${name}: stop exited ${out.code} after the supervisor was killed: ${out.stderr.trim()}`,
    );
  }
  // status must not say "not running" while the service's processes live.
  const live = markedProcesses(name);
  const status = await pidkit(["status", name, "--dir", dir, "--json"]);
  let state = "?";
  try {
    state = JSON.parse(status.stdout).state;
  } catch {
    tally.violation(
      `${name}: status --json printed ${status.stdout.slice(0, 80)} ${status.stderr.trim()}`,
    );
  }
  const stillLive = markedProcesses(name).filter((p) => live.includes(p));
  if (stillLive.length > 0 && !["running", "starting", "stopping", "orphaned"].includes(state)) {
    tally.violation(
      `${name} after ${phase}: status says ${state} while ${stillLive.length} service processes live`,
    );
  }
  if (state === "orphaned") {
    counts.orphaned++;
    // The orphaned tree is the running instance: a start now must refuse,
    // not start a second tree (a new session of marked processes).
    const sessions = () => new Set(markedProcesses(name).map((p) => readProcStat(p)?.sid));
    const before = sessions();
    // It writes a line every 20 ms: with a pipe to the dead supervisor it would be gone by now.
    // (Not the `sleep 0.02` between lines: those end by themselves.)
    const orphans = markedProcesses(name).filter((p) => readCmdline(p)?.join(" ") !== "sleep 0.02");
    await sleep(300);
    const died = orphans.filter((p) => !markedProcesses(name).includes(p));
    if (died.length > 0) {
      tally.violation(`${name}: ${died.length} orphaned processes died after their supervisor`);
    }
    const dup = await pidkit(["start", name, ...base(dir), "--", ...TREE]);
    reaper.record();
    const added = [...sessions()].filter((sid) => sid !== undefined && !before.has(sid));
    if (dup.code !== 1 || !/already running/.test(dup.stderr) || added.length > 0) {
      tally.violation(
        `${name}: start while orphaned exited ${dup.code} with ${added.length} new trees: ` +
          dup.stderr.trim(),
      );
    }
    if (/adopted it/.test(dup.stderr)) {
      counts.adopted++;
      const now = await pidkit(["status", name, "--dir", dir, "--json"]);
      const after = JSON.parse(now.stdout || "{}").state;
      if (after !== "running") tally.violation(`${name}: adopted, but status says ${after}`);
    }
  }
  const stop = await pidkit(["stop", name, "--dir", dir]);
  if (stop.code !== 0) {
    tally.violation(`${name}: stop after the crash exited ${stop.code}: ${stop.stderr.trim()}`);
  }
  const left = markedProcesses(name);
  if (left.length > 0) {
    tally.violation(`${name}: ${left.length} processes left after stop (crash during ${phase})`);
  }
  const again = await pidkit(["start", name, ...base(dir), "--", ...TREE]);
  reaper.record();
  if (again.code !== 0) {
    tally.violation(`${name}: start after the crash failed: ${again.stderr.trim()}`);
  }
  const final = await pidkit(["stop", name, "--dir", dir]);
  if (final.code !== 0 || markedProcesses(name).length > 0) {
    tally.violation(`${name}: final stop left processes (${final.stderr.trim()})`);
  }
}
