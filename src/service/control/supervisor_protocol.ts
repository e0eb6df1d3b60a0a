/**
 * What passes between the pidkit commands and a supervisor:
 *
 * - the resident supervisor of a run directory (dir_supervisor.ts) is
 *   started detached by the first command that finds none
 *   (`pidkit __supervise DIR`, hidden); it answers with one JSON line on its
 *   stdout, a {@linkcode LaunchAnswer}, once it listens (or why not), then
 *   never writes there again;
 * - every request then goes over `DIR/supervisor.sock`: one JSON line, a
 *   {@linkcode SupervisorRequest} in the versioned envelope of
 *   `control/wire.ts` (a supervisor from before versioning does nothing
 *   with it), and one JSON line back: a {@linkcode StartResult} once the
 *   service is ready (or failed), a {@linkcode StopAnswer} once it is
 *   stopped and its lock released, or {@linkcode RETRY_ANSWER} from a
 *   supervisor that is exiting (ask again: the next command starts a new
 *   one);
 * - `pidkit run` (a supervisor of one service in the foreground) listens on
 *   a socket of its own, `DIR/NAME.run.sock` ({@linkcode runSocketPath}),
 *   which its record names (`supervisor.socket`): the same requests, plus
 *   `restart`, which it carries out in place (same process, same PID) and
 *   answers with a {@linkcode RestartAnswer};
 * - a `pidkit run` of 0.2 (no socket in its record) is stopped by SIGTERM,
 *   on its own schedule; a 0.1 supervisor (record version 1) by the 0.1
 *   control file (`control/legacy_control_file.ts`) and SIGTERM.
 *
 * @module
 */

import type { ServiceOptions, ServiceOrigin } from "../model/service_record.ts";
import type { UnixConnection } from "../../os/unix_server.ts";
import {
  ackLine,
  type ControlError,
  type ControlErrorCode,
  errorLine,
  parseRequestLine,
  PROTOCOL_VERSION,
} from "./wire.ts";

/** The hidden command that runs a background resident supervisor (not in `--help`). */
export const SUPERVISE_COMMAND = "__supervise";

/** Everything a supervisor needs; `start`/`run`/`restart` build it from the command line. */
export interface SupervisorConfig {
  /** The service name. */
  name: string;
  /** The run directory (absolute). */
  dir: string;
  /** The PID file to hold (absolute). */
  pidfile: string;
  /** The state file (absolute). */
  state: string;
  /** The log file (absolute); for `run`, only when `--log` was given. */
  log?: string;
  /** Unused since 0.2 (0.1's stop-request file); ignored when given. */
  control?: string;
  /** The service command. */
  command: string[];
  /** The service's working directory (absolute). */
  cwd: string;
  /** Environment additions for the service (`--env`). */
  env: Record<string, string>;
  /**
   * The environment of the command that asked (`start`, `restart`): the
   * service starts from it, not from the resident supervisor's own (which
   * is whoever started the supervisor). Never written to the state file (it
   * may hold secrets); a service adopted after a supervisor's death restarts
   * from the new supervisor's environment plus its `--env`.
   */
  inheritedEnv?: Record<string, string>;
  /** `--user` as given, and what it resolved to. */
  user?: {
    name: string;
    uid: number;
    gid: number;
    groups?: number[];
    /** Its home and shell (`HOME`, `SHELL` of the service; absent from 0.2's clients). */
    home?: string;
    shell?: string;
  };
  /** The options as given, as the state file records them. */
  options: ServiceOptions;
  /** The declaration it comes from (`pidkit up`), kept in the state file. */
  origin?: ServiceOrigin;
}

/** The supervisor's answer to `start` (one JSON line on its stdout). */
export type StartResult =
  | {
    ok: true;
    /** The main PID; `null` for a `--forking` service whose main process is unknown. */
    pid: number | null;
    supervisorPid: number;
    /** With `pid: null`: how many processes the service has. */
    mainUnknown?: number;
    /** A `--cron` task: not started now; its first run is due then (ISO; absent: never). */
    scheduled?: string;
  }
  | {
    ok: false;
    /** One line for the user. */
    error: string;
    /**
     * Why the start failed, when the service itself was the cause: it exited
     * during start-up, was not ready in time, was stopped meanwhile, or could
     * not be started at all (`alreadyRunning` says when another instance runs).
     */
    reason?: StartFailureReason;
    /** The exit status `start` should use (1 unless told otherwise). */
    exitCode?: number;
    /** Another supervisor holds the lock: its PID file names this PID. */
    alreadyRunning?: number;
    /** The service died during start-up: how. */
    exit?: { code: number | null; signal: string | null };
    /** The last lines of the log when the service died during start-up. */
    logTail?: string[];
    /** With `alreadyRunning`: an orphan of this service was adopted by the supervisor. */
    adopted?: true;
  };

