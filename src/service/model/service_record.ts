/**
 * The state file of a named service (`DIR/NAME.json`): what its supervisor
 * is doing, which process tree it runs, and everything `restart` needs to
 * start it again. Written atomically by the supervisor only; read by every
 * other command.
 *
 * @module
 */

import type { ResourceLimits } from "../../os/resource_limits.ts";
import type { PolicyAction } from "./policy.ts";
import type { PolicyOptions } from "./policy_options.ts";
import { PidFileError } from "../../os/errors.ts";
import type { TreeRef } from "../../tree/process_tree.ts";

/** What the supervisor of a service is doing. */
export type SupervisorPhase =
  | "starting"
  | "running"
  | "reloading"
  | "restarting"
  | "stopping"
  | "stopped"
  | "exited"
  | "failed"
  | "scheduled";

/** The options a service was started with, as given (what `restart` replays). */
export interface ServiceOptions extends PolicyOptions {
  /** Restart policy. */
  restart: "no" | "on-failure" | "always";
  /** Give up after this many restarts in a row. */
  maxRestarts: number;
  /** The first restart delay in ms (doubled up to 30 s). */
  restartDelayMs: number;
  /** The stop schedule, e.g. `TERM/10/KILL/5`. */
  retry: string;
  /** Ready once the service has lived this long (ms). */
  readyAfterMs?: number;
  /** Ready once a TCP connection to `HOST:PORT` succeeds. */
  readyTcp?: string;
  /** Ready once this file exists. */
  readyFile?: string;
  /** Process tracking tier. */
  tracking: "auto" | "cgroup" | "group";
  /** `--forking`: the first process forks a daemon and exits 0 (systemd's Type=forking). */
  forking?: boolean;
  /** `--main-pidfile`: the daemon's own PID file, naming the service's main process. */
  mainPidfile?: string;
  /** Ready once the service sends `READY=1` to `NOTIFY_SOCKET` (`--ready-notify`). */
  readyNotify?: boolean;
  /** Ready once the service writes a newline to this descriptor (`--ready-fd`). */
  readyFd?: number;
  /** How long readiness may take, in ms (`--ready-timeout`; default 60 s). */
  readyTimeoutMs?: number;
  /** `WATCHDOG=1` must come at least this often once ready, in ms (`--watchdog`). */
  watchdogMs?: number;
  /** Rotate the log when it reaches this many bytes (`--log-max-size`). */
  logMaxBytes?: number;
  /** Rotated logs kept (`--log-keep`; default 5 with a size). */
  logKeep?: number;
  /** Resource limits set on the leader before it runs (`--limit`). */
  limits?: ResourceLimits;
  /** The leader's nice value (`--nice`). */
  nice?: number;
  /** The leader's `/proc/PID/oom_score_adj` (`--oom-score-adjust`). */
  oomScoreAdjust?: number;
}

/**
 * The declaration a service was started from by `pidkit up` (or
 * `supervise --config`): the file's absolute path and the hash of the
 * resolved service. Services started by hand have none, and `up` never
 * touches them.
 *
 * @example
 * ```ts
 * import type { ServiceOrigin } from "./service_record.ts";
 * const origin: ServiceOrigin = { file: "/srv/app/pidkit.jsonc", hash: "3f2a9c..." };
 * console.log(origin.file);
 * ```
 */
export interface ServiceOrigin {
  /** The declaration file's absolute path. */
  file: string;
  /** The hash of the resolved service it was started with (see the stack layer's `specHash`). */
  hash: string;
}

/**
 * The content of `DIR/NAME.json` (version 2; version 1, written by 0.1's
 * supervisor of one service, is read too: it has no `supervisor.kind`).
 *
 * @example
 * ```ts
 * import { readServiceRecord, type ServiceRecord } from "./service_record.ts";
 * const state: ServiceRecord | undefined = await readServiceRecord("/run/pidkit/web.json");
 * console.log(state?.phase, state?.tree?.pid);
 * ```
 */
