/**
 * The lifecycle events of services: what a run directory's supervisor
 * records each time a service changes phase (see `docs/` for the journal
 * that keeps them). This module is the vocabulary only: the per-service
 * state machine emits them through a {@linkcode ServiceEventSink}; the
 * journal stores them; `pidkit events`, the metrics and the status page read
 * them.
 *
 * @module
 */

/**
 * What happened to a service. `started`: a tree was spawned (not yet ready);
 * `ready`: its readiness condition held; `reloading`: it said RELOADING=1;
 * `stopping`: a stop began; `exited`: its main process ended (code or
 * signal); `restarting`: a restart is scheduled (delay, attempt); `failed`:
 * the supervisor gave up on it (why); `stopped`: it is down and will stay
 * down; `adopted`: a new supervisor took over a tree its predecessor left;
 * `watchdog`: its watchdog expired; `log-rotated`: its log was rotated;
 * `up` / `down`: the declaration (`pidkit up` / `pidkit down`) changed it;
 * `policy`: a policy acted on it (schedule, file watch, memory limit: see
 * `reason`); `scheduled`: a `--cron` task waits for its next tick (no
 * process runs meanwhile).
 *
 * @example
 * ```ts
 * import type { ServiceEventKind } from "./service_event.ts";
 * const kind: ServiceEventKind = "ready";
 * console.log(kind);
 * ```
 */
export type ServiceEventKind =
  | "started"
  | "ready"
  | "reloading"
  | "stopping"
  | "exited"
  | "restarting"
  | "failed"
  | "stopped"
  | "adopted"
  | "watchdog"
  | "log-rotated"
  | "up"
  | "down"
  | "policy"
  | "scheduled";

/**
 * One lifecycle event of one service, as the journal keeps it (one JSON
 * object per line). Only `time`, `service` and `kind` are always there; the
 * rest is there when it means something for the kind.
 *
 * @example
 * ```ts
 * import type { ServiceEvent } from "./service_event.ts";
 * const event: ServiceEvent = {
 *   time: new Date().toISOString(),
 *   service: "web",
 *   kind: "exited",
 *   pid: 4242,
 *   code: 1,
 *   signal: null,
 * };
 * console.log(JSON.stringify(event));
 * ```
 */
export interface ServiceEvent {
  /** When it happened (ISO 8601, UTC). */
  time: string;
  /** Its position in the run directory's journal (set by the journal, increasing). */
  seq?: number;
  /** The service's name. */
  service: string;
  /** What happened. */
  kind: ServiceEventKind;
  /** The main PID it concerns (started, ready, exited, adopted, stopping). */
  pid?: number;
  /** `exited`: the exit code, or null when a signal ended it. */
  code?: number | null;
  /** `exited`: the signal's name, or null when it exited by itself. */
  signal?: string | null;
  /** `restarting`: the wait before the next start, in milliseconds. */
  delayMs?: number;
  /** `restarting`: which restart in a row this is. */
  attempt?: number;
  /** `restarting`: how many restarts in a row are allowed (0: no bound). */
  of?: number;
  /** `failed`, `policy`, `stopping`, `watchdog`: why, in one line. */
  reason?: string;
  /** `reloading`/`ready`: the service's STATUS= text at that moment, if any. */
  statusText?: string;
}

/**
 * Where a per-service state machine sends its events: the run directory's
 * supervisor gives one that appends to the journal; `pidkit run` one of its
 * own. It must not throw and must not block (the journal queues).
 *
 * @example
 * ```ts
 * import type { ServiceEventSink } from "./service_event.ts";
 * const seen: string[] = [];
 * const sink: ServiceEventSink = (event) => seen.push(`${event.service} ${event.kind}`);
 * sink({ service: "web", kind: "ready", pid: 1 });
 * console.log(seen);
 * ```
 */
export type ServiceEventSink = (
  event: Omit<ServiceEvent, "time" | "seq"> & { time?: string },
) => void;
