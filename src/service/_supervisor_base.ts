/**
 * The state and the bookkeeping every part of a supervisor shares: the
 * configuration, the lock, the log, the current tree, the state file
 * writes, and the one report to `start`. `supervisor.ts` builds on it;
 * `_supervisor_forking.ts` works on it.
 *
 * @module
 */

import { messageLine } from "../os/errors.ts";
import type { PidFile } from "../lock/pid_file.ts";
import { type ServiceRecord, writeServiceRecord } from "./service_record.ts";
import { signalNumber } from "../os/signals.ts";
import type { LogSink } from "./log_sink.ts";
import type {
  RestartAnswer,
  StartResult,
  StopRequest,
  StopResult,
  SupervisorConfig,
} from "./supervisor_protocol.ts";
import type { Adoption } from "../os/orphan_reaper.ts";
import type { ProcessTree, RetryStep, TreeExit, TreeRef } from "../tree/process_tree.ts";
import { parseRetry } from "../tree/stop_schedule.ts";
import type { MainProcess } from "./forking.ts";
import type { Target } from "../tree/process_family.ts";
import type { ServiceHealth } from "./service_health.ts";
import type { FdPoller } from "../os/fd_poller.ts";
import type { OutputFifo } from "./output_fifo.ts";
import type { ServiceEventSink } from "./events/service_event.ts";

/** How `supervise` (supervisor.ts) runs. */
export interface SuperviseOptions {
  /** `run`: output to our stdout/stderr unless a log is given; signals forwarded. */
  foreground: boolean;
  /** Called once: the service is ready, or it could not be started. */
  onStarted(result: StartResult): void | Promise<void>;
  /** `run` started with SIGUSR1 blocked: call `forward` for each SIGUSR1. */
  watchUsr1?: (forward: () => void) => void;
  /**
   * Given by the run directory's resident supervisor (dir_supervisor.ts),
   * which holds many services in one process: its one poll loop and its
   * subreaper, and it handles the process's signals. Without it (`pidkit
   * run`) the supervisor makes its own and listens to signals itself.
   */
  shared?: {
    poller: FdPoller | undefined;
    adoption: Adoption;
    /**
     * The live trees of a service name in the run directory found by their
     * marker (marked_trees.ts): as the resident supervisor found them when
     * it started, or (`fresh`) by a scan now.
     */
    markedTrees?: (name: string, fresh: boolean) => TreeRef[];
    /** Make the run directory again (with its mode) when it was removed. */
    ensureDir?: () => void;
    /** A line in the run directory's journal. */
    note?: (text: string) => void;
  };
  /** A line for the service's log once it is open (what the previous run came to). */
  firstLine?: string;
  /** Adopt the orphaned tree the record names, or do nothing: never start the command. */
  adoptOnly?: boolean;
  /** Where lifecycle events go (the policies' `policy` events), when the host keeps them. */
  events?: ServiceEventSink;
}

/** How many lines of the log a failed start reports. */
export const LOG_TAIL_LINES = 10;

/** The exit status a shell would give for `exit` (128+N for signal N). */
export function exitStatus(exit: TreeExit): number {
  if (exit.code !== null && exit.code !== undefined && !exit.signal) return exit.code;
  if (exit.signal) return 128 + signalNumber(exit.signal);
  return exit.code ?? 1;
}

/** `code 3`, `signal SIGTERM`, or `an unknown status`. */
export function describeExit(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal) return `signal ${exit.signal}`;
  // An adopted leader (not our child): the kernel tells only its parent.
  return exit.code === null ? "an unknown status" : `code ${exit.code}`;
}

/** A stop schedule as text, e.g. `TERM/10s/KILL/5s`. */
export function describeRetry(steps: RetryStep[]): string {
  return steps.map((s) =>
    s.signal
      ? s.signal.replace(/^SIG/, "")
      : s.forever
      ? "forever"
      : `${(s.timeoutMs ?? 0) / 1000}s`
  ).join("/");
}

/** The schedule `retry`, starting with `first` instead of its first signal. */
export function schedule(retry: string, first: Deno.Signal): RetryStep[] {
  const steps = parseRetry(retry);
  const i = steps.findIndex((s) => s.signal !== undefined);
  if (i >= 0 && first !== "SIGTERM") steps[i] = { ...steps[i], signal: first };
  return steps;
}

/** A supervisor's shared state and bookkeeping (see the module doc). */
export class SupervisorBase {
  /** The configuration; replaced by the recorded one when adopting an orphan. */
  cfg: SupervisorConfig;
  readonly opts: SuperviseOptions;
  lock?: PidFile;
  log?: LogSink;
  tree?: ProcessTree;
  state!: ServiceRecord;
  stopping = false;
  stopSignal: Deno.Signal = "SIGTERM";
  wake!: () => void;
  woken: Promise<void>;
  reported = false;
  lastExit?: TreeExit;
  /** sd_notify socket, notification fd and watchdog (see service_health.ts). */
  health?: ServiceHealth;
  /** Taking over an orphaned service (_previous_run.ts) rather than starting one. */
  adopting = false;
  /**
   * The PID file at the path is another supervisor's now (this one's was
   * removed, and it could not take the path again): the name is not this
   * supervisor's any more; it writes no record and starts nothing.
   */
  disowned = false;
  /** The watch on the PID file (see `_pid_file_hold.ts`). */
  pidFileWatch?: Disposable;
  /** The watchdog fired (or a restart never got ready): the tree's exit counts as a failure. */
  forcedFailure = false;

