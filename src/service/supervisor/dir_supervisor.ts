/**
 * The resident supervisor of a run directory: one process holds every
 * service of the directory (the lock on each NAME.pid, each tree, its
 * state, log capture, readiness, restarts, stop schedules), one
 * per-service machine ({@linkcode ServiceMachine}, machine/service_machine.ts)
 * per service in one event loop. It is the machines' host
 * ({@linkcode SupervisionHost}): its poll loop, subreaper, journal and
 * event sink serve them all.
 *
 * - It holds `DIR/supervisor.lock` (a PID file of its own) for its whole
 *   life: never two supervisors for one directory.
 * - Commands reach it on `DIR/supervisor.sock` (mode 0600; the peer's uid,
 *   from `SO_PEERCRED`, must be root's, ours or the directory owner's): one
 *   JSON request line, one JSON answer line (supervisor_protocol.ts).
 * - On start it re-adopts every orphaned service of the directory (their
 *   supervisor was killed: lock free, tree alive) before it answers anyone.
 * - In the background it exits once it holds no service for
 *   {@linkcode IDLE_LINGER_MS}; `pidkit supervise` keeps it in the
 *   foreground until SIGTERM/SIGINT, which stop every service first.
 * - Isolation: each service's work runs on its own promises; the poll loop
 *   runs each descriptor's handler on its own (fd_poller.ts); an exception
 *   in one service's handling is written to `DIR/supervisor.journal` and
 *   ends at most that service's supervision, never the process.
 *
 * @module
 */

import { AlreadyRunningError, messageLine } from "../../os/errors.ts";
import { PidFile } from "../../lock/pid_file.ts";
import { FdPoller } from "../../os/fd_poller.ts";
import { type Adoption, adoptOrphans } from "../../os/orphan_reaper.ts";
import { type UnixConnection, UnixServer } from "../../os/unix_server.ts";
import { listens, SOCKET_CHECK_MS } from "../control/supervisor_client.ts";
import { delay } from "../../os/delay.ts";
import { LogSink } from "../output/log_sink.ts";
import { EventJournal } from "../events/event_journal.ts";
import { serviceNames } from "../model/run_dir.ts";
import { ServiceMachine } from "../machine/service_machine.ts";
import type { SupervisionHost } from "../machine/host.ts";
import { dirHost } from "./dir_host.ts";
import { alreadyHeld } from "./_already_held.ts";
import { formatDuration } from "../../os/duration.ts";
import { otherResident } from "../machine/_previous_run.ts";
import { takeOver } from "./_take_over.ts";
import { scanMarkedTrees } from "../inspect/marked_trees.ts";
import type { HttpAddress } from "../http/http_config.ts";
import type { SupervisorHttp } from "../http/supervisor_http.ts";
import { httpFromConfig, httpRequest, serveDirHttp } from "../http/supervisor_http_requests.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import {
  type LaunchAnswer,
  readRequest,
  refusalLine,
  RETRY_ANSWER,
  type StartResult,
  type StopAnswer,
  type SupervisorConfig,
  supervisorPaths,
  type SupervisorRequest,
  unknownOp,
} from "../control/supervisor_protocol.ts";
import { ackLine, answerLine, errorLine } from "../control/wire.ts";
import { scheduleOf, serveStop } from "../control/serve_stop.ts";
import { collectAfterRequest, collectWhenQuiet } from "./_quiet_gc.ts";
import { goneWhileIdle, isDirectory } from "./_gone_idle.ts";

/** How often the supervisor checks that its run directory and lock are still there. */
const PRESENCE_CHECK_MS = 1000;

/** How long a background supervisor with no service waits before it exits. */
export const IDLE_LINGER_MS = 1000;

/** How the resident supervisor runs; see {@linkcode superviseDir}. */
export interface DirSupervisorOptions {
  /** The run directory (absolute, already checked). */
  dir: string;
  /** `pidkit supervise`: stay when idle; messages to stderr as well. */
  foreground: boolean;
  /** Called once: listening, or why not (another supervisor holds the directory). */
  onReady?: (answer: LaunchAnswer) => void;
  /**
   * Serve the read-only HTTP server here (`supervise --http`); one that
   * cannot be bound ends the supervisor before it takes anything. Without
   * it, `DIR/supervisor.http` says where, if anywhere.
   */
  http?: HttpAddress;
}

