/**
 * The resident supervisor of a named service: `pidkit start` runs it in the
 * background (a detached copy of pidkit, see `self_exec.ts`), `pidkit run`
 * in the foreground.
 *
 * It takes the PID file lock first (a second supervisor fails before it
 * touches anything), starts the command as a process tree, writes the
 * service's PID into the PID file and its state (atomically) into the state
 * file, appends the output to the log, and waits. It restarts the service
 * per policy with exponential backoff. On SIGTERM/SIGINT (background: a
 * stop, on the schedule `pidkit stop` left in the control file) it stops the
 * whole tree, writes the final state, and only then releases the lock.
 * SIGHUP reopens the log in the background; `run` forwards SIGINT, SIGTERM,
 * SIGHUP, SIGUSR2 (and SIGUSR1 when started with it blocked) to the tree.
 *
 * @module
 */

import { AlreadyRunningError, messageLine } from "../os/errors.ts";
import { PidFile } from "../lock/pid_file.ts";
import { readBootId, readProcStat } from "../os/proc.ts";
import { markFile } from "./readiness.ts";
import { BACKOFF_RESET_MS, restartDelay, shouldRestart } from "./restart_policy.ts";
import { describeSurvivor } from "./inspect_service.ts";
import { LogSink, pump } from "./log_sink.ts";
import type { SupervisorConfig } from "./supervisor_protocol.ts";
import type { ProcessTree } from "../tree/process_tree.ts";
import { spawnTree, type SpawnTreeOptions } from "../tree/spawn_tree.ts";
import { formatMarker, makeNonce } from "../tree/marker.ts";
import { signalProcess } from "../os/pidfd.ts";
import { ServiceHealth } from "./service_health.ts";
import { isTreeMember } from "../tree/tree_member.ts";
import { type Adoption, adoptOrphans } from "../os/orphan_reaper.ts";
import {
  describeExit,
  describeRetry,
  exitStatus,
  schedule,
  type SuperviseOptions,
  SupervisorBase,
} from "./_supervisor_base.ts";
import { runForking, stopForking } from "./_supervisor_forking.ts";
import { serviceEnv } from "./supervisor_config.ts";
import {
  adoptedRecord,
  announceAdoption,
  orphanToAdopt,
  removeLeftovers,
} from "./_previous_run.ts";
import { RUN_DIR_VAR } from "./marked_trees.ts";
import {
  checkPrevious,
  holdPidFile,
  markedError,
  notSpawned,
  previousRun,
  restorePresence,
  watchPidFile,
} from "./_pid_file_hold.ts";
import { openServiceOutput, spawnIdentity, userIds } from "./_service_output.ts";
import { armWhenReady, awaitReady } from "./_supervisor_ready.ts";
import { FdPoller } from "../os/fd_poller.ts";
import { RunControl } from "./_run_control.ts";
import { type RestartAnswer, runSocketPath } from "./supervisor_protocol.ts";
import { servicePaths } from "./run_dir.ts";
import { writeServiceEnv } from "./service_env.ts";
import type { ServicePolicy } from "./policies/policy.ts";
import { awaitTick, closePolicies, openPolicies } from "./policies/service_policies.ts";

export { describeExit, exitStatus, type SuperviseOptions } from "./_supervisor_base.ts";

const SIGNALS_FORWARDED: Deno.Signal[] = ["SIGHUP", "SIGUSR2"];
const STOP_SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGINT"];
/** How long a main process aborted by the watchdog has to die of SIGABRT before the stop. */
const ABORT_GRACE_MS = 5000;

/**
 * Supervise `config` until it is stopped or gives up. Returns the exit
 * status for the supervisor process: the service's last exit status in the
 * foreground, 0 in the background (1 when it could not start).
 */
export async function supervise(
  config: SupervisorConfig,
  options: SuperviseOptions,
): Promise<number> {
  const s = new ServiceSupervisor(config, options);
  return await s.run();
}

/**
 * The supervision of one service: `supervise` runs one in its own process
 * (`pidkit run`), the resident supervisor of a run directory one per service.
 */
