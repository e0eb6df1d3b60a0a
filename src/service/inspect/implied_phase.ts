/**
 * The phase `status` shows for a service whose PID file is held (or was
 * lost while its supervisor runs): what the record says and what the
 * probe found, combined. Pure: the facts in, the phase out
 * (inspect_service.ts gathers the facts).
 *
 * @module
 */

import type { SupervisorPhase } from "../model/service_record.ts";

/** A phase in which something holds or runs the service. */
export type HeldPhase =
  | "running"
  | "reloading"
  | "starting"
  | "restarting"
  | "scheduled"
  | "stopping";

/** What the probe of a held PID file found, beside the record. */
export interface HeldFacts {
  /** The record's phase; undefined when there is no record (or it cannot be read). */
  recorded?: SupervisorPhase;
  /** The lock's holder is the supervisor the record names (or names none). */
  current: boolean;
  /** The lock's holder is a `pidkit stop` stopping an orphaned tree. */
  stopper: boolean;
}

/**
 * The phase a held PID file implies: a stop command holding it is
 * stopping; a holder the record does not name is a new supervisor that
 * has not written its record yet (starting; running without any record);
 * else the record's phase, where one that holds nothing (ended) reads
 * running: the lock says it runs.
 *
 * @example
 * ```ts
 * import { heldPhase } from "./implied_phase.ts";
 * console.log(heldPhase({ recorded: "restarting", current: true, stopper: false })); // "restarting"
 * console.log(heldPhase({ recorded: "running", current: false, stopper: false })); // "starting"
 * ```
 */
export function heldPhase(facts: HeldFacts): HeldPhase {
  if (facts.stopper) return "stopping";
  if (!facts.current) return facts.recorded === undefined ? "running" : "starting";
  switch (facts.recorded) {
    case "starting":
    case "restarting":
    case "scheduled":
    case "stopping":
    case "reloading":
      return facts.recorded;
    default:
      return "running";
  }
}

/**
 * The phase of a service whose PID file was deleted or replaced while its
 * recorded supervisor still runs it: starting (also while it waits to
 * restart), stopping, or running.
 *
 * @example
 * ```ts
 * import { lostFilePhase } from "./implied_phase.ts";
 * console.log(lostFilePhase("restarting")); // "starting"
 * ```
 */
export function lostFilePhase(recorded: SupervisorPhase): "starting" | "stopping" | "running" {
  return recorded === "starting" || recorded === "restarting"
    ? "starting"
    : recorded === "stopping"
    ? "stopping"
    : "running";
}
