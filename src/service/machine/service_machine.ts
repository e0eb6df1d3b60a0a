/**
 * The per-service state machine: one supervised service, from taking its
 * PID file's lock to the end of its supervision. The run directory's
 * resident supervisor (dir_supervisor.ts) hosts one per service; `pidkit
 * run` (run_host.ts) hosts one in the foreground. What differs between
 * them is the host's ({@linkcode SupervisionHost}), never a branch here.
 *
 * The machine takes the lock first (a second supervisor fails before it
 * touches anything), opens the log, the output FIFO and the notify socket,
 * then starts instances of the service one after the other: each is
 * started by a strategy (simple_start.ts, forking_start.ts, or
 * adopted_start.ts for an orphan its dead predecessor left) and waited for
 * through the one readiness wait (ready_wait.ts); when one ends, the
 * restart policy (restart_plan.ts) says whether another follows. A stop
 * stops the whole tree on its schedule, writes the final record, and only
 * then releases the lock.
 *
 * Every change of phase goes through {@linkcode ServiceMachine.enter}: the
 * table in phase.ts says where an input leads, the record is written, and
 * one lifecycle event goes to the host's sink.
 *
 * @module
 */

import { AlreadyRunningError, messageLine } from "../../os/errors.ts";
import { PidFile } from "../../lock/pid_file.ts";
import { markFile } from "../readiness/readiness.ts";
import type { SupervisorConfig } from "../control/supervisor_protocol.ts";
import type {
  RestartAnswer,
  StartResult,
  StopRequest,
  StopResult,
} from "../control/supervisor_protocol.ts";
import type { ProcessTree, TreeExit } from "../../tree/process_tree.ts";
import type { Target } from "../../tree/process_family.ts";
import type { MainProcess } from "../pidfile/forking.ts";
import type { LogSink } from "../output/log_sink.ts";
import type { OutputFifo } from "../output/output_fifo.ts";
import type { ServiceNotify } from "../readiness/service_notify.ts";
import { type ServiceRecord, writeServiceRecord } from "../model/service_record.ts";
import { checkPrevious, restorePresence, watchPidFile } from "./_pid_file_hold.ts";
import type { HostedMachine, MachineOptions, SupervisionHost } from "./host.ts";
import type { EventDetails, FailedStart, InstanceEnd, Machine, RestartAsk } from "./context.ts";
import { INPUT_EVENT, type MachineInput, nextPhase } from "./phase.ts";
import { planAfterExit } from "./restart_plan.ts";
import { describeExit, describeRetry, LOG_TAIL_LINES, schedule } from "./exit_text.ts";
import { spawnInstance } from "./spawn_instance.ts";
import { takeHold } from "./take_hold.ts";
import { SIMPLE_START } from "./simple_start.ts";
import { FORKING_START, stopForking } from "./forking_start.ts";
import { attemptTail } from "./attempt_tail.ts";
import { ADOPTED_START } from "./adopted_start.ts";
import type { ServiceEventSink } from "../model/service_event.ts";
import type { ServicePolicy } from "../model/policy.ts";
import {
  awaitTick,
  closePolicies,
  openPolicies,
  type TickHost,
} from "../policies/service_policies.ts";

/** Where an input leads when the table has no move for it from the current phase. */
const FALLBACK: Partial<Record<MachineInput, ServiceRecord["phase"]>> = {
  spawn: "starting",
  ready: "running",
  reloaded: "running",
  reload: "reloading",
  stop: "stopping",
  restart: "restarting",
  "give-up": "failed",
  end: "exited",
  stopped: "stopped",
  schedule: "scheduled",
};
/** Inputs that change no phase: they emit their event and write nothing by themselves. */
const SELF_LOOPS = new Set<MachineInput>(["exit", "adopt", "watchdog"]);

/**
 * The supervision of one service (see the module doc).
 *
 * @example
 * ```ts
 * import { ServiceMachine } from "./service_machine.ts";
 * // made by a host: new ServiceMachine(config, host, { onStarted })
 * console.log(typeof ServiceMachine);
 * ```
 */
