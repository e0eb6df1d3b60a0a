/**
 * Escaping trees: services that setsid, double-fork, fork 300 processes,
 * ignore SIGTERM, or exit while their children live; and one that clears
 * its environment and calls setsid, with its parent alive or orphaned (the
 * group tier finds it through the parent chain, or as an orphan adopted by
 * the supervisor, a child subreaper). After `pidkit stop`: no survivor in
 * either tier.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { findCgroup2 } from "../../src/tree/cgroup.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markedProcesses, pidkit, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { sleep } from "./util.ts";

interface Case {
  name: string;
  script: string;
  /** Processes of the service to wait for before stopping. */
  expect: number;
  /** Clears its environment and leaves the session: only cgroups, the parent chain or the subreaper find it. */
  escapesMarker?: boolean;
}

const CASES: Case[] = [
  {
    name: "setsid",
    script: "setsid sleep 600 & setsid sh -c 'sleep 600 & wait' & wait",
    expect: 4,
  },
  { name: "double-fork", script: "(sh -c 'sleep 600 & sleep 600 &' &); sleep 600", expect: 3 },
  {
    name: "fork-300",
    script: "i=0; while [ $i -lt 300 ]; do sleep 600 & i=$((i+1)); done; wait",
    expect: 301,
  },
  {
    name: "ignores-term",
    script: "trap '' TERM; sh -c 'trap \"\" TERM; sleep 600' & sleep 600 & wait; wait",
    expect: 3,
  },
  { name: "leader-exits", script: "sleep 600 & setsid sleep 600 & sleep 0.3; exit 0", expect: 1 },
  {
    name: "clears-env-and-setsid",
    script: "env -i setsid sleep 600 & echo $! > escaped.pid; sleep 600",
    expect: 2,
    escapesMarker: true,
  },
  {
    name: "clears-env-and-setsid-orphaned",
    script: "sh -c 'env -i setsid sleep 600 & echo $! > escaped.pid'; sleep 600",
    expect: 1,
    escapesMarker: true,
  },
];

export const escapingTrees: Scenario = {
  name: "escaping-trees",
  shows: "services that setsid, double-fork, fork 300 processes, ignore SIGTERM or exit before " +
    "their children, or clear their environment and setsid: after stop no survivor in " +
    "either tier (the group tier follows the parent chain; the supervisor is a subreaper).",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 2, 1);
    const tiers: ("cgroup" | "group")[] = ["group"];
    const cg = findCgroup2();
    if (cg) tiers.unshift("cgroup");
    else tally.note("cgroup tier skipped: no writable cgroup2 here");
    if (options.quick && tiers.length > 1) tiers.pop(); // quick: the best tier only
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("et");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    for (let r = 0; r < n; r++) {
      for (const tier of tiers) {
        for (const c of CASES) {
          tally.rounds++;
          tally.faults++;
          const name = `${prefix}-${tier}-${c.name}-${r}`;
          const cwd = dir.join(name);
          Deno.mkdirSync(cwd);
          const start = await pidkit([
            "start",
            name,
            "--dir",
            dir.path,
            "--tracking",
            tier,
            "--cwd",
            cwd,
            "--retry",
            "TERM/1/KILL/5",
            "--ready-after",
            "50ms",
            "--",
            "sh",
            "-c",
            c.script,
          ]);
          reaper.record();
          if (start.code !== 0) {
            tally.violation(`${name}: start failed: ${start.stderr.trim()}`);
            continue;
          }
          const deadline = Date.now() + 10_000;
          while (markedProcesses(name).length < c.expect && Date.now() < deadline) await sleep(20);
          let escaped: number | undefined;
          let escapedStart: number | undefined;
          if (c.escapesMarker) {
            while (escapedStart === undefined && Date.now() < deadline) {
              try {
                escaped = Number(Deno.readTextFileSync(`${cwd}/escaped.pid`));
                escapedStart = startTimeOf(escaped);
              } catch { /* not yet written */ }
              if (escapedStart === undefined) await sleep(20);
            }
          }
          if (c.name === "leader-exits") await sleep(600); // let the leader exit first
          const stop = await pidkit(["stop", name, "--dir", dir.path], { timeoutMs: 30_000 });
          if (stop.code !== 0) {
            tally.violation(`${name}: stop exited ${stop.code}: ${stop.stderr.trim()}`);
          }
          const left = markedProcesses(name);
          if (left.length > 0) {
            tally.violation(`${name} (${tier}): ${left.length} survivors after stop`);
          }
          if (escaped !== undefined && escapedStart !== undefined) {
            const survived = startTimeOf(escaped) === escapedStart;
            if (survived) {
              tally.violation(`${name}: the env-clearing setsid child survived the ${tier} tier`);
              try {
                Deno.kill(escaped, "SIGKILL");
              } catch { /* gone */ }
            }
          }
        }
      }
    }
    return tally.result();
  },
};