export class ServiceSupervisor extends SupervisorBase {
  async run(): Promise<number> {
    // Listen first: a stop (SIGTERM) that arrives while the supervisor is
    // still starting must end it cleanly (lock released, file removed,
    // `start` told), not kill it by the default action with its PID file
    // left behind.
    // (The resident supervisor of a run dir listens for all its services.)
    if (!this.opts.shared) this.listen();
    // A child subreaper that reaps: the tree's orphans stay in view (group
    // tier) and never linger as zombies, also as a container's PID 1.
    this.adoption = this.opts.shared?.adoption ?? adoptOrphans();
    // A tree left running by a killed predecessor is an instance although
    // the lock is free: refuse before taking over (and so rewriting) the
    // PID file that still names it. Checked again once locked (a race).
    // A background supervisor adopts an orphan instead (_previous_run.ts):
    // with the configuration its record holds, not the one it was given.
    // Found by its record, or by its marker whatever the record says (a
    // stale, corrupt or removed record).
    const { exit, early, previous } = await checkPrevious(this);
    if (exit !== undefined) return exit;
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
      return await this.locked();
    } catch (err) {
      await this.log?.line(`supervisor error: ${messageLine(err)}`);
      await this.report({ ok: false, error: messageLine(err), reason: "failed" });
      await this.tree?.stop({ retry: this.cfg.options.retry }).catch(() => {});
      return 1;
    } finally {
      await closePolicies(this.policies);
      await this.health?.close().catch(() => {});
      await this.closeOutput();
      await this.lock.release().catch(() => {});
      this.restartRequest?.answer({ held: false }); // asked as it was ending
      await this.control?.close(); // a stop's answer goes out now, the lock released
      if (!this.opts.shared) {
        await this.poller?.close();
        this.adoption.reaper?.reapNow();
        this.adoption.reaper?.stop();
      }
      await this.log?.close();
    }
  }

  adoption: Adoption = {};
  /** Schedules, file watches, memory limit (src/service/policies/); `tickStart`: a tick's reason. */
  policies: ServicePolicy[] = [];
  tickStart?: string;
  /** `pidkit run`'s control socket (_run_control.ts). */
  control?: RunControl;
  /** Started by a new resident supervisor because a restart was due when the old one died. */
  restartedDue = false;

  /** The run directory was made again (see `_pid_file_hold.ts`). */
  restorePresence(): Promise<void> {
    return restorePresence(this);
  }

  async locked(): Promise<number> {
    const { cfg } = this;
    if (cfg.log) {
      try {
        const { logMaxBytes: maxBytes, logKeep: keep } = cfg.options;
        this.log = await LogSink.open(cfg.log, {
          ...(maxBytes ? { rotation: { maxBytes, keep: keep ?? 5 } } : {}),
          ...(cfg.user ? { group: cfg.user.gid } : {}),
          times: true,
        });
      } catch (err) {
        return await this.fail(`cannot open log ${cfg.log}: ${messageLine(err)}`);
      }
    }
    // Not adopting: whatever wrote the log's unfinished last line is gone.
    if (!this.adopting) await this.log?.endOfOutput();
    if (this.adoption.problem) await this.log?.line(`orphans: ${this.adoption.problem}`);
    if (this.opts.firstLine) await this.log?.line(this.opts.firstLine);
    // Again once locked: a tree found now (its marker scanned after the lock
    // was taken) was there before this start, and nothing makes another.
    const found = await previousRun(this);
    const previous = found.record;
    let adopted: ProcessTree | undefined;
    if (previous) {
      // Checked again once locked (a race); adopting, the attach is the check.
      if (this.adopting && !found.marked?.holder) adopted = await orphanToAdopt(previous);
      const survivor = adopted ? undefined : await describeSurvivor(cfg.name, previous);
      if (survivor) {
        const error = found.marked ? markedError(cfg.name, found) : survivor.error;
        await this.log?.line(`not starting: ${error}`);
        return await this.fail(error, { alreadyRunning: survivor.pid });
      }
      if (!adopted && this.adopting) {
        return await this.fail(`${cfg.name}'s orphaned tree ended while being adopted`);
      }
      if (!adopted) await removeLeftovers(previous, cfg.name);
      const why = found.recordError ?? `its record ${cfg.state} did not name it`;
      if (adopted && found.marked) await this.log?.line(`found by its marker: ${why}`);
    }
    // The loop starts with the first descriptor watched.
    this.poller = this.opts.shared ? this.opts.shared.poller : FdPoller.create();
    if (!this.opts.shared && this.poller) {
      try {
        this.control = RunControl.listen(this, runSocketPath(cfg.dir, cfg.name), this.poller);
      } catch (err) { // stop still works the 0.1 way (SIGTERM); restart does not
        await this.log?.line(`no control socket for ${cfg.name}: ${messageLine(err)}`);
      }
    }
    // Only now: beside a survivor, its output FIFO is its own and stays.
    if (this.log) {
      try {
        this.output = await openServiceOutput(
          cfg,
          this.poller,
          (bytes, taken) => this.log!.write(bytes, taken),
        );
      } catch (err) {
        return await this.fail(`cannot set up ${cfg.name}'s output: ${messageLine(err)}`);
      }
      if (this.output === undefined) {
        await this.log.line(
          `${cfg.name}'s output goes through a pipe: a service that writes dies with its supervisor`,
        );
      }
    }
    // The values may be secrets: a 0600 file, never the state everyone reads.
    const unsaved = await writeServiceEnv(servicePaths(cfg.dir, cfg.name).env, cfg.env)
      .then(() => "", messageLine);
    if (unsaved && !adopted) return await this.fail(`cannot write ${cfg.name}'s env: ${unsaved}`);
    const now = new Date().toISOString();
    this.state = adopted ? adoptedRecord(previous!, adopted, Object.keys(cfg.env)) : {
      version: 2,
      name: cfg.name,
      phase: "starting",
      supervisor: {
        pid: Deno.pid,
        startTime: readProcStat("self")?.startTime ?? 0,
        kind: this.opts.shared ? "dir" : "service",
        ...(this.control ? { socket: this.control.path } : {}),
      },
      command: cfg.command,
      cwd: cfg.cwd,
      envNames: Object.keys(cfg.env),
      ...(cfg.user ? { user: cfg.user.name } : {}),
      options: cfg.options,
      ...(cfg.origin ? { origin: cfg.origin } : {}),
      pidfile: cfg.pidfile,
      log: cfg.log ?? "-",
      restarts: 0,
      bootId: readBootId(),
      createdAt: now,
      updatedAt: now,
    };
    try {
      this.health = await this.openHealth();
    } catch (err) {
      const why = `cannot set up ${cfg.name}: ${messageLine(err)}`;
      await this.end("failed", why);
      return await this.fail(why);
    }
    if (this.health.socketPath) await this.save({ notifySocket: this.health.socketPath });
    if (adopted) await announceAdoption(this, adopted, previous!.supervisor);
    try {
      this.policies = await openPolicies(this, previous);
    } catch (err) {
      const why = `cannot set up ${cfg.name}'s policies: ${messageLine(err)}`;
      await this.end("failed", why);
      return await this.fail(why);
    }
    let inARow = 0;
    let first = adopted === undefined;
    while (!this.stopping) {
      // A restart in place (`pidkit restart` of a `pidkit run` service):
      // someone waits for this start, as for a first one.
      const asked = await this.takeRestart();
      if (this.stopping) break;
      if (asked) inARow = 0;
      // --cron: a task starts at its ticks only, the first time too.
      if (first && !adopted && !asked && this.cfg.options.cron !== undefined) {
        first = false;
        if (await awaitTick(this, true) === "stop") break;
        if (this.restartRequest) continue; // taken at the top
        inARow = 0;
      }
      const fresh = first || asked;
      const awaited = fresh && (asked || !this.opts.foreground);
      const startedAt = Date.now();
      // A ready file left by an earlier run must not make this start look ready.
      const readyFileBefore = fresh && cfg.options.readyFile
        ? await markFile(cfg.options.readyFile)
        : undefined;
      const spawnedAtMs = Date.now();
      const tree = adopted ?? await this.spawn(fresh, awaited);
      adopted = undefined;
      if (tree === undefined) {
        if (fresh) return 1;
      } else if (cfg.options.forking) {
        const run = { first: fresh, awaited, spawnedAtMs, readyFileBefore };
        if (!await runForking(this, tree, run)) return 1;
        if (this.stopping) break;
        if (this.restartRequest) continue; // the tree is stopped at the top
      } else {
        if (fresh && !awaited) {
          // Nobody waits for readiness in the foreground: an early exit is just an exit.
          await this.save({ phase: "running" });
          await this.report({ ok: true, pid: tree.pid, supervisorPid: Deno.pid });
        } else if (awaited && !await awaitReady(this, tree, readyFileBefore)) {
          return 1;
        }
        await Promise.race([tree.status, this.woken]);
        if (this.stopping) break;
        if (this.restartRequest) continue; // the tree is stopped at the top
        await this.finish(tree);
      }
      first = false;
      const exit = this.lastExit!;
      const failed = !exit.success || this.forcedFailure;
      this.forcedFailure = false;
      if (Date.now() - startedAt >= BACKOFF_RESET_MS) inARow = 0;
      const { restart, maxRestarts, restartDelayMs } = cfg.options;
      if (!shouldRestart(restart, !failed)) {
        const tick = await awaitTick(this, false);
        if (tick === "start") {
          inARow = 0;
          continue;
        }
        if (tick === "stop") break;
        await this.end("exited");
        return this.exitCode();
      }
      if (inARow >= maxRestarts) {
        const times = `${inARow} restart${inARow === 1 ? "" : "s"}`;
        await this.log?.line(`giving up on ${cfg.name} after ${times} in a row`);
        const last = describeExit(exit);
        await this.end("failed", `gave up after ${times} in a row (last exit: ${last})`);
        return this.exitCode();
      }
      inARow++;
      const delay = restartDelay(inARow, restartDelayMs);
      await this.log?.line(`restarting ${cfg.name} in ${delay} ms (restart ${inARow} in a row)`);
      this.state.restarts++;
      const at = new Date(Date.now() + delay).toISOString();
      // No process is the service's until the restart: the PID file names none.
      await this.lock?.clear().catch(() => {});
      this.pidCleared = true;
      await this.save({
        phase: "restarting",
        tree: undefined,
        statusText: undefined, // the STATUS= of the instance that ended
        nextRestart: { at, attempt: inARow, of: maxRestarts },
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => timer = setTimeout(r, delay)), this.woken]);
      clearTimeout(timer);
    }
    await this.stopTree();
    await this.end("stopped");
    // Stopped before the service ever started: `start` is still waiting.
    await this.report({
      ok: false,
      error: `${cfg.name} was stopped during start-up`,
      reason: "stopped",
    });
    return this.exitCode();
  }

  exitCode(): number {
    if (!this.opts.foreground) return 0;
    return this.lastExit ? exitStatus(this.lastExit) : 0;
  }

  listen(): void {
    const fg = this.opts.foreground;
    for (const sig of STOP_SIGNALS) {
      Deno.addSignalListener(sig, () => {
        if (fg) this.stopSignal = sig;
        this.requestStop();
      });
    }
    for (const sig of SIGNALS_FORWARDED) {
      Deno.addSignalListener(sig, () => {
        if (sig === "SIGHUP" && this.log) this.log.reopen();
        if (fg || sig !== "SIGHUP") this.tree?.signal(sig);
      });
    }
    this.opts.watchUsr1?.(() => this.tree?.signal("SIGUSR1"));
  }

  requestStop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
  }

  /** A restart in place (`pidkit run`'s control socket): the answer once the new tree is ready. */
  requestRestart(
    request: { retry?: string; requestedBy: number; reason?: string },
  ): Promise<RestartAnswer> {
    if (this.stopping || this.restartRequest) {
      const why = this.stopping ? "is stopping" : "is being restarted already";
      return Promise.resolve({
        held: true,
        started: { ok: false, error: `${this.cfg.name} ${why}`, reason: "failed" },
      });
    }
    return new Promise((answer) => {
      this.restartRequest = { ...request, answer };
      this.wake();
    });
  }

  /**
   * Take a restart asked for: stop the tree on its schedule, and have the
   * next start reported to whoever asked. True when there was one.
   */
  async takeRestart(): Promise<boolean> {
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
    this.state.restarts = 0; // as for a restart through the resident supervisor: a new start
    this.reported = false;
    this.reportTo = (started) => {
      this.restartRequest = this.reportTo = undefined;
      asked.answer({ held: true, ...(asked.stopped ? { stopped: asked.stopped } : {}), started });
    };
    return true;
  }

  /** `awaited`: `awaitReady` times its readiness (else armWhenReady does). */
  async spawn(first: boolean, awaited: boolean): Promise<ProcessTree | undefined> {
    const { cfg } = this;
    // Record the marker before spawning: a supervisor killed between the
    // spawn and the state write below leaves a tree status and stop can
    // still find.
    const nonce = makeNonce();
    if (!await holdPidFile(this)) return notSpawned(this, first);
    await this.save({ spawning: formatMarker(cfg.name, nonce), tree: undefined });
    // The service's output waits in its FIFO until the started line is
    // written: that line comes first in the log.
    this.output?.pause();
    try {
      return await this.spawnPaused(first, awaited, nonce);
    } finally {
      this.output?.resume();
    }
  }

  async spawnPaused(
    first: boolean,
    awaited: boolean,
    nonce: string,
  ): Promise<ProcessTree | undefined> {
    const { cfg } = this;
    const piped = this.log !== undefined;
    let tree: ProcessTree;
    try {
      const prep = await this.health!.prepareSpawn();
      const as = spawnIdentity(cfg, this.output, prep.wrap(cfg.command), this.userOptions(cfg));
      tree = await spawnTree(as.command, {
        nonce,
        cwd: cfg.cwd,
        // The run directory beside the marker: the tree is found without any file (marked_trees.ts).
        env: { ...serviceEnv(cfg, prep.env), [RUN_DIR_VAR]: cfg.dir },
        clearEnv: cfg.inheritedEnv !== undefined,
        ...as.ids,
        stdin: "null",
        // Through the output FIFO when there is one (the shim opens it);
        // else a pipe to the log, or our own stdout and stderr (`run`).
        stdout: this.output ? "null" : piped ? "piped" : "inherit",
        stderr: this.output ? "null" : piped ? "piped" : "inherit",
        tracking: cfg.options.tracking,
        limits: cfg.options.limits,
        nice: cfg.options.nice,
        oomScoreAdjust: cfg.options.oomScoreAdjust,
        name: cfg.name,
        adoptOrphans: this.adoption.reaper !== undefined,
      });
    } catch (err) {
      const msg = `cannot start ${cfg.name}: ${messageLine(err)}`;
      await this.log?.line(msg);
      this.lastExit = { success: false, code: 127, signal: null };
      this.recordExit(this.lastExit);
      if (first) {
        await this.end("failed", msg);
        await this.report({ ok: false, error: msg, reason: "failed" });
      }
      return undefined;
    }
    if (!await holdPidFile(this)) {
      // Another supervisor took the name while this tree was spawned: it
      // may have started one of its own; this one goes.
      await tree.stop({ retry: "KILL/2" }).catch(() => {});
      return notSpawned(this, first);
    }
    this.tree = tree;
    this.health!.attach(tree);
    armWhenReady(this, tree, first, awaited);
    // Queued before any output is pumped (the pipes) or handed over (the FIFO, paused).
    const started = this.log?.line(
      `started ${cfg.name} (pid ${tree.pid}): ${cfg.command.join(" ")}`,
    );
    this.output?.resume();
    if (tree.stdout && this.log) this.pumps.push(pump(tree.stdout, this.log));
    if (tree.stderr && this.log) this.pumps.push(pump(tree.stderr, this.log));
    await this.lock!.update({ pid: tree.pid });
    this.pidCleared = false;
    await started;
    await this.save({
      // A restart that must say it is ready is "starting" until it does.
      phase: first || this.health!.conditions().length > 0 ? "starting" : "running",
      tree: tree.ref,
      spawning: undefined,
      serviceStartedAt: new Date().toISOString(),
      mainPid: undefined,
      mainUnknown: undefined,
      nextRestart: undefined,
    });
    return tree;
  }

  /** The sd_notify socket, notification fd and watchdog the options ask for. */
  openHealth(): Promise<ServiceHealth> {
    const { cfg } = this;
    return ServiceHealth.open({
      name: cfg.name,
      dir: cfg.dir,
      options: cfg.options,
      ...(cfg.user ? { user: cfg.user } : {}),
      log: (text) => void this.log?.line(text),
      save: (change) => this.save(change),
      phase: () => this.state.phase,
      onWatchdog: () => void this.watchdogFired(),
      onMainPid: (pid) => this.mainPidChanged(pid),
      poller: this.poller,
    });
  }

  /**
   * The watchdog fired: SIGABRT to the main process, a moment for it to
   * dump core and die of it (systemd's TimeoutAbortSec), then the tree is
   * stopped on the schedule; the exit counts as a failure.
   */
  async watchdogFired(): Promise<void> {
    const tree = this.tree;
    if (tree === undefined || this.stopping) return;
    this.forcedFailure = true;
    const main = this.state.mainPid ?? tree.pid;
    // Through a pidfd (src/os/pidfd.ts): a main process that is not our child
    // (MAINPID=, --forking, an adopted leader) may die and its PID be reused
    // meanwhile; the leader is checked by its recorded start time.
    if (main === tree.pid) signalProcess({ pid: main, startTime: tree.ref.startTime }, "SIGABRT");
    else signalProcess({ pid: main }, "SIGABRT", () => isTreeMember(tree.ref, main));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([tree.status, new Promise((r) => timer = setTimeout(r, ABORT_GRACE_MS))]);
    clearTimeout(timer);
    await tree.stop({ retry: this.cfg.options.retry }).catch(() => {});
  }

  /** `MAINPID=`: a member of the tree is the main process now (PID file and state). */
  async mainPidChanged(pid: number): Promise<void> {
    if (this.tree === undefined || pid === (this.state.mainPid ?? this.tree.pid)) return;
    await this.log?.line(`${this.cfg.name}: main pid is now ${pid} (MAINPID=)`);
    await this.lock?.update({ pid }).catch(() => {});
    await this.save({ mainPid: pid });
  }

  #warnedGroups = false;

  /** The `--user`'s ids (userIds); the missing setpriv(1) said once. */
  userOptions({ user }: SupervisorConfig): SpawnTreeOptions {
    return userIds(user, (text) => {
      if (!this.#warnedGroups) void this.log?.line(text);
      this.#warnedGroups = true;
    });
  }

  /** The leader exited: end the rest of its tree, drain the output, record the exit. */
  async finish(tree: ProcessTree): Promise<void> {
    const exit = await tree.status;
    this.health?.detach();
    this.lastExit = exit;
    await tree.stop({ retry: this.cfg.options.retry }).catch(() => {});
    await this.drain();
    await this.log?.endOfOutput();
    await this.log?.line(`${this.cfg.name} (pid ${tree.pid}) exited with ${describeExit(exit)}`);
    this.recordExit(exit);
    this.tree = undefined;
  }

  /** Stop the running tree on the requested schedule; record what happened. */
  async stopTree(): Promise<void> {
    const tree = this.tree;
    if (tree === undefined) return;
    this.health?.detach();
    const request = this.stopRequest;
    const retry = schedule(request?.retry ?? this.cfg.options.retry, this.stopSignal);
    // The state and log lines are written while the tree is being stopped, not before.
    const noted = Promise.all([
      this.save({ phase: "stopping" }),
      this.log?.line(`stopping ${this.cfg.name} (pid ${tree.pid}): ${describeRetry(retry)}`),
    ]);
    const report = this.cfg.options.forking
      ? await stopForking(this, tree, retry)
      : await tree.stop({ retry });
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
        pid: this.cfg.options.forking ? this.main?.pid : tree.pid,
        survivors: report.survivors,
      };
    }
    this.tree = undefined;
  }
}
