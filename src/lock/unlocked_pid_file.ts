/**
 * The verification ladder for a PID file whose lock is free: most daemons
 * (nginx, redis, sshd, postgres) write their PID file without any lock, so
 * a free lock alone does not mean "not running". Steps, first match wins:
 *
 * 1. no PID, a dead PID, a zombie, a record from another boot (its
 *    `bootId`), or a file last written before this boot: stale;
 * 2. a JSON record with a `startTime` that the live process does not have:
 *    stale (the PID was reused);
 * 3. a live PID whose process started *after* the file was last written
 *    (start time, field 22 of `/proc/PID/stat`, plus the boot time, against
 *    the file's mtime): stale. That is exactly what PID reuse looks like: the
 *    daemon wrote the file, died, and the kernel gave its PID to a newcomer;
 * 4. otherwise (it started no later than the last write): running, unlocked.
 *
 * Precision: start times are in clock ticks (10 ms), truncated, so a
 * process always seems to start up to 10 ms *earlier* than it did; the boot
 * time comes from `clock_gettime` (REALTIME minus BOOTTIME, exact) or, where
 * FFI is not allowed, from `/proc/uptime` (10 ms more leeway). But file
 * times are coarse: the kernel stamps them with the time of the last timer
 * tick (up to 4 ms early with HZ=250, 10 ms with HZ=100), and Deno gives
 * them in whole ms: a daemon that writes its file within a millisecond of
 * starting (nginx's master does) was measured up to 5.5 ms "after" its
 * file here. Hence {@linkcode START_TOLERANCE_MS} (25 ms): a PID reused
 * within 25 ms of the file's last write is taken for the writer. A wall-clock step between the write and the check shifts the
 * comparison by the step: forward makes a live daemon look stale (never
 * harmful: nothing is signalled), backward by more than the time between
 * the write and a reuse makes a reused PID look like the writer; the
 * identity options (`--exec`, `--name`, `--user`) still guard a stop then.
 *
 * @module
 */

import { libc } from "../os/libc.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  readBootId,
  readProcStat,
  readUptimeSeconds,
} from "../os/proc.ts";
import type { PidRecord } from "./record.ts";
import { parsePlainPid } from "./plain_pid.ts";

/** How much later than the file's mtime a process may seem to start and still count as its writer, ms. */
export const START_TOLERANCE_MS = 25;

/** What the ladder found for an unlocked file. */
export type UnlockedVerdict =
  | {
    /** The PID is live and started no later than the file's last write. */
    state: "running";
    pid: number;
    /** Its start time in clock ticks after boot. */
    startTime: number;
    /** How it was verified: `recorded-start-time` or `start-time`. */
    verifiedBy: string;
    /** One line for people: how the verdict was reached. */
    detail: string;
  }
  | {
    /** Not running: nothing to signal. */
    state: "stale";
    pid?: number;
    /** One line: why it is stale. */
    reason: string;
  };

/**
 * The wall-clock time of boot in ms since the epoch: exact from
 * `clock_gettime(CLOCK_REALTIME) - clock_gettime(CLOCK_BOOTTIME)` where FFI
 * is allowed, else from `/proc/uptime` (10 ms resolution).
 */
export function bootTimeMs(): { ms: number; exact: boolean } {
  const lib = libc();
  if (lib !== undefined) {
    const ts = new BigInt64Array(2);
    const buf = new Uint8Array(ts.buffer);
    const read = (clock: number) => {
      if (lib.clock_gettime(clock, buf) !== 0) return undefined;
      return Number(ts[0]) * 1000 + Number(ts[1]) / 1e6;
    };
    const real = read(0 /* CLOCK_REALTIME */);
    const boot = read(7 /* CLOCK_BOOTTIME */);
    if (real !== undefined && boot !== undefined) return { ms: real - boot, exact: true };
  }
  return { ms: Date.now() - readUptimeSeconds() * 1000, exact: false };
}

/**
 * The PID on the first line of a file that is no PID record as a whole
 * (postgres' `postmaster.pid`: PID, data directory, start time, port...),
 * and the other lines, which are shown but never parsed. `undefined` when
 * the first line is no PID.
 */
export function firstLinePid(text: string): { pid: number; rest: string[] } | undefined {
  const lines = text.split("\n");
  const pid = parsePlainPid((lines[0] ?? "").trimStart());
  if (pid === undefined) return undefined;
  const rest = lines.slice(1);
  while (rest.length > 0 && rest.at(-1)!.trim() === "") rest.pop();
  return { pid, rest };
}

/**
 * Run the ladder for a file whose lock is free, naming `pid` (from its
 * record, when it has one), last written at `mtimeMs`.
 *
 * @example
 * ```ts
 * import { judgeUnlocked } from "./unlocked_pid_file.ts";
 * const st = Deno.statSync("/run/nginx.pid");
 * const pid = Number(Deno.readTextFileSync("/run/nginx.pid"));
 * console.log(judgeUnlocked({ pid, mtimeMs: st.mtime!.getTime() }));
 * ```
 */
export function judgeUnlocked(
  file: { pid: number | undefined; record?: PidRecord; mtimeMs: number | undefined },
): UnlockedVerdict {
  const { pid, record, mtimeMs } = file;
  if (pid === undefined) return { state: "stale", reason: "the file names no PID" };
  if (record?.bootId !== undefined && record.bootId !== readBootId()) {
    return { state: "stale", pid, reason: `written in an earlier boot (boot id ${record.bootId})` };
  }
  const boot = bootTimeMs();
  if (mtimeMs !== undefined && mtimeMs < boot.ms - 1000) {
    return { state: "stale", pid, reason: "last written before this boot" };
  }
  const st = readProcStat(pid);
  if (st === undefined) return { state: "stale", pid, reason: `pid ${pid} is not running` };
  if (isDeadState(st.state)) return { state: "stale", pid, reason: `pid ${pid} is a zombie` };
  if (record?.startTime !== undefined) {
    if (record.startTime !== st.startTime) {
      return {
        state: "stale",
        pid,
        reason:
          `pid ${pid} started at tick ${st.startTime}, the file recorded ${record.startTime}: ` +
          `the PID was reused`,
      };
    }
    return {
      state: "running",
      pid,
      startTime: st.startTime,
      verifiedBy: "recorded-start-time",
      detail: "its start time matches the one recorded in the file",
    };
  }
  if (mtimeMs === undefined) {
    return { state: "stale", pid, reason: "the file's modification time is unknown" };
  }
  const startMs = boot.ms + (st.startTime * 1000) / CLOCK_TICKS_PER_SECOND;
  const tolerance = boot.exact ? START_TOLERANCE_MS : START_TOLERANCE_MS + 10;
  const gap = startMs - mtimeMs;
  if (gap > tolerance) {
    return {
      state: "stale",
      pid,
      reason: `pid ${pid} started ${describeMs(gap)} after the file was last written: ` +
        `the PID was reused`,
    };
  }
  return {
    state: "running",
    pid,
    startTime: st.startTime,
    verifiedBy: "start-time",
    detail: `pid ${pid} started ${describeMs(Math.max(0, -gap))} before the file was last written`,
  };
}

function describeMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