/**
 * What every request carries besides its `op`: its deadline (a client that
 * gave up, or went away, is not served later: a supervisor that was
 * frozen meanwhile drops it) and whether the client wants an
 * acknowledgement line ({@linkcode ACCEPTED_ANSWER}) as soon as the request
 * is taken, before the answer (so it can tell "does not answer" from "busy
 * with it").
 */
export interface RequestEnvelope {
  /** Drop the request once this time has passed (ms since the epoch, `Date.now()`). */
  deadline?: number;
  /** Write {@linkcode ACCEPTED_ANSWER} when the request is taken. */
  ack?: boolean;
}

/** A request on `DIR/supervisor.sock`. */
export type SupervisorRequest =
  & RequestEnvelope
  & (
    | { op: "start"; config: SupervisorConfig }
    | {
      op: "stop";
      name: string;
      /** The schedule asked for (`--retry`); absent: the service's own. */
      retry?: string;
      requestedBy: number;
      /** Answer `timedOut` after this long if the service is not stopped by then. */
      timeoutMs?: number;
    }
    | {
      /** Only `pidkit run` takes it: stop the tree on `retry`, start it again in place. */
      op: "restart";
      name: string;
      retry?: string;
      requestedBy: number;
    }
    | { op: "hello" }
    | {
      /**
       * Serve the read-only HTTP server on `listen` (`HOST:PORT`) from now
       * on, and record it in `DIR/supervisor.http` for later supervisors
       * (src/service/http/supervisor_http.ts).
       */
      op: "http";
      listen: string;
    }
  );

/**
 * The line a supervisor writes when it takes a request that asked for it
 * (`ack`), without extras ({@linkcode ackLine} adds them).
 */
export const ACCEPTED_ANSWER: string = ackLine();

/**
 * Why a supervisor refused a request, in a {@linkcode Refusal}; see
 * {@linkcode ControlErrorCode}.
 */
export type RefusalCode = ControlErrorCode;

/** A refused request: the client maps `code`, never the text. */
export type Refusal = ControlError;

/** A refusal line: the client acts on `code`, never on the text. */
export function refusalLine(code: RefusalCode, error: string): string {
  return errorLine(code, error);
}

/**
 * A request read from `conn`, from a peer allowed to control the services
 * of run directory `dir` (root, this process's uid, or the directory's
 * owner, stat'ed only for another uid). `undefined` when the client sent nothing, or when
 * it was refused (`permission-denied` with `denied(uid)`, or `bad-request`):
 * the refusal is written. Read first: a client refused unread gets EPIPE,
 * not the answer.
 *
 * @example
 * ```ts
 * import { readRequest } from "./supervisor_protocol.ts";
 * import type { UnixConnection } from "../../os/unix_server.ts";
 * async function serve(conn: UnixConnection): Promise<void> {
 *   const request = await readRequest(conn, "/run/pidkit", (uid) => `uid ${uid} may not`);
 *   if (request === undefined) return; // refused (and told), or nothing sent
 * }
 * ```
 */
export async function readRequest(
  conn: UnixConnection,
  dir: string,
  denied: (uid: number) => string,
): Promise<(SupervisorRequest & { v: number }) | undefined> {
  const line = await conn.readLine();
  if (line === undefined) return undefined;
  const { uid } = conn.peer;
  if (uid !== 0 && uid !== Deno.uid() && uid !== ownerOf(dir)) {
    await conn.write(refusalLine("permission-denied", denied(uid)));
    return undefined;
  }
  const got = parseRequestLine(line);
  if ("code" in got) {
    await conn.write(refusalLine(got.code, got.error));
    return undefined;
  }
  return { ...got.request, v: got.v } as SupervisorRequest & { v: number };
}

/**
 * The answer to a request whose `op` this supervisor does not know.
 *
 * @example
 * ```ts
 * import { unknownOp } from "./supervisor_protocol.ts";
 * console.log(unknownOp({ op: "frobnicate" }).code); // unknown-op
 * ```
 */
export function unknownOp(request: unknown): Refusal {
  return {
    ok: false,
    code: "unknown-op",
    error: `unknown request ${JSON.stringify(request)}`,
    v: PROTOCOL_VERSION,
  };
}

