/**
 * Isolation inside the one resident supervisor of a run directory: beside a
 * `yes` flooding its log (rotated at 1 MiB, one kept), a service
 * crash-looping with no restart delay, and a service that never gets ready
 * (started again and again with a short --ready-timeout, failing each
 * time), normal services are started and stopped over and over. Each start
 * and stop must succeed within {@linkcode BOUND_MS}; the supervisor must
 * stay the same process, the flood's log bounded, the never-ready tree
 * gone after each failed start. Reports the start and stop durations
 * (median, max; the same cycle with nothing else running as a baseline),
 * the flood's rate, the crash loop's restarts.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markedProcesses, pidkit, residentOf, ServiceReaper, uniquePrefix } from "./cli_util.ts";

/** A start or stop of a normal service slower than this is a violation. */
const BOUND_MS = 5000;
/** Normal services cycled at once. */
const WORKERS = 2;

export const isolation: Scenario = {
  name: "isolation",
  shows: "beside a `yes` flooding its log, a crash loop with no restart delay and a service " +
    "that never gets ready, all in one supervisor: every start and stop of normal services " +
    `succeeds within ${BOUND_MS / 1000} s (durations reported against a quiet baseline), ` +
    "the supervisor stays up, the flood's log stays bounded.",
  async run(options) {
    const tally = new Tally();
    const cycles = rounds(options, 25, 3);
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("is");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    const d = dir.path;
    const cycle = async (name: string, starts: number[], stops: number[]) => {
      tally.rounds++;
      const s = await pidkit(["start", name, "--dir", d, "--", "sleep", "600"]);
      reaper.record();
      starts.push(s.ms);
      if (s.code !== 0) tally.violation(`${name}: start failed: ${s.stderr.trim()}`);
      else if (s.ms > BOUND_MS) tally.violation(`${name}: start took ${s.ms.toFixed(0)} ms`);
      const o = await pidkit(["stop", name, "--dir", d]);
      stops.push(o.ms);
      if (o.code !== 0) tally.violation(`${name}: stop failed: ${o.stderr.trim()}`);
      else if (o.ms > BOUND_MS) tally.violation(`${name}: stop took ${o.ms.toFixed(0)} ms`);
      if (markedProcesses(`${name}:`).length > 0) tally.violation(`${name}: processes after stop`);
    };

    // An anchor keeps the supervisor resident; then the quiet baseline.
    const anchor = await pidkit(["start", `${prefix}-anchor`, "--dir", d, "--", "sleep", "600"]);
    reaper.record();
    if (anchor.code !== 0) {
      tally.violation(`anchor: start failed: ${anchor.stderr.trim()}`);
      return tally.result();
    }
    const sup = residentOf(d);
    const quiet = { starts: [] as number[], stops: [] as number[] };
    for (let i = 0; i < Math.max(3, Math.round(cycles / 3)); i++) {
      await cycle(`${prefix}-quiet`, quiet.starts, quiet.stops);
    }

    // The hostile neighbours.
    const flood = `${prefix}-flood`;
    const crash = `${prefix}-crash`;
    const never = `${prefix}-never`;
    const hostile = [
      [flood, "--log-max-size", "1M", "--log-keep", "1", "--", "yes"],
      [crash, "--restart", "always", "--restart-delay", "0", "--max-restarts", "1000000"]
        .concat(["--ready-after", "0", "--", "sh", "-c", "exit 1"]),
    ];
    for (const [name, ...args] of hostile) {
      const o = await pidkit(["start", name, "--dir", d, ...args]);
      reaper.record();
      if (o.code !== 0) tally.violation(`${name}: start failed: ${o.stderr.trim()}`);
    }
    const yes = readServiceRecordSync(`${d}/${flood}.json`)?.tree?.pid;
    const written0 = yes === undefined ? 0 : writtenBytes(yes);
    const t0 = performance.now();
    // Never ready: started again and again while the normal services cycle.
    let busy = true;
    const nevers: number[] = [];
    const neverLoop = (async () => {
      while (busy) {
        tally.faults++;
        const o = await pidkit([
          "start",
          never,
          "--dir",
          d,
          "--ready-file",
          `${d}/${never}.ready`,
          "--ready-timeout",
          "1s",
          "--",
          "sleep",
          "600",
        ]);
        reaper.record();
        nevers.push(o.ms);
        if (o.code === 0 || !/not ready within/.test(o.stderr)) {
          tally.violation(`${never}: start exited ${o.code}: ${o.stderr.trim().slice(0, 200)}`);
        }
        if (o.ms > 1000 + BOUND_MS) {
          tally.violation(`${never}: its failing start took ${o.ms.toFixed(0)} ms`);
        }
        if (markedProcesses(`${never}:`).length > 0) {
          tally.violation(`${never}: its tree lives on after the failed start`);
        }
      }
    })();
    const loud = { starts: [] as number[], stops: [] as number[] };
    await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; i < cycles; i++) await cycle(`${prefix}-n${w}`, loud.starts, loud.stops);
    }));
    busy = false;
    await neverLoop;
    const seconds = (performance.now() - t0) / 1000;
    const written = yes === undefined ? 0 : writtenBytes(yes) - written0;
    const restarts = readServiceRecordSync(`${d}/${crash}.json`)?.restarts ?? 0;

    // Afterwards: the same supervisor, the flood alive and its log bounded.
    const after = residentOf(d);
    if (sup === undefined || after?.[0] !== sup[0] || after[1] !== sup[1]) {
      tally.violation(`the supervisor changed: ${sup?.[0]} before, ${after?.[0]} after`);
    }
    if (yes === undefined || startTimeOf(yes) === undefined) tally.violation(`${flood} died`);
    const logBytes = [`${flood}.log`, `${flood}.log.1`, `${flood}.log.2`]
      .reduce((t, f) => t + sizeOf(`${d}/${f}`), 0);
    if (logBytes > 3 << 20) {
      tally.violation(`${flood}'s logs take ${(logBytes / 1048576).toFixed(1)} MiB (1M, keep 1)`);
    }
    const ends: string[] = [];
    for (const name of [flood, crash, `${prefix}-anchor`]) {
      const o = await pidkit(["stop", name, "--dir", d]);
      ends.push(`${name.slice(prefix.length + 1)} ${o.ms.toFixed(0)} ms`);
      if (o.code !== 0) tally.violation(`${name}: stop failed: ${o.stderr.trim()}`);
      if (markedProcesses(`${name}:`).length > 0) tally.violation(`${name}: processes after stop`);
    }
    const ms = (xs: number[]) => `median ${pct(xs, 0.5)} ms, max ${pct(xs, 1)} ms`;
    tally.note(
      `normal start ${ms(loud.starts)} (quiet: ${ms(quiet.starts)}); stop ${ms(loud.stops)} ` +
        `(quiet: ${ms(quiet.stops)}); ${loud.starts.length} cycles, ${WORKERS} at a time`,
    );
    tally.note(
      `beside: yes at ${(written / 1048576 / seconds).toFixed(0)} MiB/s into its log ` +
        `(${(logBytes / 1048576).toFixed(1)} MiB on disk), the crash loop restarted ` +
        `${restarts} times (${(restarts / seconds).toFixed(0)}/s), ${nevers.length} never-ready ` +
        `starts failed in ${ms(nevers)}; stops at the end: ${ends.join(", ")}`,
    );
    return tally.result();
  },
};

/** Bytes `pid` has written so far (`wchar` of /proc/PID/io), or 0. */
function writtenBytes(pid: number): number {
  try {
    return Number(/wchar:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/io`))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** The `q` quantile of `xs` (0.5: median, 1: max), rounded to ms. */
function pct(xs: number[], q: number): string {
  if (xs.length === 0) return "-";
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(0);
}