export interface ServiceRecord {
  /** Format version: 2 from 0.2 on; 1 from 0.1 (one supervisor per service). */
  version: 1 | 2;
  /** The service name. */
  name: string;
  /** What the supervisor is doing. */
  phase: SupervisorPhase;
  /**
   * The supervisor process (PID and start time in clock ticks, to detect PID
   * reuse) and its kind: `"dir"`, the run directory's resident supervisor
   * (reached through `DIR/supervisor.sock`); `"service"`, a supervisor of
   * this one service (`pidkit run`, or any 0.1 supervisor: stopped by
   * SIGTERM and the control file). `socket`: where a `pidkit run` from
   * 0.3 on takes requests (stop, restart; see supervisor_protocol.ts);
   * absent in records of 0.1 and 0.2.
   */
  supervisor: { pid: number; startTime: number; kind?: "dir" | "service"; socket?: string };
  /**
   * A `pidkit stop` stopping the tree a killed supervisor left (PID and start
   * time): it holds the PID file's lock meanwhile, and is no supervisor.
   */
  stopper?: { pid: number; startTime: number };
  /** The current service tree (absent between restarts). */
  tree?: TreeRef;
  /**
   * The marker (`NAME:NONCE`, the value of `PIDKIT_SERVICE`) of a tree being
   * spawned, written before the spawn: if the supervisor dies before it can
   * record `tree`, the tree is still found (and stopped) by this marker.
   */
  spawning?: string;
  /** ISO time the current tree started. */
  serviceStartedAt?: string;
  /** The service command. */
  command: string[];
  /** Its working directory. */
  cwd: string;
  /**
   * The names of the `--env` additions (from 0.3). Their values may be
   * secrets: they are kept in `DIR/NAME.env`, mode 0600, never here.
   */
  envNames?: string[];
  /**
   * The `--env` additions with their values, as 0.2 wrote them (this file is
   * readable by everyone). A 0.3 supervisor that adopts such a service moves
   * them to `DIR/NAME.env`.
   */
  env?: Record<string, string>;
  /** The user it runs as, when `--user` was given. */
  user?: string;
  /** Everything `restart` needs to start it again. */
  options: ServiceOptions;
  /** Absolute path of the PID file. */
  pidfile: string;
  /** Absolute path of the log file. */
  log: string;
  /** Restarts so far. */
  restarts: number;
  /**
   * During a restart back-off (phase `restarting`): when the next start is
   * due (ISO), which restart in a row it is, and how many are allowed.
   */
  nextRestart?: { at: string; attempt: number; of: number };
  /**
   * A schedule's next tick (`--cron`: a start, phase `scheduled` while it
   * waits; `--cron-restart`: a restart).
   */
  nextRun?: { at: string; action: "start" | "restart" };
  /** The last start or restart a policy (schedule, watch, memory limit) made. */
  policyAction?: PolicyAction;
  /** How the service last ended. */
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** Why the service failed (phase `failed`): one line, as `start` said it. */
  failure?: string;
  /** The last `STATUS=` text the service sent (sd_notify). */
  statusText?: string;
  /** The service's notify socket (`NOTIFY_SOCKET`), with `--ready-notify` or `--watchdog`. */
  notifySocket?: string;
  /** The main PID a tree member named with `MAINPID=`, when it is not the leader. */
  mainPid?: number;
  /**
   * The start time (clock ticks after boot) of a `--forking` service's main
   * process, with `mainPid`: a supervisor adopting the service verifies the
   * PID by it (from 0.3).
   */
  mainStartTime?: number;
  /**
   * A `--forking` service without `--main-pidfile` whose main process could
   * not be guessed: how many processes it has (its PID file is empty).
   */
  mainUnknown?: number;
  /** The last `ERRNO=` the service sent. */
  notifyErrno?: number;
  /** The declaration it was started from (`pidkit up`); absent: started by hand. */
  origin?: ServiceOrigin;
  /** The boot the state was written in (`/proc/sys/kernel/random/boot_id`). */
  bootId?: string;
  /** ISO time the supervisor first wrote the file. */
  createdAt: string;
  /** ISO time of the last write. */
  updatedAt: string;
}

const PHASES = new Set([
  "starting",
  "running",
  "reloading",
  "restarting",
  "stopping",
  "stopped",
  "exited",
  "failed",
  "scheduled",
]);

/**
 * Read a service state file. Returns `undefined` when it does not exist;
 * throws {@linkcode PidFileError} with reason `"bad-content"` when it is not
 * a version-1 state file, `"permission"` when it cannot be read.
 *
 * @example
 * ```ts
 * import { readServiceRecord } from "./service_record.ts";
 * const state = await readServiceRecord("/run/pidkit/web.json");
 * if (state === undefined) console.log("web was never started here");
 * ```
 */
export async function readServiceRecord(path: string): Promise<ServiceRecord | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    return readError(path, err);
  }
  return parseState(path, text);
}

