/**
 * A service state file as a supervisor writes it, for tests and benchmarks
 * that fabricate services (a lock holder plus NAME.json) without running a
 * supervisor.
 *
 * @module
 */

import type { ServiceRecord } from "../../src/service/model/service_record.ts";
import { readBootId, readProcStat } from "../../src/os/proc.ts";

/**
 * A version-1 state for service `name` in `dir`, phase `running`, with this
 * process as the supervisor, overridden by `change`.
 */
export function fakeState(
  dir: string,
  name: string,
  change: Partial<ServiceRecord> = {},
): ServiceRecord {
  const now = new Date().toISOString();
  return {
    version: 1,
    name,
    phase: "running",
    supervisor: { pid: Deno.pid, startTime: readProcStat(Deno.pid)!.startTime },
    command: ["sleep", "1000"],
    cwd: dir,
    env: {},
    options: {
      restart: "no",
      maxRestarts: 10,
      restartDelayMs: 100,
      retry: "TERM/10/KILL/5",
      tracking: "group",
    },
    pidfile: `${dir}/${name}.pid`,
    log: `${dir}/${name}.log`,
    restarts: 0,
    bootId: readBootId(),
    createdAt: now,
    updatedAt: now,
    ...change,
  };
}

/** The tree reference of a live process `pid` (its group, session and start time). */
export function treeRefOf(pid: number, marker: string): NonNullable<ServiceRecord["tree"]> {
  const st = readProcStat(pid)!;
  return { pid, startTime: st.startTime, pgid: st.pgid, sid: st.sid, marker, tracking: "group" };
}
