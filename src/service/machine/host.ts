/**
 * What a per-service machine (service_machine.ts) gets from the process
 * that hosts it: the run directory's resident supervisor
 * (dir_supervisor.ts) hosts many machines in one process, `pidkit run`
 * (run_host.ts) hosts one in the foreground. Every difference between the
 * two lives behind this interface: the machine itself asks no "am I in the
 * foreground?".
 *
 * @module
 */

import type { FdPoller } from "../../os/fd_poller.ts";
import type { Adoption } from "../../os/orphan_reaper.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import type { ServiceEventSink } from "../model/service_event.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import type { StartResult } from "../control/supervisor_protocol.ts";

/**
 * The host of per-service machines.
 *
 * @example
 * ```ts
 * import type { SupervisionHost } from "./host.ts";
 * const host: SupervisionHost = {
 *   kind: "dir",
 *   poller: undefined,
 *   reaper: {},
 *   events: (event) => console.log(event.service, event.kind),
 *   reportsAtSpawn: false,
 *   adoptsOrphans: true,
 *   pidFileCheckMs: 1000,
 *   markedTrees: () => [],
 *   ensureDir: () => {},
 *   note: (text) => console.log(text),
 * };
 * console.log(host.kind);
 * ```
 */
export interface SupervisionHost {
  /** Recorded as the supervisor's kind (`ServiceRecord.supervisor.kind`). */
  readonly kind: ServiceRecord["supervisor"]["kind"];
  /** The one poll(2) loop (output FIFOs, notify sockets, --ready-fd); undefined without FFI. */
  readonly poller: FdPoller | undefined;
  /** The child subreaper that reaps the trees' orphans (orphan_reaper.ts). */
  readonly reaper: Adoption;
  /**
   * Where every transition's lifecycle event goes: the run directory's
   * journal for the resident supervisor; a no-op when nobody listens.
   */
  readonly events: ServiceEventSink;
  /**
   * Whether the first start is reported as soon as it is spawned (`pidkit
   * run`: nobody waits for readiness in the foreground; its deadline still
   * applies) rather than once it is ready (`pidkit start`).
   */
  readonly reportsAtSpawn: boolean;
  /** Whether an orphaned tree of the name is adopted (else: refused as running). */
  readonly adoptsOrphans: boolean;
  /** How often the machine checks that its PID file is still at its path, in ms. */
  readonly pidFileCheckMs: number;
  /**
   * The live trees of a service name in the run directory found by their
   * marker (marked_trees.ts): as the host found them when it started, or
   * (`fresh`) by a scan now.
   */
  markedTrees(name: string, fresh: boolean): TreeRef[];
  /** Make the run directory again (with its mode) when it was removed. */
  ensureDir(): void;
  /** A line in the host's journal (nothing where there is none). */
  note(text: string): void;
  /**
   * The machine begins (before it takes the lock): `pidkit run` listens to
   * the process's signals for it here.
   */
  begin?(machine: HostedMachine): void;
  /**
   * The machine holds its PID file: `pidkit run` opens its control socket
   * here. Returns what goes into the record (the socket's path).
   */
  holding?(machine: HostedMachine): Promise<{ socket?: string }>;
  /** The supervision is over and the lock released: close what `begin`/`holding` opened. */
  end?(machine: HostedMachine): Promise<void>;
}

/** What a host may ask of the machine it hosts. */
export interface HostedMachine {
  /** The service's name and run directory. */
  readonly cfg: { name: string; dir: string };
  /** The service's current record (undefined before the lock is held). */
  readonly state: ServiceRecord | undefined;
  /** Stop the service (its supervision then ends); `signal`: the first signal of the schedule. */
  requestStop(signal?: Deno.Signal): void;
  /** Send `signal` to the running tree, if any. */
  signalTree(signal: Deno.Signal): void;
  /** Reopen the service's log (SIGHUP, log rotation by others). */
  reopenLog(): void;
}

/** What one machine is told when it is made (not the host's: its own). */
export interface MachineOptions {
  /** Called once: the service is ready, or it could not be started. */
  onStarted(result: StartResult): void | Promise<void>;
  /** A line for the service's log once it is open (what the previous run came to). */
  firstLine?: string;
  /** Adopt the orphaned tree the record names, or do nothing: never start the command. */
  adoptOnly?: boolean;
  /** Started by a new resident supervisor because a restart was due when the old one died. */
  restartedDue?: boolean;
}

/** The sink of a host that keeps no events. */
export const NO_EVENTS: ServiceEventSink = (): void => {};