/**
 * {@linkcode readServiceRecord} without a trip through the event loop, for
 * `pidkit status`, where each first asynchronous file operation costs
 * start-up time (the file is small and local).
 *
 * @example
 * ```ts
 * import { readServiceRecordSync } from "./service_record.ts";
 * console.log(readServiceRecordSync("/run/pidkit/web.json")?.phase);
 * ```
 */
export function readServiceRecordSync(path: string): ServiceRecord | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    return readError(path, err);
  }
  return parseState(path, text);
}

function readError(path: string, err: unknown): undefined {
  if (err instanceof Deno.errors.NotFound) return undefined;
  if (err instanceof Deno.errors.PermissionDenied) {
    throw new PidFileError(path, "permission", `cannot read ${path}: permission denied`);
  }
  if (err instanceof Deno.errors.IsADirectory) {
    throw new PidFileError(path, "not-a-file", `${path} is a directory, not a state file`);
  }
  throw new PidFileError(path, "io", `cannot read ${path}: ${(err as Error).message}`);
}

function parseState(path: string, text: string): ServiceRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badContent(path, "not JSON");
  }
  const s = value as Partial<ServiceRecord> | null;
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw badContent(path, "not an object");
  }
  if (s.version !== 1 && s.version !== 2) {
    throw badContent(path, `unsupported version ${JSON.stringify(s.version)}`);
  }
  if (typeof s.name !== "string") throw badContent(path, "no name");
  if (typeof s.phase !== "string" || !PHASES.has(s.phase)) {
    throw badContent(path, `unknown phase ${JSON.stringify(s.phase)}`);
  }
  if (!Array.isArray(s.command)) throw badContent(path, "no command");
  if (!isId(s.supervisor?.pid) || !isCount(s.supervisor?.startTime)) {
    throw badContent(path, "no valid supervisor pid and start time");
  }
  // These fields become /proc paths and signal targets: a wrong type here
  // must be "bad content", never a read of /proc/../../etc/passwd.
  const socket = s.supervisor!.socket;
  if (socket !== undefined && (typeof socket !== "string" || !socket.startsWith("/"))) {
    throw badContent(path, "bad supervisor socket");
  }
  if (s.tree !== undefined) {
    const t = s.tree as unknown as Record<string, unknown> | null;
    if (
      typeof t !== "object" || t === null || !isId(t.pid) || !isCount(t.startTime) ||
      !isId(t.pgid) || !isId(t.sid) || typeof t.marker !== "string" ||
      (t.tracking !== "cgroup" && t.tracking !== "group") ||
      (t.cgroupPath !== undefined && typeof t.cgroupPath !== "string")
    ) throw badContent(path, "bad tree reference");
  }
  if (s.stopper !== undefined && (!isId(s.stopper?.pid) || !isCount(s.stopper?.startTime))) {
    throw badContent(path, "bad stopper");
  }
  if (s.spawning !== undefined && typeof s.spawning !== "string") {
    throw badContent(path, "bad spawning marker");
  }
  if (typeof s.pidfile !== "string" || !s.pidfile.startsWith("/")) {
    throw badContent(path, "no absolute pidfile path");
  }
  return s as ServiceRecord;
}

function isId(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0;
}

function isCount(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function badContent(path: string, why: string): PidFileError {
  return new PidFileError(
    path,
    "bad-content",
    `${path} is not a pidkit state file (${why}); remove it if no supervisor is running`,
  );
}

/**
 * Write a service state file atomically (temporary file in the same
 * directory, rename), mode 0644. Without fsync: the file describes running
 * processes, and after a crash of the system the boot ID it records tells
 * readers it is from an earlier boot; a crash of the supervisor leaves the
 * old content or the new one, never a mix.
 *
 * @example
 * ```ts
 * import { readServiceRecord, writeServiceRecord } from "./service_record.ts";
 * const state = await readServiceRecord("/run/pidkit/web.json");
 * if (state) {
 *   await writeServiceRecord("/run/pidkit/web.json", { ...state, updatedAt: new Date().toISOString() });
 * }
 * ```
 */
export async function writeServiceRecord(path: string, state: ServiceRecord): Promise<void> {
  // Loaded here, not at the top: readers (`pidkit status`) never need it.
  const { writeFileAtomic } = await import("../../os/atomic_write.ts");
  await writeFileAtomic(path, JSON.stringify(state, null, 2) + "\n", {
    mode: 0o644,
    durable: false,
  });
}
