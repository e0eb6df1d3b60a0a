/**
 * The main process a `--forking` service's record names, while it is still
 * that process: what `status` and `stop` of an orphan, and a supervisor
 * adopting one, go by when the group tier cannot see the daemon (it left
 * the session and cleared its environment, as nginx does).
 *
 * @module
 */

import { CLOCK_TICKS_PER_SECOND, isDeadState, readProcStat } from "../../os/proc.ts";
import { bootTimeMs } from "../../lock/unlocked_pid_file.ts";
import type { ServiceRecord } from "../model/service_record.ts";

/** A process started this long after a record was last written is not the one it names. */
const RECORD_SLACK_MS = 200;

/**
 * The main process a `--forking` service's record names (PID and start
 * time), while it is still that process: the start time the record keeps
 * (`mainStartTime`); in a record without one (written before 0.3), started
 * no earlier than the tree's leader and no later than the record was last
 * written. Whether it is one of the tree is the caller's to check.
 *
 * @example
 * ```ts
 * import { recordedMainProcess } from "./recorded_main.ts";
 * import { readServiceRecordSync } from "../model/service_record.ts";
 * const record = readServiceRecordSync("/run/pidkit/cache.json");
 * if (record) console.log(recordedMainProcess(record)?.pid);
 * ```
 */
export function recordedMainProcess(
  record: Pick<ServiceRecord, "options" | "mainPid" | "mainStartTime" | "tree" | "updatedAt">,
): { pid: number; startTime: number } | undefined {
  const { mainPid, mainStartTime } = record;
  if (record.options?.forking !== true || mainPid === undefined) return undefined;
  const st = readProcStat(mainPid);
  if (st === undefined || isDeadState(st.state)) return undefined;
  if (mainStartTime !== undefined) {
    return st.startTime === mainStartTime ? { pid: mainPid, startTime: st.startTime } : undefined;
  }
  if (record.tree !== undefined && st.startTime < record.tree.startTime) return undefined;
  const startedAtMs = bootTimeMs().ms + st.startTime * 1000 / CLOCK_TICKS_PER_SECOND;
  const writtenAtMs = Date.parse(record.updatedAt);
  if (Number.isNaN(writtenAtMs) || startedAtMs > writtenAtMs + RECORD_SLACK_MS) return undefined;
  return { pid: mainPid, startTime: st.startTime };
}
