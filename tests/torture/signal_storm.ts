/**
 * Signal storms: bursts of SIGHUP, SIGUSR1 and SIGUSR2 at a supervisor
 * (it must survive, keep its service, and never open the V8 inspector),
 * then a burst of SIGTERMs (it must stop the whole tree, write the final
 * state and release the lock, exactly once). And concurrent `stop` and
 * `restart` of one service from several processes: never two service trees
 * at once, no hang, nothing left after the final stop.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { probe } from "../../mod.ts";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markedProcesses, pidkit, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { pick, sleep } from "./util.ts";

const SERVICE = ["sh", "-c", "trap '' HUP USR1 USR2; sleep 600 & wait; wait"];

function inspectorListening(): boolean {
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[1]?.endsWith(":2405") && cols[3] === "0A") return true;
      }
    } catch { /* no such table */ }
  }
  return false;
}

export const signalStorm: Scenario = {
  name: "signal-storm",
  shows: "bursts of HUP/USR1/USR2 at a supervisor (it survives with its service, no inspector " +
    "opens) and then of TERM (one clean stop: tree gone, lock released, state stopped).",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 8, 1);
    const burst = options.quick ? 60 : 200;
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("ss");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    if (inspectorListening()) {
      tally.note("port 9229 was already listening: inspector check is moot");
    }
    const before = inspectorListening();
    for (let i = 0; i < n; i++) {
      tally.rounds++;
      const name = `${prefix}-${i}`;
      const s = await pidkit(["start", name, "--dir", dir.path, "--", ...SERVICE]);
      reaper.record();
      if (s.code !== 0) {
        tally.violation(`${name}: start failed: ${s.stderr.trim()}`);
        continue;
      }
      const state = readServiceRecordSync(dir.join(`${name}.json`))!;
      const sup = state.supervisor;
      const tree = state.tree!;
      for (let k = 0; k < burst; k++) {
        try {
          Deno.kill(sup.pid, pick(["SIGHUP", "SIGUSR1", "SIGUSR2"] as const));
          tally.faults++;
        } catch { /* gone: checked below */ }
        if (k % 20 === 0) await sleep(1);
      }
      await sleep(300);
      if (startTimeOf(sup.pid) !== sup.startTime) {
        tally.violation(`${name}: the supervisor died of a HUP/USR1/USR2 storm`);
        continue;
      }
      if (startTimeOf(tree.pid) !== tree.startTime) tally.violation(`${name}: the service died`);
      if (!before && inspectorListening()) tally.violation(`${name}: SIGUSR1 opened the inspector`);
      for (let k = 0; k < 30; k++) {
        try {
          Deno.kill(sup.pid, "SIGTERM");
          tally.faults++;
        } catch { /* it is stopping or gone */ }
      }
      const deadline = Date.now() + 20_000;
      while (startTimeOf(sup.pid) === sup.startTime && Date.now() < deadline) await sleep(20);
      if (startTimeOf(sup.pid) === sup.startTime) {
        tally.violation(`${name}: the supervisor did not stop after a TERM storm`);
        continue;
      }
      if (markedProcesses(name).length) tally.violation(`${name}: tree left after the TERM storm`);
      const found = await probe(dir.join(`${name}.pid`));
      if (found.status === "running") tally.violation(`${name}: lock still held`);
      const last = readServiceRecordSync(dir.join(`${name}.json`));
      if (last?.phase !== "stopped") tally.violation(`${name}: final phase ${last?.phase}`);
      const log = Deno.readTextFileSync(dir.join(`${name}.log`));
      if (/supervisor error/.test(log)) tally.violation(`${name}: supervisor error in the log`);
    }
    await concurrentStopRestart(tally, dir.path, prefix, reaper, rounds(options, 10, 1));
    return tally.result();
  },
};

async function concurrentStopRestart(
  tally: Tally,
  dir: string,
  prefix: string,
  reaper: ServiceReaper,
  n: number,
): Promise<void> {
  const trees: number[] = [];
  for (let i = 0; i < n; i++) {
    tally.rounds++;
    const name = `${prefix}-sr-${i}`;
    const s = await pidkit([
      "start",
      name,
      "--dir",
      dir,
      "--ready-after",
      "50ms",
      "--",
      "sleep",
      "600",
    ]);
    reaper.record();
    if (s.code !== 0) {
      tally.violation(`${name}: start failed: ${s.stderr.trim()}`);
      continue;
    }
    let maxTrees = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxTrees = Math.max(maxTrees, markedProcesses(name).length);
        reaper.record();
        await sleep(15);
      }
    })();
    const cmds = Array.from({ length: 6 }, () => pick(["stop", "restart"]));
    const outs = await Promise.all(
      cmds.map((c) =>
        pidkit([c, name, "--dir", dir, "--retry", "TERM/5/KILL/5"], { timeoutMs: 40_000 })
      ),
    );
    tally.faults += cmds.length;
    sampling = false;
    await sampler;
    trees.push(maxTrees);
    outs.forEach((o, k) => {
      if (o.timedOut) tally.violation(`${name}: ${cmds[k]} hung`);
      if (/\n\s+at |Uncaught/.test(o.stderr)) tally.violation(`${name}: ${cmds[k]} crashed`);
      if (cmds[k] === "stop" && o.code !== 0) {
        tally.violation(`${name}: concurrent stop exited ${o.code}: ${o.stderr.trim()}`);
      }
      if (
        cmds[k] === "restart" && o.code !== 0 &&
        !/already running|stopped during start-up/.test(o.stderr)
      ) {
        tally.violation(`${name}: concurrent restart exited ${o.code}: ${o.stderr.trim()}`);
      }
    });
    if (maxTrees > 1) tally.violation(`${name}: ${maxTrees} service trees alive at once`);
    const live = markedProcesses(name).length;
    const st = await pidkit(["status", name, "--dir", dir, "--json"]);
    let phase = "?";
    try {
      phase = JSON.parse(st.stdout).state;
    } catch { /* below */ }
    if (live > 0 && !["running", "starting"].includes(phase)) {
      tally.violation(`${name}: status says ${phase} while the service runs`);
    }
    if (live === 0 && ["running", "starting"].includes(phase)) {
      tally.violation(`${name}: status says ${phase} but nothing runs`);
    }
    const stop = await pidkit(["stop", name, "--dir", dir]);
    if (stop.code !== 0 || markedProcesses(name).length > 0) {
      tally.violation(`${name}: final stop left processes (${stop.stderr.trim()})`);
    }
  }
}