/**
 * Run the resident supervisor of `options.dir` until it is idle (in the
 * background) or told to stop (SIGTERM, SIGINT). Returns the exit status.
 *
 * @example
 * ```ts
 * import { superviseDir } from "./dir_supervisor.ts";
 * Deno.exit(await superviseDir({ dir: "/tmp/pidkit-example", foreground: true }));
 * ```
 */
export async function superviseDir(options: DirSupervisorOptions): Promise<number> {
  return await new DirSupervisor(options).run();
}

interface Held {
  sup: ServiceMachine;
  done: Promise<void>;
}

class DirSupervisor {
  readonly dir: string;
  readonly opts: DirSupervisorOptions;
  readonly paths: ReturnType<typeof supervisorPaths>;
  readonly services = new Map<string, Held>();
  /** Requests being handled: a start in flight keeps an idle supervisor alive. */
  busy = 0;
  closing = false;
  /** Orphaned services adopted since it started (the metrics show it). */
  adoptions = 0;
  /** When it started, ms since the epoch. */
  readonly startedAt = Date.now();
  /** The read-only HTTP server, when one serves (`--http`, `DIR/supervisor.http`). */
  http?: SupervisorHttp;
  journal?: LogSink;
  /** The lifecycle events of the directory's services (DIR/events/events.jsonl): the machines' sink. */
  events!: EventJournal;
  poller?: FdPoller;
  adoption: Adoption = {};
  /**
   * The live trees of the directory found by their markers as this
   * supervisor started (it scans once; a start scans again only when a
   * record calls for it, see findPreviousRun).
   */
  marked = new Map<string, TreeRef[]>();
  #idleTimer?: ReturnType<typeof setTimeout>;
  lock!: PidFile;
  server?: UnixServer;
  /** Earlier sockets whose path was taken from them: they close at the end. */
  readonly abandoned: UnixServer[] = [];
  /** The run directory's mode as it started (made again with it when removed). */
  dirMode = 0o755;
  #presence?: ReturnType<typeof setInterval>;
  #restoring = false;
  /** Another supervisor took the directory after it was removed under this one. */
  #displaced = false;
  /** Adopted services whose adoption a start was told of already. */
  readonly #told = new WeakSet<ServiceMachine>();
  #finish!: () => void;
  readonly #finished = new Promise<void>((r) => this.#finish = r);
  /** What every machine gets of this process (machine/dir_host.ts), made at the first start. */
  #host?: SupervisionHost;
  /** Requests wait for the adoption of orphaned services: nobody is answered before it. */
  #adopted!: () => void;
  readonly #adoption = new Promise<void>((r) => this.#adopted = r);

  constructor(opts: DirSupervisorOptions) {
    this.opts = opts;
    this.dir = opts.dir;
    this.paths = supervisorPaths(opts.dir);
  }