  constructor(cfg: SupervisorConfig, opts: SuperviseOptions) {
    this.cfg = cfg;
    this.opts = opts;
    this.woken = new Promise((r) => this.wake = r);
  }

  /** A new `woken` once a wake-up (a restart in place) was taken; a stop still wakes at once. */
  rearm(): void {
    this.woken = new Promise((r) => this.wake = r);
    if (this.stopping) this.wake();
  }

  pumps: Promise<void>[] = [];
  /** The output FIFO the service writes to, when there is one (else pumps). */
  output?: OutputFifo;
  /**
   * The one poll(2) loop of this supervisor: the output FIFO, the notify
   * socket and the --ready-fd FIFO; undefined without FFI.
   */
  poller?: FdPoller;

  /** The main process of a `--forking` service and its descendants seen while it lived. */
  main?: MainProcess;
  mainFamily = new Map<number, Target>();

  /** The stop request the resident supervisor passed on (schedule, who asked). */
  stopRequest?: StopRequest;
  /** What the stop did, for the one who asked (set once the tree is stopped). */
  stopResult?: StopResult;
  /**
   * A restart in place asked for on `pidkit run`'s control socket
   * (_run_control.ts): the supervision loop stops the tree on `retry` and
   * starts it again; `answer` gets the outcome once the new tree is ready.
   */
  restartRequest?: {
    retry?: string;
    requestedBy: number;
    /** Why, for the log (a policy's restart); else `asked by pid N`. */
    reason?: string;
    answer: (answer: RestartAnswer) => void;
    /** What stopping the old tree did. */
    stopped?: StopResult;
  };
  /** The PID file was emptied (`PidFile.clear()`): it names no process now. */
  pidCleared = false;
  /** Where the report of a start goes when not to `opts.onStarted` (a restart in place). */
  reportTo?: (result: StartResult) => void;

  /** Writes that may run alongside the final state write. */
  pendingWrites: Promise<void>[] = [];

  async report(result: StartResult): Promise<void> {
    if (this.reported) return;
    this.reported = true;
    // A start that failed leaves no PID file behind by the time `start`
    // hears of it (unless a tree is still being stopped: the lock stays
    // until it is gone).
    if (!result.ok && this.tree === undefined) await this.lock?.release().catch(() => {});
    if (this.reportTo) this.reportTo(result);
    else await this.opts.onStarted(result);
  }

  async fail(error: string, extra: Partial<StartResult> = {}): Promise<number> {
    const reason = "alreadyRunning" in extra ? {} : { reason: "failed" as const };
    await this.report({ ok: false, error, ...reason, ...extra } as StartResult);
    return 1;
  }

  async drain(): Promise<void> {
    await this.output?.drain();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.pumps),
      new Promise((r) => timer = setTimeout(r, 2000)),
    ]);
    clearTimeout(timer);
    this.pumps = [];
  }

  /** The service has ended for good: its output FIFO goes. */
  async closeOutput(): Promise<void> {
    await this.output?.remove();
    this.output = undefined;
  }

  recordExit(exit: TreeExit): void {
    this.state.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString() };
  }

  /** The service has ended for good; `failure`: why it failed (status shows it). */
  async end(phase: "exited" | "failed" | "stopped", failure?: string): Promise<void> {
    await Promise.all([
      this.save({
        phase,
        tree: undefined,
        spawning: undefined,
        nextRestart: undefined,
        statusText: undefined, // a STATUS= of the instance that ended says nothing now
        failure: phase === "failed" ? failure : undefined,
      }),
      ...this.pendingWrites,
    ]);
    this.pendingWrites = [];
  }

  #writeFailing = false;

  /** The record writes, one after the other (see {@linkcode SupervisorBase.save}). */
  #writes: Promise<void> = Promise.resolve();

  /**
   * Merge `change` into the record and write it. Writes are chained and each
   * writes the record as it is when its turn comes: two saves in flight at
   * once (a READY=1 and a MAINPID= from one datagram) could otherwise finish
   * their atomic renames out of order and leave the older record in the file.
   */
  save(change: Partial<ServiceRecord>): Promise<void> {
    // Another supervisor holds the name now: the record is its to write.
    if (this.disowned) return this.#writes;
    const next: ServiceRecord = { ...this.state, ...change, updatedAt: new Date().toISOString() };
    if ("tree" in change && change.tree === undefined) delete next.tree;
    if ("spawning" in change && change.spawning === undefined) delete next.spawning;
    this.state = next;
    const write = async () => {
      try {
        await writeServiceRecord(this.cfg.state, this.state);
        if (this.#writeFailing) {
          this.#writeFailing = false;
          this.opts.shared?.note?.(`${this.cfg.state} written again`);
        }
      } catch (err) {
        // A full or read-only run dir must not take the service down: the old
        // state file stays intact (atomic write), the lock still tells who
        // runs, and the next save tries again. Said in the journal too (once
        // until a write succeeds): the record no longer tells what runs;
        // the lock and the tree's marker still do.
        const line = `cannot write ${this.cfg.state}: ${
          messageLine(err)
        }; the service keeps running`;
        await this.log?.line(line);
        if (!this.#writeFailing) this.opts.shared?.note?.(line);
        this.#writeFailing = true;
      }
    };
    this.#writes = this.#writes.then(write);
    return this.#writes;
  }
}