export class ServiceMachine implements Machine, HostedMachine, TickHost {
  cfg: SupervisorConfig;
  readonly host: SupervisionHost;
  readonly opts: MachineOptions;
  lock?: PidFile;
  log?: LogSink;
  tree?: ProcessTree;
  state!: ServiceRecord;
  stopping = false;
  /** The first signal of a stop's schedule (`pidkit run` passes on the one it got). */
  stopSignal: Deno.Signal = "SIGTERM";
  wake!: () => void;
  woken: Promise<void>;
  reported = false;
  lastExit?: TreeExit;
  notify?: ServiceNotify;
  adopting = false;
  disowned = false;
  pidFileWatch?: Disposable;
  forcedFailure = false;
  pumps: Promise<void>[] = [];
  output?: OutputFifo;
  deferredSpawn?: Machine["deferredSpawn"];
  main?: MainProcess;
  mainFamily = new Map<number, Target>();
  /** The stop request passed on (schedule, who asked). */
  stopRequest?: StopRequest;
  /** What the stop did, for the one who asked (set once the tree is stopped). */
  stopResult?: StopResult;
  /**
   * A restart in place ({@linkcode ServiceMachine.restartNow}): the loop
   * stops the tree on `retry` and starts it again; `answer` gets the
   * outcome once the new tree is ready.
   */
  restartRequest?: RestartAsk & {
    requestedBy: number;
    answer: (answer: RestartAnswer) => void;
    stopped?: StopResult;
  };
  pidCleared = false;
  /** Where the report of a start goes when not to `opts.onStarted` (a restart in place). */
  reportTo?: (result: StartResult) => void;
  /** Writes that may run alongside the final state write. */
  pendingWrites: Promise<void>[] = [];
  /** Started by a new resident supervisor because a restart was due when the old one died. */
  readonly restartedDue: boolean;
  /** Schedules, file watches, memory limit (src/service/policies/). */
  policies: ServicePolicy[] = [];
  /** A tick's reason to start a `--cron` task waiting for it (awaitTick). */
  tickStart?: string;

  constructor(cfg: SupervisorConfig, host: SupervisionHost, opts: MachineOptions) {
    this.cfg = cfg;
    this.host = host;
    this.opts = opts;
    this.restartedDue = opts.restartedDue === true;
    this.woken = new Promise((r) => this.wake = r);
  }

  /** Where this machine's lifecycle events go: its host's sink. */
  get events(): ServiceEventSink {
    return this.host.events;
  }

  /**
   * Supervise until the service is stopped or given up. `failed`: a start
   * someone was told of failed (or nothing could start); `ended`: it ran
   * and ended (`lastExit` says how).
   */
  async run(): Promise<"failed" | "ended"> {
    // Listen first: a stop that arrives while the machine is still starting
    // must end it cleanly (lock released, file removed, `start` told).
    this.host.begin?.(this);
    // A tree left running by a killed predecessor is an instance although
    // the lock is free: refuse (or adopt) before taking over the PID file.
    const { failed, early, previous } = await checkPrevious(this);
    if (failed) return "failed";
    try {
      this.lock = await PidFile.acquire(this.cfg.pidfile, {
        removeOnExit: false,
        durable: false, // see AcquireOptions.durable: hundreds of services in one process
        // Adopting: the file keeps naming the running main process.
        ...(early && this.adopting ? { pid: previous!.mainPid ?? early.pid } : {}),
      });
    } catch (err) {
      if (err instanceof AlreadyRunningError) {
        const pid = err.pid;
        return await this.fail(
          `${this.cfg.name} is already running${pid === undefined ? "" : ` (pid ${pid})`}`,
          { alreadyRunning: pid ?? 0 },
        );
      }
      return await this.fail(messageLine(err));
    }
    watchPidFile(this);
    try {
      const held = await takeHold(this);
      if (held === "failed") return "failed";
      try {
        this.policies = await openPolicies(this, held.previous);
      } catch (err) {
        const why = `cannot set up ${this.cfg.name}'s policies: ${messageLine(err)}`;
        await this.end("failed", why);
        return await this.fail(why);
      }
      return await this.loop(held.adopted);
    } catch (err) {
      await this.log?.line(`supervisor error: ${messageLine(err)}`);
      await this.report({ ok: false, error: messageLine(err), reason: "failed" });
      await this.tree?.stop({ retry: this.cfg.options.retry }).catch(() => {});
      return "failed";
    } finally {
      await closePolicies(this.policies);
      await this.notify?.close().catch(() => {});
      await this.closeOutput();
      await this.lock.release().catch(() => {});
      this.restartRequest?.answer({ held: false }); // asked as it was ending
      await this.host.end?.(this); // a stop's answer goes out now, the lock released
      await this.log?.close();
    }
  }

