/**
 * The commands' side of the resident supervisor: send one request on
 * `DIR/supervisor.sock` and read the answer, starting the supervisor first
 * when none listens (under `DIR/supervisor.launch`, so concurrent commands
 * start one, not one each).
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { delay } from "../../os/delay.ts";
import { socketAddress } from "../../os/socket_address.ts";
import { exchangeLine } from "../../os/unix_client.ts";
import { isStoppedProcess } from "../../os/proc.ts";
import { formatDuration } from "../../os/duration.ts";
import { SupervisorError } from "./service_errors.ts";
import { type Refusal, supervisorPaths, type SupervisorRequest } from "./supervisor_protocol.ts";
import { parseAck, PROTOCOL_VERSION, requestLine } from "./wire.ts";

/**
 * How long a command keeps asking while the supervisor exits (it answers
 * "retry" while it stops its services, which may take their whole stop
 * schedules) before a new one can start.
 */
const RETRY_FOR_MS = 60_000;

/**
 * How long a supervisor may take to take a request (its acknowledgement)
 * before the command says it does not answer. Generous: a loaded machine
 * delays it, a frozen supervisor never sends it.
 */
export const ACK_WAIT_MS = 10_000;

/** The deadline of a request that names none (a hello, say). */
export const DEFAULT_REQUEST_MS = 30_000;

/**
 * How often a supervisor checks that its socket is still there (and
 * recreates it when not); a command that finds it gone waits about twice
 * as long for it to come back.
 */
export const SOCKET_CHECK_MS = 2000;

/** Options of {@linkcode askSupervisor}. */
export interface AskOptions {
  /** Start the supervisor when none listens (else `undefined` is returned). */
  launch: boolean;
  /**
   * Give up at this time (ms since the epoch); the supervisor drops the
   * request if it reads it later. Default {@linkcode DEFAULT_REQUEST_MS} from
   * now; `Infinity`: none (the supervisor must still take it within
   * {@linkcode ACK_WAIT_MS}).
   */
  deadline?: number;
  /**
   * Ask the one listening here instead: a `pidkit run`'s own socket (its
   * record names it). Never launched; `undefined` when none listens.
   */
  socket?: string;
  /** Called with the acknowledgement's extras (a stop's schedule) as soon as it comes. */
  onAck?: (ack: { v?: number; retry?: string }) => void;
  /**
   * Send `request` bare, as a supervisor from before versioning (pidkit
   * 0.2) reads it: no envelope, no acknowledgement asked for (it sends
   * none). Only for what such a supervisor does right (a stop).
   */
  legacy?: boolean;
  /**
   * When no socket is there, return `undefined` at once instead of waiting
   * for a supervisor that holds the directory to make its socket again.
   */
  ifListening?: boolean;
}

/**
 * Send `request` to the supervisor of `dir` and return its answer. With
 * `launch`, a missing supervisor is started first; without, `undefined`
 * means none listens. Throws {@linkcode SupervisorError} when it refuses
 * (permission denied), does not answer by the deadline, holds the
 * directory without listening on its socket, or speaks an older control
 * protocol (`version`: it did nothing), and {@linkcode PidkitError} when
 * it cannot be reached or started, or went away before answering.
 *
 * @example
 * ```ts
 * import { askSupervisor } from "./supervisor_client.ts";
 * const hello = await askSupervisor("/tmp/pidkit-example", { op: "hello" }, { launch: false });
 * console.log(hello ?? "no supervisor");
 * ```
 */
