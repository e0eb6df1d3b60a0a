/**
 * The phases of one supervised service and the one table of how inputs
 * move it from phase to phase (s6-supervise's state x event table,
 * systemd's `service_enter_*`): every change of phase the per-service
 * machine makes is looked up here, and each input names the one lifecycle
 * event (events/service_event.ts) it emits.
 *
 * The phases are the record's (`ServiceRecord.phase`): what `status`
 * reads is what the machine is in. Pure: no process, no file.
 *
 * @module
 */

import type { SupervisorPhase } from "../model/service_record.ts";
import type { ServiceEventKind } from "../model/service_event.ts";

/**
 * The phase of a supervised service: `starting` (spawned or taking hold,
 * not ready yet), `running`, `reloading` (it said RELOADING=1), `stopping`,
 * `restarting` (waiting out the back-off, no process), `scheduled` (a
 * `--cron` task waiting for its next tick, no process), and the three ends:
 * `exited` (not restarted), `failed` (a failed start, or given up),
 * `stopped` (on request).
 *
 * @example
 * ```ts
 * import type { MachinePhase } from "./phase.ts";
 * const phase: MachinePhase = "running";
 * console.log(phase);
 * ```
 */
export type MachinePhase = SupervisorPhase;

/**
 * What happens to a service: `spawn` (a tree was started), `ready` (its
 * readiness held), `reloaded` (READY=1 after RELOADING=1), `reload`
 * (RELOADING=1), `stop` (a stop began, or it said STOPPING=1), `exit` (its
 * main process ended), `restart` (a restart is scheduled), `give-up` (a
 * failed start, or too many restarts in a row), `end` (it ended and is not
 * restarted), `stopped` (it was stopped on request), `adopt` (a new
 * supervisor took over its orphaned tree), `watchdog` (its watchdog fired),
 * `schedule` (a `--cron` task waits for its next tick).
 *
 * @example
 * ```ts
 * import type { MachineInput } from "./phase.ts";
 * const input: MachineInput = "spawn";
 * console.log(input);
 * ```
 */
export type MachineInput =
  | "spawn"
  | "ready"
  | "reloaded"
  | "reload"
  | "stop"
  | "exit"
  | "restart"
  | "give-up"
  | "end"
  | "stopped"
  | "adopt"
  | "watchdog"
  | "schedule";

/** The phases a service never leaves: its supervision is over. */
const ENDS: MachinePhase[] = ["exited", "failed", "stopped"];

/** How any phase with a live supervision ends (the same from every one of them). */
const ENDINGS = { "give-up": "failed", end: "exited", stopped: "stopped" } as const;

/**
 * The table: phase x input -> next phase. An input missing from a phase's
 * row is not expected there ({@linkcode nextPhase} says `undefined`).
 * Self-loops (`exit`, `adopt`, `watchdog`, a `ready` while reloading or
 * stopping) change nothing but still emit their event.
 */
export const TRANSITIONS: Readonly<
  Record<MachinePhase, Readonly<Partial<Record<MachineInput, MachinePhase>>>>
> = {
  starting: {
    spawn: "starting",
    ready: "running",
    reload: "reloading",
    stop: "stopping",
    exit: "starting",
    restart: "restarting",
    adopt: "starting",
    watchdog: "starting",
    schedule: "scheduled", // a --cron task waits for its first tick
    ...ENDINGS,
  },
  running: {
    reload: "reloading",
    stop: "stopping",
    exit: "running",
    restart: "restarting",
    adopt: "running",
    watchdog: "running",
    schedule: "scheduled", // a --cron task's run ended
    ...ENDINGS,
  },
  reloading: {
    ready: "reloading", // a service that said RELOADING=1 before it was ready keeps it
    reloaded: "running",
    reload: "reloading",
    stop: "stopping",
    exit: "reloading",
    restart: "restarting",
    adopt: "reloading",
    watchdog: "reloading",
    schedule: "scheduled",
    ...ENDINGS,
  },
  stopping: {
    ready: "stopping", // a service that said STOPPING=1 before it was ready keeps it
    spawn: "starting", // a restart in place: the old tree is stopped, the new one starts
    stop: "stopping",
    exit: "stopping",
    restart: "restarting",
    adopt: "stopping",
    schedule: "scheduled",
    ...ENDINGS,
  },
  restarting: {
    spawn: "starting",
    ...ENDINGS,
  },
  scheduled: {
    spawn: "starting", // its tick (or a restart asked for)
    ...ENDINGS,
  },
  exited: {},
  failed: {},
  stopped: {},
};

/**
 * The phase `input` moves `phase` to, or `undefined` when the table has
 * no such move.
 *
 * @example
 * ```ts
 * import { nextPhase } from "./phase.ts";
 * console.log(nextPhase("starting", "ready")); // "running"
 * console.log(nextPhase("stopped", "spawn")); // undefined
 * ```
 */
export function nextPhase(phase: MachinePhase, input: MachineInput): MachinePhase | undefined {
  return TRANSITIONS[phase][input];
}

/** Whether the supervision of a service in `phase` is over. */
export function isEnd(phase: MachinePhase): boolean {
  return ENDS.includes(phase);
}

/** The lifecycle event each input emits. */
export const INPUT_EVENT: Readonly<Record<MachineInput, ServiceEventKind>> = {
  spawn: "started",
  ready: "ready",
  reloaded: "ready",
  reload: "reloading",
  stop: "stopping",
  exit: "exited",
  restart: "restarting",
  "give-up": "failed",
  end: "stopped",
  stopped: "stopped",
  adopt: "adopted",
  watchdog: "watchdog",
  schedule: "scheduled",
};