  /** Instances one after the other, as the restart policy says. */
  async loop(adopted: ProcessTree | undefined): Promise<"failed" | "ended"> {
    const { cfg } = this;
    let inARow = 0;
    let first = adopted === undefined;
    while (!this.stopping) {
      // A restart in place: someone waits for this start, as for a first one.
      const asked = await this.takeRestart();
      if (this.stopping) break;
      if (asked === "manual") inARow = 0; // a policy's restart is no crash: the count stands
      // --cron: a task starts at its ticks only, the first time too.
      if (first && !adopted && !asked && cfg.options.cron !== undefined) {
        first = false;
        if (await awaitTick(this, true) === "stop") break;
        if (this.restartRequest) continue; // taken at the top
        inARow = 0;
      }
      const fresh = first || asked !== false;
      const awaited = fresh && (asked !== false || !this.host.reportsAtSpawn);
      const startedAt = Date.now();
      // A ready file left by an earlier run must not make this start look ready.
      const readyFileBefore = cfg.options.readyFile
        ? await markFile(cfg.options.readyFile)
        : undefined;
      const spawnedAtMs = Date.now();
      const strategy = adopted ? ADOPTED_START : cfg.options.forking ? FORKING_START : SIMPLE_START;
      const tree = adopted ?? await spawnInstance(this, fresh, awaited);
      adopted = undefined;
      let end: InstanceEnd = "ended";
      if (tree === undefined) {
        if (fresh) return "failed";
      } else {
        const start = { first: fresh, awaited, spawnedAtMs, readyFileBefore };
        end = await strategy.run(this, tree, start);
      }
      if (end === "failed") return "failed";
      if (this.stopping) break;
      if (end === "interrupted") continue; // a restart in place: the tree is stopped at the top
      first = false;
      const exit = this.lastExit!;
      const { restart: policy, maxRestarts, restartDelayMs } = cfg.options;
      const plan = planAfterExit({
        policy,
        failed: !exit.success || this.forcedFailure,
        inARow,
        uptimeMs: Date.now() - startedAt,
        maxRestarts,
        firstDelayMs: restartDelayMs,
      });
      this.forcedFailure = false;
      if (plan.action === "end") {
        const tick = await awaitTick(this, false); // a --cron task waits for its next run
        if (tick === "start") {
          inARow = 0;
          continue;
        }
        if (tick === "stop") break;
        await this.end("exited", `not restarted (--restart ${policy})`);
        return "ended";
      }
      if (plan.action === "give-up") {
        const times = `${plan.inARow} restart${plan.inARow === 1 ? "" : "s"}`;
        await this.log?.line(`giving up on ${cfg.name} after ${times} in a row`);
        const last = describeExit(exit);
        await this.end("failed", `gave up after ${times} in a row (last exit: ${last})`);
        return "ended";
      }
      inARow = plan.attempt;
      const delay = plan.delayMs;
      await this.log?.line(`restarting ${cfg.name} in ${delay} ms (restart ${inARow} in a row)`);
      this.state.restarts++;
      const at = new Date(Date.now() + delay).toISOString();
      // No process is the service's until the restart: the PID file names none.
      await this.lock?.clear().catch(() => {});
      this.pidCleared = true;
      // Cut short by startNow from the moment the record says restarting.
      const cut = new Promise<void>((r) => this.#cutBackoff = r);
      await this.enter("restart", { delayMs: delay, attempt: plan.attempt, of: plan.of }, {
        tree: undefined,
        statusText: undefined, // the STATUS= of the instance that ended
        nextRestart: { at, attempt: plan.attempt, of: plan.of },
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => timer = setTimeout(r, delay)), this.woken, cut]);
      clearTimeout(timer);
      this.#cutBackoff = undefined;
    }
    await this.stoppedDuringStart();
    return "ended";
  }

