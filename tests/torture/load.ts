/**
 * Load: 200 services started (4 at a time), listed, stopped. Reports the
 * supervisors' total resident memory and the time per operation; every
 * start and stop must succeed and `list` must show every service running.
 *
 * @module
 */

import { tempDir } from "../helpers.ts";
import { readServiceRecordSync } from "../../src/service/service_record.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markedProcesses, pidkit, rssKiB, ServiceReaper, uniquePrefix } from "./cli_util.ts";

function rssAnonKiB(pid: number): number {
  try {
    const m = /RssAnon:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
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
  shows: "200 services started, listed and stopped: all succeed; the supervisors' total RSS and " +
    "the time per start, list and stop are reported.",
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
    const sups = names.flatMap((name) => {
      try {
        const s = readServiceRecordSync(dir.join(`${name}.json`));
        return s ? [s.supervisor.pid] : [];
      } catch {
        return [];
      }
    });
    const rss = sups.reduce((t, p) => t + rssKiB(p), 0);
    const anon = sups.reduce((t, p) => t + rssAnonKiB(p), 0);
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
    tally.note(
      `${n} services: supervisors' RSS ${(rss / 1024).toFixed(0)} MiB total ` +
        `(${(rss / 1024 / Math.max(1, sups.length)).toFixed(1)} MiB each, anonymous ` +
        `${(anon / 1024 / Math.max(1, sups.length)).toFixed(1)} MiB each); start median ` +
        `${median(startMs).toFixed(0)} ms, list ${list.ms.toFixed(0)} ms, status (all) ` +
        `${status.ms.toFixed(0)} ms, stop median ${median(stopMs).toFixed(0)} ms (4 at a time)`,
    );
    return tally.result();
  },
};
