/**
 * The per-service machine as its parts see it: the start strategies
 * (simple_start.ts, forking_start.ts, adopted_start.ts), the spawn, the
 * PID file's hold. The machine (service_machine.ts) implements it; the
 * parts depend on this interface, not on the class, so they compose
 * instead of inheriting.
 *
 * @module
 */

import type { PidFile } from "../../lock/pid_file.ts";
import type { ProcessTree, TreeExit } from "../../tree/process_tree.ts";
import type { Target } from "../../tree/process_family.ts";
import type { LogSink } from "../output/log_sink.ts";
import type { OutputFifo } from "../output/output_fifo.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import type { ServiceNotify } from "../readiness/service_notify.ts";
import type { MainProcess } from "../pidfile/forking.ts";
import type { FileMark } from "../readiness/readiness.ts";
import type {
  RestartAnswer,
  StartResult,
  SupervisorConfig,
} from "../control/supervisor_protocol.ts";
import type { MachineInput } from "./phase.ts";
import type { HostedMachine, MachineOptions, SupervisionHost } from "./host.ts";
import type { ServiceEvent } from "../model/service_event.ts";
import type { PolicyName } from "../model/policy.ts";

/** What an event carries beyond its service and kind. */
export type EventDetails = Omit<ServiceEvent, "time" | "seq" | "service" | "kind">;

/**
 * A restart in place asked for (`ServiceMachine.restartNow`): by `pidkit
 * run`'s control socket (`pidkit restart`: manual) or by a policy.
 */
export interface RestartAsk {
  /** Into the log (default: who asked). */
  reason?: string;
  /** The stop schedule (default: the service's own). */
  retry?: string;
  /** Who asked (default: this process). */
  requestedBy?: number;
  /**
   * The policy that asked (`--max-memory`, `--cron-restart`, `--watch`):
   * the restart counts in the record's `restarts`, not toward the
   * crash-loop bound. Without: a manual restart, which starts both counts
   * again (as systemd zeroes `NRestarts` on a start that is not automatic).
   */
  policy?: PolicyName;
}

/** How a start ended that someone was told of, for {@linkcode Machine.failStart}. */
export interface FailedStart {
  /** `start`'s reason: the tree exited, was not ready in time, or something else failed. */
  reason: "exited" | "not-ready" | "failed";
  /** The exit, when the tree exited during start-up (said to `start`). */
  exit?: TreeExit;
  /** The exit recorded when no tree status says it (a forking main process: unknown). */
  recorded?: TreeExit;
  /** The tree still runs: stop it (on the service's schedule) before the books are closed. */
  stop?: () => Promise<unknown>;
  /**
   * Add the log's last lines to `start`'s answer, from the `started` line
   * of the instance with this PID on (this attempt's lines only).
   */
  logTail?: number;
}

/** One instance of the service (spawned or adopted), as a strategy carries it. */
export interface InstanceStart {
  /** Someone is told of this start (a first start, a restart in place). */
  first: boolean;
  /** And waits for it to be ready (else it is reported at spawn, or not at all). */
  awaited: boolean;
  /** When the tree was spawned (ms since the epoch). */
  spawnedAtMs: number;
  /** What was at `--ready-file` before the spawn. */
  readyFileBefore?: FileMark;
}

/**
 * How an instance ended: `ended` (its exit is recorded: the restart policy
 * decides), `failed` (a start someone was told of failed: the supervision
 * is over), `interrupted` (a stop or a restart in place was asked for).
 */
export type InstanceEnd = "ended" | "failed" | "interrupted";

/** A way of starting and following an instance: simple, forking, adopted. */
export interface StartStrategy {
  /** Its name, for the log. */
  readonly name: "simple" | "forking" | "adopted";
  /** Carry `tree` from its start until it ends, fails to start, or is interrupted. */
  run(m: Machine, tree: ProcessTree, start: InstanceStart): Promise<InstanceEnd>;
}

/** The per-service machine (see the module doc). */
export interface Machine extends HostedMachine {
  /** The configuration; replaced by the recorded one when adopting an orphan. */
  cfg: SupervisorConfig;
  readonly host: SupervisionHost;
  readonly opts: MachineOptions;
  lock?: PidFile;
  log?: LogSink;
  tree?: ProcessTree;
  state: ServiceRecord;
  /** A stop was asked for: the supervision ends once the tree is stopped. */
  stopping: boolean;
  /** Settles when a stop or a restart in place is asked for (see `rearm`). */
  woken: Promise<void>;
  wake(): void;
  lastExit?: TreeExit;
  /** sd_notify socket, notification fd and watchdog (service_notify.ts). */
  notify?: ServiceNotify;
  /** Taking over an orphaned service rather than starting one. */
  adopting: boolean;
  /** The PID file at the path is another supervisor's now: nothing more is written or started. */
  disowned: boolean;
  /** The watch on the PID file (_pid_file_hold.ts). */
  pidFileWatch?: Disposable;
  /** The watchdog fired (or a restart never got ready): the tree's exit counts as a failure. */
  forcedFailure: boolean;
  /** The output FIFO the service writes to, when there is one (else pipes). */
  output?: OutputFifo;
  /**
   * A first start's spawn not written yet: its readiness holds at once
   * (`--ready-after 0`, nothing else), so the wait writes both in one
   * record write (spawn_instance.ts, simple_start.ts).
   */
  deferredSpawn?: { details: EventDetails; change: Partial<ServiceRecord> };
  /** The main process of a `--forking` service and its descendants seen while it lived. */
  main?: MainProcess;
  mainFamily: Map<number, Target>;
  /** A restart in place is waiting to be carried out. */
  restartRequest?: { answer: (answer: RestartAnswer) => void };
  /** The PID file was emptied on purpose: it names no process now. */
  pidCleared: boolean;
  /**
   * Move to the phase `input` leads to (phase.ts), write the record with
   * `change`, and emit the input's event. The one place phases change.
   */
  enter(
    input: MachineInput | MachineInput[],
    details?: EventDetails,
    change?: Partial<ServiceRecord>,
  ): Promise<void>;
  /** Merge `change` into the record and write it (chained: see the machine). */
  save(change: Partial<ServiceRecord>): Promise<void>;
  /** Tell whoever waits for this start, once. */
  report(result: StartResult): Promise<void>;
  /** A failure before any tree: reported, nothing to stop. Returns the failed end. */
  fail(error: string, extra?: Partial<StartResult>): Promise<"failed">;
  /**
   * A start that someone was told of failed: log, stop what runs, drain,
   * record the exit, close the books as failed, report (with the log's tail).
   */
  failStart(reason: string, details: FailedStart & { logLine?: string }): Promise<"failed">;
  /** The output pumps of a service without an output FIFO. */
  pumps: Promise<void>[];
  /**
   * An instance that will not go on: a log line, what runs stopped, the
   * output drained, the tree forgotten, `recorded` as its exit.
   */
  closeInstance(details: Omit<FailedStart, "reason"> & { logLine?: string }): Promise<void>;
  /** The service has ended for good (the record's last phase; `why` for status). */
  end(phase: "exited" | "failed" | "stopped", why?: string): Promise<void>;
  /** Stopped while starting: the tree stopped, the books closed, `start` told. */
  stoppedDuringStart(): Promise<void>;
  /** Wait for the output taken so far to reach the log. */
  drain(): Promise<void>;
  recordExit(exit: TreeExit): void;
  /** The leader exited: end the rest of its tree, drain the output, record the exit. */
  finish(tree: ProcessTree): Promise<void>;
  /** Stop the running tree on the requested schedule; record what happened. */
  stopTree(): Promise<void>;
}