  /**
   * The one place a phase changes: the table (phase.ts) says where
   * `input` leads from the current phase; the record is written with
   * `change`; each input emits its event to the host's sink. An input the
   * table does not expect still leads where it always does (FALLBACK).
   */
  enter(
    input: MachineInput | MachineInput[],
    details: EventDetails = {},
    change: Partial<ServiceRecord> = {},
  ): Promise<void> {
    const inputs = Array.isArray(input) ? input : [input];
    let phase = this.state.phase;
    for (const i of inputs) phase = nextPhase(phase, i) ?? FALLBACK[i] ?? phase;
    const statusText = this.notify?.statusText;
    for (const i of inputs) {
      const kind = INPUT_EVENT[i];
      const status = statusText && (kind === "ready" || kind === "reloading") ? { statusText } : {};
      this.emit(i, { ...status, ...details });
    }
    const silent = inputs.every((i) => SELF_LOOPS.has(i)) && Object.keys(change).length === 0;
    return silent ? Promise.resolve() : this.save({ ...change, phase });
  }

  /** One event to the host's sink (which must not throw; if it does, supervision goes on). */
  emit(input: MachineInput, details: EventDetails): void {
    try {
      this.host.events({ service: this.cfg.name, kind: INPUT_EVENT[input], ...details });
    } catch { /* the sink's problem, not the service's */ }
  }

  /** A new `woken` once a wake-up (a restart in place) was taken; a stop still wakes at once. */
  rearm(): void {
    this.woken = new Promise((r) => this.wake = r);
    if (this.stopping) this.wake();
  }

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

  async fail(error: string, extra: Partial<StartResult> = {}): Promise<"failed"> {
    const reason = "alreadyRunning" in extra ? {} : { reason: "failed" as const };
    await this.report({ ok: false, error, ...reason, ...extra } as StartResult);
    return "failed";
  }

  /**
   * The one failed-start epilogue: `logLine` into the log, what runs
   * stopped, the output drained, the exit recorded, the books closed as
   * failed (`error` is what status shows), `start` told (with the log's
   * last lines of this attempt: attempt_tail.ts).
   */
  async failStart(
    error: string,
    details: FailedStart & { logLine?: string },
  ): Promise<"failed"> {
    await this.closeInstance(details);
    await this.end("failed", error);
    const { exit } = details;
    await this.report({
      ok: false,
      error,
      reason: details.reason,
      ...(exit ? { exit: { code: exit.code, signal: exit.signal } } : {}),
      ...(details.logTail !== undefined
        ? {
          logTail: this.log
            ? await attemptTail(this.log.path, this.cfg.name, details.logTail, LOG_TAIL_LINES)
            : [],
        }
        : {}),
    });
    return "failed";
  }