function ownerOf(dir: string): number | null {
  try {
    return Deno.statSync(dir).uid;
  } catch {
    return null;
  }
}

/**
 * `pidkit run`'s answer to a restart: `held: false` when it does not hold
 * that service (any more: it is exiting); else the stop and the new start.
 */
export type RestartAnswer =
  | { held: false }
  | { held: true; stopped?: StopResult; started: StartResult };

/**
 * The control socket of `pidkit run NAME` in run directory `dir`. Not
 * `DIR/supervisor.sock`: the run directory's resident supervisor may serve
 * the same directory. `.run.sock` after the name: no service name can make
 * another's path, nor the resident supervisor's.
 *
 * @example
 * ```ts
 * import { runSocketPath } from "./supervisor_protocol.ts";
 * console.log(runSocketPath("/run/pidkit", "web")); // /run/pidkit/web.run.sock
 * ```
 */
export function runSocketPath(dir: string, name: string): string {
  return `${dir}/${name}.run.sock`;
}

/** The answer to a stop request: `held: false` when the supervisor does not hold that service. */
export interface StopAnswer {
  /** Whether the supervisor held the service (and so stopped it). */
  held: boolean;
  /** What the stop did, when a tree was stopped. */
  result?: StopResult;
  /** Not stopped within the request's `timeoutMs` (the stop goes on). */
  timedOut?: boolean;
}

/** What a supervisor that is exiting answers every request: ask again. */
export const RETRY_ANSWER = `{"retry":true,"v":${PROTOCOL_VERSION}}\n`;

/**
 * The V8 flags a background resident supervisor runs with (through
 * `DENO_V8_FLAGS`, which a `deno compile`d binary reads too); it removes
 * them from its environment first thing, so its services never inherit them.
 */
export const SUPERVISOR_V8_FLAGS = "--max-semi-space-size=1,--lite-mode,--expose-gc";

/**
 * The flags before `--expose-gc` (supervisor/_quiet_gc.ts) was added: a
 * systemd unit exported by an earlier pidkit still sets them, and the
 * supervisor removes them from its environment too.
 *
 * @example
 * ```ts
 * import { EARLIER_SUPERVISOR_V8_FLAGS } from "./supervisor_protocol.ts";
 * console.log(EARLIER_SUPERVISOR_V8_FLAGS.includes("--lite-mode")); // true
 * ```
 */
export const EARLIER_SUPERVISOR_V8_FLAGS = "--max-semi-space-size=1,--lite-mode";

/** The resident supervisor's first line on its stdout. */
export type LaunchAnswer =
  | { ok: true; pid: number; adopted: number }
  /** `other`: another supervisor (this PID, 0 unknown) holds the directory. */
  | { ok: false; error: string; other?: number };

/** The resident supervisor's files in run directory `dir`. */
export function supervisorPaths(dir: string): {
  lock: string;
  socket: string;
  launch: string;
  journal: string;
} {
  return {
    /** Its PID file, locked for its whole life. */
    lock: `${dir}/supervisor.lock`,
    /** The control socket. */
    socket: `${dir}/supervisor.sock`,
    /** Held by a command while it starts a supervisor: one start at a time. */
    launch: `${dir}/supervisor.launch`,
    /** What the supervisor itself did (adoptions, confined errors). */
    journal: `${dir}/supervisor.journal`,
  };
}

/**
 * Why a start failed; see {@linkcode StartResult}.
 *
 * @example
 * ```ts
 * import { ServiceStartError, type StartFailureReason } from "@pidkit/pidkit/service";
 * function why(err: ServiceStartError): StartFailureReason {
 *   return err.reason; // "exited", "not-ready", "stopped" or "failed"
 * }
 * console.log(why);
 * ```
 */
export type StartFailureReason = "exited" | "not-ready" | "stopped" | "failed";

/** A stop asked for: the schedule, who asked, when (and what 0.1 read from `DIR/NAME.ctl`). */
export interface StopRequest {
  /** The stop schedule. */
  retry: string;
  /** Who asked. */
  requestedBy: number;
  /** When (ISO). */
  at: string;
}

/** What the supervisor did on a stop (its answer; 0.1 wrote it into `DIR/NAME.ctl`). */
export interface StopResult extends StopRequest {
  /** The signals sent: name, ms after the stop began, how many processes. */
  signalsSent: { signal: string; atMs: number; targets: number }[];
  /** How long the stop took, in ms. */
  durationMs: number;
  /** The service leader's PID. */
  pid?: number;
  /** PIDs still alive when the schedule ran out. */
  survivors: number[];
}