export async function askSupervisor<T = unknown>(
  dir: string,
  request: SupervisorRequest,
  options: AskOptions,
): Promise<T | undefined> {
  const socket = options.socket ?? supervisorPaths(dir).socket;
  const t0 = Date.now();
  const deadline = options.deadline ?? t0 + DEFAULT_REQUEST_MS;
  const until = Math.min(t0 + RETRY_FOR_MS, deadline);
  const legacy = options.legacy === true;
  const line = legacy ? JSON.stringify(request) : requestLine({
    ...request,
    ...(Number.isFinite(deadline) ? { deadline } : {}),
    ack: true,
  });
  for (;;) {
    const address = socketAddress(socket); // a deep run dir: through a short path
    let got;
    let versioned = false;
    try {
      got = await exchangeLine(address.path, line, {
        deadline,
        ...(legacy ? {} : {
          ackDeadline: Date.now() + ACK_WAIT_MS,
          isAck: (l: string) => {
            const ack = parseAck(l);
            if (ack === undefined) return false;
            versioned = ack.v !== undefined;
            options.onAck?.(ack);
            return true;
          },
        }),
      });
    } finally {
      address.close();
    }
    switch (got.kind) {
      case "denied":
        throw new SupervisorError(
          "permission-denied",
          dir,
          `cannot connect to ${socket}: permission denied`,
        );
      case "late":
        throw noAnswer(dir, got.accepted, deadline - t0, options.socket);
      case "closed":
        throw new PidkitError(`the supervisor of ${dir} went away before it answered`);
      case "absent": {
        if (options.socket !== undefined) return undefined; // that `pidkit run` is gone
        if (options.ifListening) return undefined;
        // None listens. A supervisor that holds the directory but lost its
        // socket recreates it; one that is exiting lets go of the lock.
        if (await awaitListener(dir) === "listening") continue;
        if (!options.launch) return undefined;
        await launchOnce(dir);
        continue;
      }
    }
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(got.line);
    } catch {
      throw new PidkitError(`bad answer from the supervisor of ${dir}`);
    }
    if (answer?.retry === true) {
      // It is exiting: ask again once it is gone (its lock released), not
      // after a guessed sleep; a new one starts after it.
      if (!await exited(dir, until)) {
        throw new PidkitError(
          `the supervisor of ${dir} is exiting (it stops its services) and kept answering so ` +
            `for ${formatDuration(Date.now() - t0)}; try again once it is gone`,
        );
      }
      continue;
    }
    if (!legacy && !versioned && typeof answer?.v !== "number") {
      // A supervisor from before versioning (0.2): it found no `op` in the
      // envelope and did nothing.
      throw olderSupervisor(dir, options.socket);
    }
    const refused = answer as Partial<Refusal>;
    if (refused.ok === false && refused.code === "permission-denied") {
      const pid = options.socket ? undefined : supervisorPidOf(dir);
      throw new SupervisorError("permission-denied", dir, refused.error!, pid);
    }
    if (refused.ok === false && refused.code === "expired") {
      throw noAnswer(dir, false, deadline - t0, options.socket);
    }
    if (refused.ok === false && refused.code === "version") {
      throw new SupervisorError("version", dir, refused.error!, supervisorPidOf(dir));
    }
    return answer as T;
  }
}

/** Whether the supervisor of `dir` let go of its lock by `until` (ms since the epoch). */
async function exited(dir: string, until: number): Promise<boolean> {
  const left = until - Date.now();
  if (!(left > 0)) return false;
  const { waitForRelease } = await import("../../lock/probe.ts");
  return await waitForRelease(supervisorPaths(dir).lock, { timeout: left }).catch(() => false);
}

/** The error for a supervisor that speaks no versioned protocol (pidkit 0.2). */
function olderSupervisor(dir: string, runSocket?: string): SupervisorError {
  const pid = runSocket ? undefined : supervisorPidOf(dir);
  const who = runSocket
    ? `the pidkit run listening on ${runSocket}`
    : `the supervisor${pid === undefined ? "" : ` (pid ${pid})`} of ${dir}`;
  return new SupervisorError(
    "version",
    dir,
    `${who} is from an older pidkit (0.2, no control protocol version; this one speaks ` +
      `${PROTOCOL_VERSION}) and did nothing; pidkit stop still stops its services, then a new ` +
      "one starts",
    pid,
  );
}

