/**
 * What a `pidkit stop` of an orphaned tree (its supervisor was killed)
 * writes down, as the supervisor would have: the record says `stopping`
 * while it stops the tree and names the stop as `stopper` (it holds the PID
 * file's lock meanwhile, so `status` shows `stopping`, not a new supervisor
 * `starting`), the log gets the stopping and stopped lines, and the record
 * ends `stopped`. And the schedule goes on where a supervisor killed in the
 * middle of a stop left it, rather than from the start again.
 *
 * @module
 */

import { readProcStat } from "../../os/proc.ts";
import type { RetryStep } from "../../tree/stop_schedule.ts";
import { type ServiceRecord, writeServiceRecord } from "../model/service_record.ts";

/**
 * The rest of a stop schedule `elapsedMs` after it began: the steps whose
 * waits are over are dropped; the signal of the step in progress is sent
 * again with what is left of its wait. A schedule with `forever` is kept.
 *
 * @example
 * ```ts
 * import { remainingSteps } from "./_orphan_stop.ts";
 * import { parseRetry } from "../../tree/stop_schedule.ts";
 * remainingSteps(parseRetry("TERM/20/KILL/5"), 2000); // TERM, 18 s, KILL, 5 s
 * ```
 */
export function remainingSteps(steps: RetryStep[], elapsedMs: number): RetryStep[] {
  if (!(elapsedMs > 0) || steps.some((s) => s.forever)) return steps;
  let left = elapsedMs;
  let signal: Deno.Signal | undefined;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (s.signal !== undefined) {
      signal = s.signal;
      continue;
    }
    const wait = s.timeoutMs ?? 0;
    const last = !steps.slice(i + 1).some((t) => t.signal !== undefined);
    if (left < wait || last) {
      const rest = { timeoutMs: Math.max(0, wait - left) };
      return [...(signal ? [{ signal }] : []), rest, ...steps.slice(i + 1)];
    }
    left -= wait;
  }
  return steps;
}

/** What {@linkcode noteOrphanStop} returns: call it once the tree is stopped. */
export type OrphanStopDone = (
  outcome: { lastSignal?: string; durationMs: number; survivors: number[] },
) => Promise<void>;

/**
 * Write that this process stops the orphaned tree of `state` (record at
 * `path`): phase `stopping`, `stopper` this process, a log line. Returns
 * what writes the end. Failures to write are not the stop's: ignored.
 *
 * @example
 * ```ts
 * import { noteOrphanStop } from "./_orphan_stop.ts";
 * import { readServiceRecordSync } from "../model/service_record.ts";
 * const state = readServiceRecordSync("/tmp/pidkit-example/web.json");
 * if (state?.tree) {
 *   const done = await noteOrphanStop("/tmp/pidkit-example/web.json", state);
 *   await done({ lastSignal: "SIGTERM", durationMs: 20, survivors: [] });
 * }
 * ```
 */
export async function noteOrphanStop(path: string, state: ServiceRecord): Promise<OrphanStopDone> {
  const pid = state.tree?.pid;
  const me = readProcStat("self");
  const stopping: ServiceRecord = {
    ...state,
    phase: "stopping",
    updatedAt: new Date().toISOString(),
    ...(me ? { stopper: { pid: Deno.pid, startTime: me.startTime } } : {}),
  };
  await writeServiceRecord(path, stopping).catch(() => {});
  const log = await openLog(state.log);
  await log?.line(
    `stopping ${state.name} (pid ${pid}), orphaned: its supervisor is gone; pidkit stop (pid ${Deno.pid}) stops it`,
  );
  return async ({ lastSignal, durationMs, survivors }) => {
    const at = new Date().toISOString();
    const end: ServiceRecord = {
      ...stopping,
      phase: "stopped",
      // Not our child: how it ended is unknown (the last signal sent is in the log).
      lastExit: { code: null, signal: null, at },
      updatedAt: at,
    };
    delete end.tree;
    delete end.spawning;
    delete end.stopper;
    const how = survivors.length > 0 ? `; ${survivors.length} processes survived` : "";
    await log?.line(
      `stopped ${state.name} (pid ${pid}, orphaned)${
        lastSignal ? ` after ${lastSignal.replace(/^SIG/, "")}` : ""
      } in ${Math.round(durationMs)} ms${how}`,
    );
    await log?.close();
    // Survivors: the tree still runs; the record keeps naming it.
    if (survivors.length === 0) await writeServiceRecord(path, end).catch(() => {});
  };
}

async function openLog(path: string) {
  try {
    const { LogSink } = await import("../output/log_sink.ts");
    return await LogSink.open(path, { times: true });
  } catch {
    return undefined; // a log we cannot open does not stop the stop
  }
}