  /**
   * An instance that will not go on: `logLine`, `stop` what runs, drain,
   * forget the tree, record `recorded` as its exit (emitting it when a
   * tree ran).
   */
  async closeInstance(details: Omit<FailedStart, "reason"> & { logLine?: string }): Promise<void> {
    const tree = this.tree;
    if (details.logLine !== undefined) await this.log?.line(details.logLine);
    await details.stop?.();
    await this.drain();
    this.tree = undefined;
    this.main = undefined;
    const exit = details.recorded;
    if (exit === undefined) return;
    this.lastExit = exit;
    this.recordExit(exit);
    if (tree) void this.enter("exit", { pid: tree.pid, code: exit.code, signal: exit.signal });
  }

  /** Stopped before the service ever started (or while it waited): `start` is still waiting. */
  async stoppedDuringStart(): Promise<void> {
    await this.stopTree();
    await this.end("stopped");
    await this.report({
      ok: false,
      error: `${this.cfg.name} was stopped during start-up`,
      reason: "stopped",
    });
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

  /** The service has ended for good; `why`: why it failed (status shows it), or why it ended. */
  async end(phase: "exited" | "failed" | "stopped", why?: string): Promise<void> {
    const input = phase === "exited" ? "end" : phase === "failed" ? "give-up" : "stopped";
    await Promise.all([
      this.enter(input, why ? { reason: why } : {}, {
        tree: undefined,
        spawning: undefined,
        nextRestart: undefined,
        statusText: undefined, // a STATUS= of the instance that ended says nothing now
        failure: phase === "failed" ? why : undefined,
      }),
      ...this.pendingWrites,
    ]);
    this.pendingWrites = [];
  }

  #writeFailing = false;
  /** The record writes, one after the other (see {@linkcode ServiceMachine.save}). */
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
          this.host.note(`${this.cfg.state} written again`);
        }
      } catch (err) {
        // A full or read-only run dir must not take the service down: the old
        // state file stays intact (atomic write), the lock still tells who
        // runs, and the next save tries again. Said in the journal too (once
        // until a write succeeds).
        const line = `cannot write ${this.cfg.state}: ${
          messageLine(err)
        }; the service keeps running`;
        await this.log?.line(line);
        if (!this.#writeFailing) this.host.note(line);
        this.#writeFailing = true;
      }
    };
    this.#writes = this.#writes.then(write);
    return this.#writes;
  }

  /** Stop the service; its supervision then ends. `signal`: the first of the schedule. */
  requestStop(signal?: Deno.Signal): void {
    if (signal) this.stopSignal = signal;
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
  }

  /** Send `signal` to the running tree, if any. */
  signalTree(signal: Deno.Signal): void {
    this.tree?.signal(signal);
  }

  /** Reopen the service's log. */
  reopenLog(): void {
    void this.log?.reopen();
  }

  /** `pidkit run`'s control socket, policies: a restart in place ({@linkcode ServiceMachine.restartNow}). */
  requestRestart(request: RestartAsk): Promise<RestartAnswer> {
    return this.restartNow(request);
  }

  /**
   * Restart this service now, in place: stop its tree on `retry` (default:
   * its own schedule), start it again, and answer once the new instance is
   * ready (or why not). `reason` goes into the log (default: who asked).
   * Refused while it stops or restarts already. For `pidkit run`'s
   * control socket and for policies (schedules, file watching, memory).
   */
  restartNow(request: RestartAsk): Promise<RestartAnswer> {
    if (this.stopping || this.restartRequest) {
      const why = this.stopping ? "is stopping" : "is being restarted already";
      return Promise.resolve({
        held: true,
        started: { ok: false, error: `${this.cfg.name} ${why}`, reason: "failed" },
      });
    }
    return new Promise((answer) => {
      this.restartRequest = { ...request, requestedBy: request.requestedBy ?? Deno.pid, answer };
      this.wake();
    });
  }

  #cutBackoff?: () => void;

  /**
   * Start the service if it is not running: while it waits out a restart
   * back-off, it starts now (`reason` goes into the log); true then. False
   * when it runs, starts or stops already (nothing done). A service whose
   * supervision ended has no machine any more: its host starts a new one
   * (the run directory's supervisor: `start`, which answers "already
   * running" for a service it holds).
   */
  startNow(reason: string): boolean {
    const cut = this.#cutBackoff;
    if (cut === undefined || this.stopping || this.state?.phase !== "restarting") return false;
    this.#cutBackoff = undefined;
    void this.log?.line(`starting ${this.cfg.name} now: ${reason}`);
    cut();
    return true;
  }

  /**
   * Take a restart asked for: stop the tree on its schedule, and have the
   * next start reported to whoever asked. Whose it was (false: none).
   */
  async takeRestart(): Promise<"manual" | "policy" | false> {
    const asked = this.restartRequest;
    if (asked === undefined) return false;
    this.rearm();
    const by = asked.requestedBy;
    await this.log?.line(`restarting ${this.cfg.name}: ${asked.reason ?? `asked by pid ${by}`}`);
    this.stopRequest = {
      retry: asked.retry ?? this.cfg.options.retry,
      requestedBy: by,
      at: new Date().toISOString(),
    };
    await this.stopTree();
    asked.stopped = this.stopResult;
    this.stopRequest = this.stopResult = undefined;
    this.forcedFailure = false;
    // A policy's restart counts (as pm2's do); a manual one is a new start (as systemd's).
    this.state.restarts = asked.policy ? this.state.restarts + 1 : 0;
    this.reported = false;
    this.reportTo = (started) => {
      this.restartRequest = this.reportTo = undefined;
      asked.answer({ held: true, ...(asked.stopped ? { stopped: asked.stopped } : {}), started });
    };
    return asked.policy ? "policy" : "manual";
  }

  /** The run directory was made again (see `_pid_file_hold.ts`). */
  restorePresence(): Promise<void> {
    return restorePresence(this);
  }

  /** The leader exited: end the rest of its tree, drain the output, record the exit. */
  async finish(tree: ProcessTree): Promise<void> {
    const exit = await tree.status;
    this.notify?.detach();
    this.lastExit = exit;
    await tree.stop({ retry: this.cfg.options.retry }).catch(() => {});
    await this.drain();
    await this.log?.endOfOutput();
    await this.log?.line(`${this.cfg.name} (pid ${tree.pid}) exited with ${describeExit(exit)}`);
    this.recordExit(exit);
    this.tree = undefined;
    void this.enter("exit", { pid: tree.pid, code: exit.code, signal: exit.signal });
  }

  /** Stop the running tree on the requested schedule; record what happened. */
  async stopTree(): Promise<void> {
    const tree = this.tree;
    if (tree === undefined) return;
    this.notify?.detach();
    const request = this.stopRequest;
    const retry = schedule(request?.retry ?? this.cfg.options.retry, this.stopSignal);
    const { forking } = this.cfg.options;
    const pid = forking ? this.main?.pid : tree.pid;
    // The state and log lines are written while the tree is being stopped, not before.
    const noted = Promise.all([
      this.enter("stop", {
        ...(pid ? { pid } : {}),
        reason: request ? `asked by pid ${request.requestedBy}` : `stopping (${this.stopSignal})`,
      }),
      this.log?.line(`stopping ${this.cfg.name} (pid ${tree.pid}): ${describeRetry(retry)}`),
    ]);
    const report = forking ? await stopForking(this, tree, retry) : await tree.stop({ retry });
    await noted;
    const exit = await tree.status;
    this.lastExit = exit;
    this.recordExit(exit);
    await this.drain();
    await this.log?.endOfOutput();
    await this.log?.line(
      `stopped ${this.cfg.name} (pid ${tree.pid}) in ${Math.round(report.durationMs)} ms`,
    );
    if (request) {
      this.stopResult = {
        ...request,
        signalsSent: report.signalsSent,
        durationMs: report.durationMs,
        // A forking service's leader exited at start-up: its main process, if known.
        pid,
        survivors: report.survivors,
      };
    }
    this.tree = undefined;
    void this.enter("exit", { pid: tree.pid, code: exit.code, signal: exit.signal });
  }
}
