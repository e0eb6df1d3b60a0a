/**
 * Load: 200 services started (4 at a time) in one run directory, listed,
 * stopped. Every service must be held by the directory's one resident
 * supervisor; reports its PSS (/proc/PID/smaps_rollup), the total PSS of
 * pidkit's own processes (every live process running pidkit's CLI: with
 * nothing in flight, that is the supervisor alone), its RSS, and the time
 * per operation; every start and stop must succeed and `list` must show
 * every service running.
 *
 * @module
 */

import { CLI, tempDir } from "../_util/helpers.ts";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { askSupervisor } from "../../src/service/control/supervisor_client.ts";
import {
  isResident,
  markedProcesses,
  pidkit,
  pssKiB,
  rssKiB,
  ServiceReaper,
  uniquePrefix,
  ussKiB,
} from "./cli_util.ts";

function rssAnonKiB(pid: number): number {
  try {
    const m = /RssAnon:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Every live process running pidkit's CLI for run dir `dir` (the resident
 * supervisor, and any command still running).
 */
function pidkitProcesses(dir: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (argv.some((a) => a === CLI || a === `file://${CLI}`) && argv.includes(dir)) {
        found.push(Number(e.name));
      }
    } catch { /* gone */ }
  }
  return found;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : 0;
}

async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export const load: Scenario = {
  name: "load",
  shows: "200 services started in one run dir, listed and stopped: all succeed, one resident " +
    "supervisor holds them all; its PSS, the total PSS of pidkit's processes and the time per " +
    "start, list and stop are reported.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 200, 10);
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("ld");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const startMs: number[] = [];
    await pool(names, 4, async (name) => {
      tally.rounds++;
      const o = await pidkit(["start", name, "--dir", dir.path, "--", "sleep", "600"]);
      startMs.push(o.ms);
      if (o.code !== 0) tally.violation(`${name}: start failed: ${o.stderr.trim()}`);
    });
    reaper.record();
    // One resident supervisor holds them all: the one DIR/supervisor.lock names.
    const sups = new Set(names.flatMap((name) => {
      try {
        const s = readServiceRecordSync(dir.join(`${name}.json`));
        return s ? [s.supervisor.pid] : [];
      } catch {
        return [];
      }
    }));
    let resident = 0;
    try {
      resident = Number(Deno.readTextFileSync(dir.join("supervisor.lock")).trim());
    } catch { /* checked below */ }
    if (!isResident(resident, dir.path)) {
      tally.violation(`supervisor.lock names ${resident}, not a resident supervisor of the dir`);
    }
    if (sups.size !== 1 || !sups.has(resident)) {
      tally.violation(
        `the records name ${sups.size} supervisors (${[...sups].slice(0, 5).join(", ")}), ` +
          `not the one in supervisor.lock (${resident})`,
      );
    }
    const pss = pssKiB(resident);
    const uss = ussKiB(resident);
    const rss = rssKiB(resident);
    const anon = rssAnonKiB(resident);
    const own = pidkitProcesses(dir.path);
    const ownPss = own.reduce((t, p) => t + pssKiB(p), 0);
    const hello = await askSupervisor<{ services: string[]; memory: Deno.MemoryUsage }>(
      dir.path,
      { op: "hello" },
      { launch: false },
    ).catch(() => undefined);
    if (hello?.services.length !== n) {
      tally.violation(`the supervisor says it holds ${hello?.services.length} of ${n} services`);
    }
    const list = await pidkit(["list", "--dir", dir.path, "--json"], { timeoutMs: 120_000 });
    let running = 0;
    try {
      const parsed = JSON.parse(list.stdout);
      const rows: { state?: string }[] = Array.isArray(parsed) ? parsed : parsed.services ?? [];
      running = rows.filter((r) => r.state === "running").length;
    } catch {
      tally.violation(`list --json printed no JSON: ${list.stderr.trim()}`);
    }
    if (running !== n) tally.violation(`list shows ${running} of ${n} services running`);
    const status = await pidkit(["status", "--dir", dir.path, "--json"], { timeoutMs: 120_000 });
    if (status.code !== 0) tally.violation(`status of all exited ${status.code}`);
    const stopMs: number[] = [];
    await pool(names, 4, async (name) => {
      const o = await pidkit(["stop", name, "--dir", dir.path]);
      stopMs.push(o.ms);
      if (o.code !== 0) tally.violation(`${name}: stop failed: ${o.stderr.trim()}`);
    });
    const left = markedProcesses(prefix).length;
    if (left) tally.violation(`${left} service processes left after stopping all`);
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    tally.note(
      `${n} services in one run dir: the resident supervisor's PSS ${mib(pss)} MiB ` +
        `(USS ${mib(uss)} MiB, RSS ${mib(rss)} MiB, anonymous ${mib(anon)} MiB, V8 heap used ` +
        `${((hello?.memory.heapUsed ?? 0) / 1048576).toFixed(1)} MiB); pidkit's own processes: ` +
        `${own.length}, PSS ${mib(ownPss)} MiB in total; start median ` +
        `${median(startMs).toFixed(0)} ms, list ${list.ms.toFixed(0)} ms, status (all) ` +
        `${status.ms.toFixed(0)} ms, stop median ${median(stopMs).toFixed(0)} ms (4 at a time)`,
    );
    return tally.result();
  },
};