  async run(): Promise<number> {
    if (this.opts.http !== undefined) {
      // Before anything is taken: a port in use changes nothing.
      try {
        this.http = await this.serveHttp(this.opts.http);
      } catch (err) {
        this.opts.onReady?.({ ok: false, error: messageLine(err) });
        return 1;
      }
    }
    let lock: PidFile;
    try {
      lock = await this.takeLock();
    } catch (err) {
      const other = err instanceof AlreadyRunningError ? err.pid ?? 0 : undefined;
      const error = other === undefined
        ? `cannot lock ${this.paths.lock}: ${messageLine(err)}`
        : `another supervisor${other ? ` (pid ${other})` : ""} holds ${this.dir}`;
      await this.http?.close();
      this.opts.onReady?.({ ok: false, error, ...(other === undefined ? {} : { other }) });
      return 1;
    }
    this.lock = lock;
    this.events = EventJournal.open(this.dir);
    // The trees of the directory, found by their markers, whatever the
    // records say. One still held by another resident supervisor of this
    // directory means its directory was removed under it: it makes it
    // again within a second; a second supervisor would make second
    // instances. Give way (the command asks again and reaches that one).
    this.marked = scanMarkedTrees(this.dir);
    const first = otherResident(this.dir, this.marked.values());
    if (first !== undefined) {
      await lock.release().catch(() => {});
      await this.http?.close();
      this.opts.onReady?.({
        ok: false,
        error: `another supervisor (pid ${first}) of ${this.dir} still runs its services ` +
          `(its directory was removed under it; it makes it again)`,
        other: first,
      });
      return 1;
    }
    try {
      this.dirMode = Deno.statSync(this.dir).mode! & 0o7777;
    } catch { /* it was there a moment ago; the default below */ }
    let socketCheck: ReturnType<typeof setInterval> | undefined;
    let complained = ""; // said once, not at every check
    try {
      // Without its journal (a full or read-only disk) it still supervises.
      this.journal = await LogSink.open(this.paths.journal, {
        rotation: { maxBytes: 1 << 20, keep: 1 },
      }).catch(() => undefined);
      this.confineErrors();
      this.adoption = adoptOrphans();
      this.poller = FdPoller.create();
      if (this.poller === undefined) throw new Error("a resident supervisor needs FFI (-A)");
      this.listenToSignals();
      this.server = this.listen();
      // Its socket removed or replaced (a regular file, say): no command
      // could reach it, and none could start another (this one holds the
      // lock). A cheap check (one lstat) every few seconds makes it anew.
      socketCheck = setInterval(() => {
        // Not while its directory is made again, nor when another
        // supervisor took the directory: that socket is the other's.
        if (this.closing || this.#restoring || this.#displaced) return;
        if (this.server === undefined || this.server.bound()) return;
        const was = describeSocketPath(this.paths.socket);
        try {
          if (!Deno.lstatSync(this.paths.socket).isDirectory) Deno.removeSync(this.paths.socket);
        } catch { /* gone already */ }
        try {
          const fresh = this.listen();
          this.abandoned.push(this.server);
          this.server = fresh;
          complained = "";
          void this.note(`${this.paths.socket} was ${was}: listening on a new socket`);
        } catch (err) {
          const text = `${this.paths.socket} is ${was} and cannot be made anew: ${
            messageLine(err)
          }`;
          if (text !== complained) void this.note(text);
          complained = text;
        }
      }, SOCKET_CHECK_MS);
      Deno.unrefTimer(socketCheck);
      // Listening first (a command that launched us connects at once), but
      // every request waits until the orphans are adopted (serve).
      const { adopted, restarted } = await this.adoptOrphaned().finally(() => this.#adopted());
      collectWhenQuiet(); // the adoption's garbage (_quiet_gc.ts)
      await this.note(
        `supervisor (pid ${Deno.pid}) of ${this.dir} listening; ${adopted} orphaned ` +
          `service${adopted === 1 ? "" : "s"} adopted` +
          (restarted ? `; ${restarted} restarted (a restart was due)` : ""),
      );
      await httpFromConfig(this);
      this.opts.onReady?.({ ok: true, pid: Deno.pid, adopted });
      this.#presence = setInterval(() => void this.checkPresence(), PRESENCE_CHECK_MS);
      this.checkIdle();
      await this.#finished;
      return 0;
    } catch (err) {
      await this.note(`supervisor error: ${messageLine(err)}`);
      this.opts.onReady?.({ ok: false, error: messageLine(err) });
      return 1;
    } finally {
      this.closing = true;
      clearInterval(socketCheck);
      clearInterval(this.#presence);
      await this.server?.close(RETRY_ANSWER);
      await this.http?.close();
      for (const old of this.abandoned) await old.close(RETRY_ANSWER);
      await this.lock.release().catch(() => {});
      await this.poller?.close();
      this.adoption.reaper?.reapNow();
      this.adoption.reaper?.stop();
      await this.events.close();
      await this.journal?.close();
    }
  }

  /**
   * `supervisor.lock`. Held by a supervisor that is exiting, it comes free
   * in a moment: wait up to 5 s; held by one that listens (say `pidkit
   * supervise`, started at the same time as a command's supervisor), give
   * way at once: the command talks to that one.
   */
  async takeLock(): Promise<PidFile> {
    const until = Date.now() + 5000;
    for (;;) {
      try {
        return await PidFile.acquire(this.paths.lock, { removeOnExit: false });
      } catch (err) {
        if (!(err instanceof AlreadyRunningError) || Date.now() >= until) throw err;
        if (await listens(this.paths.socket)) throw err;
      }
      await delay(25);
    }
  }

  listen(): UnixServer {
    return UnixServer.listen(this.paths.socket, this.poller!, (conn) => void this.serve(conn));
  }

  /** Make the run directory again, with the mode it had, when it was removed. */
  ensureDir(): void {
    try {
      Deno.mkdirSync(this.dir, { recursive: true, mode: this.dirMode });
      Deno.chmodSync(this.dir, this.dirMode); // the umask took its share
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }

  /**
   * Once a second: whether `supervisor.lock` at its path is still the one
   * this supervisor holds. When it (or the whole run directory) was removed,
   * nothing could see this supervisor and its services any more, and the
   * next command would start a second supervisor and second instances: say
   * so loudly (journal), make the directory again, take the lock and the
   * socket again, and each service's PID file, log and record. When
   * another supervisor took the directory meanwhile, this one keeps what it
   * holds (each PID file it can take again), answers no command, and
   * starts nothing of a name that is not its own any more.
   */
  async checkPresence(): Promise<void> {
    if (this.closing || this.#restoring) return;
    if (this.#displaced) return await this.retakeDir();
    if (this.lock.check() === "held") {
      // A record deleted under its supervisor: written again.
      for (const { sup } of this.services.values()) {
        if (sup.state !== undefined && !sup.disowned && !exists(sup.cfg.state)) void sup.save({});
      }
      return;
    }
    const idle = goneWhileIdle(this); // holding nothing, it exits rather than make anything
    if (idle !== undefined) return this.exitIdle(idle);
    this.#restoring = true;
    try {
      const dirGone = !isDirectory(this.dir);
      this.ensureDir();
      await this.journal?.reopen().catch(() => {});
      const what = dirGone ? `the run directory ${this.dir}` : this.paths.lock;
      const held = [...this.services.keys()];
      let lock: PidFile | undefined;
      let other: number | undefined;
      try {
        // A supervisor launched meanwhile gives way at once (it finds our
        // trees): wait for it a moment.
        lock = await PidFile.acquire(this.paths.lock, { removeOnExit: false, timeout: 3000 });
      } catch (err) {
        other = err instanceof AlreadyRunningError ? err.pid ?? 0 : -1;
      }
      if (lock === undefined) {
        this.#displaced = true;
        await this.note(
          `${what} was removed under this supervisor (pid ${Deno.pid}) and ${
            other! > 0 ? `another supervisor (pid ${other})` : "another process"
          } holds it now: this one keeps its ${held.length} service(s) (${held.join(", ")}) ` +
            `until they end, answers no command, and starts nothing twice`,
        );
      } else {
        await this.lock.release().catch(() => {}); // the path names the new file: only closed
        this.lock = lock;
        await this.server?.close(RETRY_ANSWER);
        this.server = this.listen();
        await this.note(
          `${what} was removed under this supervisor (pid ${Deno.pid}) of ${held.length} ` +
            `service(s) (${held.join(", ")}): made again; they keep running`,
        );
      }
      for (const { sup } of this.services.values()) await sup.restorePresence();
    } catch (err) {
      await this.note(`cannot make ${this.dir} again: ${messageLine(err)}`);
    } finally {
      this.#restoring = false;
    }
  }

  /** Displaced: once the other supervisor has exited, the directory is this one's again. */
  async retakeDir(): Promise<void> {
    let lock: PidFile;
    try {
      lock = await PidFile.acquire(this.paths.lock, { removeOnExit: false });
    } catch {
      return; // still held
    }
    this.#restoring = true;
    try {
      await this.lock.release().catch(() => {});
      this.lock = lock;
      await this.server?.close(RETRY_ANSWER);
      this.server = this.listen();
      this.#displaced = false;
      await this.note(`supervisor (pid ${Deno.pid}) of ${this.dir} listening again`);
      for (const { sup } of this.services.values()) await sup.restorePresence();
    } catch (err) {
      await this.note(`cannot listen again on ${this.paths.socket}: ${messageLine(err)}`);
    } finally {
      this.#restoring = false;
    }
  }

  /** A line in the journal (and on stderr in the foreground). */
  async note(text: string): Promise<void> {
    if (this.opts.foreground) console.error(`pidkit supervise: ${text}`);
    await this.journal?.line(text).catch(() => {});
  }

  /** An error nobody awaited is one service's problem: note it, never die of it. */
  confineErrors(): void {
    globalThis.addEventListener("error", (event) => {
      event.preventDefault(); // an exception thrown in a callback (a timer, say)
      void this.note(`unexpected error (confined, the supervisor goes on): ${event.message}`);
    });
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      void this.note(
        `unexpected error (confined, the supervisor goes on): ${messageLine(event.reason)}`,
      );
    });
  }

  listenToSignals(): void {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(sig, () => void this.shutdown(sig));
    }
    // 0.1's supervisor of one service forwarded SIGUSR2 to its tree; one of
    // many cannot guess whose it is (`pidkit signal NAME USR2` says). Taken
    // and dropped: by default it would kill the supervisor.
    Deno.addSignalListener("SIGUSR2", () => {
      void this.note("SIGUSR2 ignored: use pidkit signal NAME USR2");
    });
    Deno.addSignalListener("SIGHUP", () => {
      const logs = [...this.services.values()].map(({ sup }) => sup.log?.reopen());
      void this.journal?.reopen().then(() =>
        this.note(`SIGHUP: reopened the journal and ${logs.filter((l) => l).length} log(s)`)
      );
    });
  }

  /** Stop every service on its own schedule, then exit. */
  async shutdown(signal: Deno.Signal): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.note(`${signal}: stopping ${this.services.size} service(s)`);
    const all = [...this.services.values()];
    for (const { sup } of all) sup.requestStop();
    await Promise.all(all.map((h) => h.done));
    this.#finish();
  }

  /**
   * Every orphaned service of the directory, adopted at once (all in
   * parallel), and every one whose restart was due, restarted. Orphans are
   * found by their records and by their markers (marked_trees.ts), so a
   * record left stale by a full disk, corrupt, or gone still finds its
   * tree. A service whose tree died while no supervisor ran gets its
   * restart policy (its exit status is unknown: a failure) or its books
   * closed; what the dead tree left is removed either way.
   */
  async adoptOrphaned(): Promise<{ adopted: number; restarted: number }> {
    const names = new Set(await serviceNames(this.dir).catch(() => []));
    for (const name of this.marked.keys()) names.add(name);
    const answers = await Promise.all([...names].map((name) => takeOver(this, name)));
    // What it holds now is its own; only trees it could not take stay in view.
    for (const name of this.services.keys()) this.marked.delete(name);
    const count = (what: string) => answers.filter((a) => a === what).length;
    this.adoptions += count("adopted");
    return { adopted: count("adopted"), restarted: count("restarted") };
  }

  async serve(conn: UnixConnection): Promise<void> {
    this.busy++;
    try {
      // Read first: a client whose request is refused unread gets EPIPE, not the answer.
      const request = await readRequest(
        conn,
        this.dir,
        (uid) => `permission denied: uid ${uid} may not control the services of ${this.dir}`,
      );
      if (request === undefined) return;
      // A request read after its client gave up (this process was stopped,
      // say by SIGSTOP, or overloaded), or whose client is gone, is dropped:
      // carried out now, it would surprise whoever asked long ago.
      const late = typeof request.deadline === "number" ? Date.now() - request.deadline : -1;
      if (late > 0 || conn.peerGone()) {
        await this.note(
          `dropped a ${request.op} request${describeTarget(request)} from pid ${conn.peer.pid}: ` +
            (late > 0 ? `its deadline passed ${formatDuration(late)} ago` : "its command is gone"),
        );
        await conn.write(
          refusalLine("expired", "the request's deadline passed before it was read"),
        );
        return;
      }
      if (request.ack === true) await conn.write(ackLine(this.ackExtras(request), request.v));
      await this.#adoption; // nobody is answered before the orphans are adopted
      const answer = this.closing ? { retry: true } : await this.handle(request);
      // An answer to a command from before versioning goes out as it expects it.
      await conn.write(request.v === 0 ? JSON.stringify(answer) + "\n" : answerLine(answer));
    } catch (err) {
      await conn.write(errorLine("failed", messageLine(err)));
    } finally {
      conn.close();
      this.busy--;
      this.checkIdle();
    }
  }

  async handle(request: SupervisorRequest): Promise<unknown> {
    switch (request.op) {
      case "start":
        return await this.start(request.config).finally(collectWhenQuiet);
      case "stop":
        return await this.stop(request).finally(collectWhenQuiet);
      case "http":
        return await httpRequest(this, request.listen);
      case "hello":
        return {
          ok: true,
          pid: Deno.pid,
          services: [...this.services.keys()],
          memory: Deno.memoryUsage(),
          adoptions: this.adoptions,
          startedAt: this.startedAt,
        };
      default:
        return unknownOp(request);
    }
  }

  /** What the acknowledgement of `request` tells at once: a stop's schedule. */
  ackExtras(request: SupervisorRequest): { retry?: string } {
    if (request.op !== "stop") return {};
    const held = this.services.get(request.name);
    return held ? { retry: scheduleOf(held.sup, request) } : {};
  }

  /**
   * Start (or adopt) one service; the answer once it is ready, or why not.
   * Start it if not running: a service held already is answered "already
   * running" (alreadyHeld), never started twice.
   */
  start(
    config: SupervisorConfig,
    options: { adoptOnly?: boolean; firstLine?: string; restartedDue?: boolean } = {},
  ): Promise<StartResult> {
    if (config.dir !== this.dir) {
      return Promise.resolve({
        ok: false,
        error: `${config.name} belongs to ${config.dir}, not ${this.dir}`,
        reason: "failed",
      });
    }
    const held = this.services.get(config.name);
    if (held) {
      const answer = alreadyHeld(config.name, held.sup, !this.#told.has(held.sup));
      this.#told.add(held.sup);
      return Promise.resolve(answer);
    }
    let answer!: (result: StartResult) => void;
    const answered = new Promise<StartResult>((r) => answer = r);
    const sup = new ServiceMachine(config, this.#host ??= dirHost(this), {
      ...(options.adoptOnly ? { adoptOnly: true } : {}),
      ...(options.firstLine ? { firstLine: options.firstLine } : {}),
      ...(options.restartedDue ? { restartedDue: true } : {}),
      onStarted: (result) => answer(result),
    });
    const entry: Held = {
      sup,
      done: sup.run().then(() => {}, async (err) => {
        await this.note(`${config.name}: supervision failed: ${messageLine(err)}`);
      }).finally(() => {
        if (this.services.get(config.name) === entry) this.services.delete(config.name);
        answer({ ok: false, error: `${config.name}'s supervision ended`, reason: "failed" });
        this.checkIdle();
      }),
    };
    this.services.set(config.name, entry);
    return answered;
  }

  /**
   * Stop one service on the schedule asked for, else its own; the answer
   * once its lock is released (see control/serve_stop.ts).
   */
  async stop(
    request: Extract<SupervisorRequest, { op: "stop" }>,
  ): Promise<StopAnswer> {
    const held = this.services.get(request.name);
    if (held === undefined) return { held: false };
    return await serveStop(held.sup, request, held.done);
  }

  /** The HTTP server on `at` (throws one line when it cannot be bound). */
  serveHttp(at: HttpAddress): Promise<SupervisorHttp> {
    return serveDirHttp(this, at, { onRequestDone: collectAfterRequest }); // a burst's garbage
  }

  /** In the background, exit once nothing has been held for a moment. */
  checkIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.opts.foreground || this.closing || this.services.size > 0 || this.busy > 0) return;
    this.#idleTimer = setTimeout(() => {
      if (this.services.size > 0 || this.busy > 0 || this.closing) return;
      this.exitIdle(`no service left: supervisor (pid ${Deno.pid}) exits`);
    }, IDLE_LINGER_MS);
  }

  /** Exit holding nothing: from now on a request is answered "retry" (serve). */
  exitIdle(text: string): void {
    clearTimeout(this.#idleTimer);
    this.closing = true;
    void this.note(text).then(() => this.#finish());
  }
}

/** What is at a socket's path that is no longer ours, for a journal line. */
function describeSocketPath(path: string): string {
  try {
    const st = Deno.lstatSync(path);
    return st.isFile
      ? "replaced by a regular file"
      : st.isDirectory
      ? "replaced by a directory"
      : "replaced by another file";
  } catch {
    return "removed";
  }
}

/** ` of NAME` for a journal line about a request. */
function describeTarget(request: SupervisorRequest): string {
  if (request.op === "start") return ` for ${request.config?.name}`;
  if (request.op === "stop") return ` for ${request.name}`;
  return "";
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