/** The supervisor of `dir` as its lock file names it (it writes its PID there). */
function supervisorPidOf(dir: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(supervisorPaths(dir).lock).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function noAnswer(
  dir: string,
  accepted: boolean,
  waitedMs: number,
  runSocket?: string,
): SupervisorError {
  const pid = runSocket ? undefined : supervisorPidOf(dir);
  const who = runSocket
    ? `the pidkit run listening on ${runSocket}`
    : `the supervisor${pid === undefined ? "" : ` (pid ${pid})`} of ${dir}`;
  if (accepted) {
    return new SupervisorError(
      "late",
      dir,
      `${who} took the request but did not answer within ${formatDuration(waitedMs)}; it goes on`,
      pid,
    );
  }
  const why = pid !== undefined && isStoppedProcess(pid)
    ? `: it is stopped (SIGSTOP?); kill -CONT ${pid} resumes it`
    : ` within ${formatDuration(Math.min(waitedMs, ACK_WAIT_MS))}; nothing was done`;
  return new SupervisorError("no-answer", dir, `${who} does not answer${why}`, pid);
}

/**
 * No one listens on the socket: if a supervisor still holds the directory
 * (its lock), wait for it to listen again (it checks its socket every
 * {@linkcode SOCKET_CHECK_MS} and recreates it) or to let go (it is
 * exiting); throws when it does neither.
 */
async function awaitListener(dir: string): Promise<"listening" | "free"> {
  const paths = supervisorPaths(dir);
  const { probe } = await import("../../lock/probe.ts");
  const t0 = Date.now();
  for (;;) {
    const held = await probe(paths.lock).catch(() => undefined);
    if (held?.status !== "running") return "free";
    if (await listens(paths.socket)) return "listening";
    if (Date.now() - t0 > 2 * SOCKET_CHECK_MS + 1000) {
      const pid = held.holderPid ?? supervisorPidOf(dir);
      throw new SupervisorError(
        "not-listening",
        dir,
        `the supervisor${pid === undefined ? "" : ` (pid ${pid})`} of ${dir} does not listen ` +
          `on ${paths.socket}: ${describePath(paths.socket)}` +
          (pid !== undefined && isStoppedProcess(pid)
            ? `, and it is stopped (kill -CONT ${pid})`
            : ""),
        pid,
      );
    }
    await delay(50);
  }
}

/** What is at `path` instead of a listening socket. */
function describePath(path: string): string {
  try {
    const st = Deno.lstatSync(path);
    if (st.isSocket) return "a socket no one listens on";
    if (st.isFile) return "it is a regular file, not a socket";
    if (st.isDirectory) return "it is a directory, not a socket";
    if (st.isSymlink) return "it is a symbolic link, not a socket";
    return "it is not a socket";
  } catch {
    return "it is missing";
  }
}

/**
 * Whether a supervisor listens on `socket` (connects and hangs up at once).
 *
 * @example
 * ```ts
 * import { listens } from "./supervisor_client.ts";
 * console.log(await listens("/tmp/pidkit-example/supervisor.sock"));
 * ```
 */
export async function listens(socket: string): Promise<boolean> {
  try {
    const conn = await connect(socket);
    conn?.close();
    return conn !== undefined;
  } catch {
    return false;
  }
}

async function connect(path: string): Promise<Deno.UnixConn | undefined> {
  const address = socketAddress(path); // a deep run dir: through a short path
  try {
    return await Deno.connect({ transport: "unix", path: address.path });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused) {
      return undefined; // none listens (a socket left by a killed one refuses)
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new PidkitError(`cannot connect to ${path}: permission denied`);
    }
    throw new PidkitError(`cannot connect to ${path}: ${(err as Error).message}`);
  } finally {
    address.close();
  }
}

/**
 * Start the supervisor of `dir` unless another command just did: the launch
 * lock is held while one starts, and whoever gets it after checks again.
 */
async function launchOnce(dir: string): Promise<void> {
  const paths = supervisorPaths(dir);
  // Loaded only to launch: a command that finds the supervisor up needs
  // neither (see `load` in src/cli/spec.ts).
  const [{ PidFile }, { launchSupervisor }] = await Promise.all([
    import("../../lock/pid_file.ts"),
    import("./_launch_supervisor.ts"),
  ]);
  let launching;
  try {
    launching = await PidFile.acquire(paths.launch, { timeout: 30_000, removeOnExit: false });
  } catch (err) {
    throw new PidkitError(`cannot start the supervisor of ${dir}: ${(err as Error).message}`);
  }
  try {
    if (await listens(paths.socket)) return; // another command started it meanwhile
    const answer = await launchSupervisor(dir);
    if (!answer.ok && answer.other === undefined) throw new PidkitError(answer.error);
  } finally {
    await launching.release().catch(() => {});
  }
}
