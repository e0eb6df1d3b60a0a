/**
 * The commands' side of the resident supervisor: send one request on
 * `DIR/supervisor.sock` and read the answer, starting the supervisor first
 * when none listens (under `DIR/supervisor.launch`, so concurrent commands
 * start one, not one each).
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { delay } from "../os/delay.ts";
import { socketAddress } from "../os/socket_address.ts";
import { supervisorPaths, type SupervisorRequest } from "./supervisor_protocol.ts";

/**
 * How long a command keeps asking while the supervisor exits (it answers
 * "retry" while it stops its services, which may take their whole stop
 * schedules) before a new one can start.
 */
const RETRY_FOR_MS = 60_000;

/**
 * Send `request` to the supervisor of `dir` and return its answer. With
 * `launch`, a missing supervisor is started first; without, `undefined`
 * means none listens. Throws {@linkcode PidkitError} when it cannot be
 * reached or started, or went away before answering.
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
  options: { launch: boolean },
): Promise<T | undefined> {
  const { socket } = supervisorPaths(dir);
  const until = Date.now() + RETRY_FOR_MS;
  for (let attempt = 0; Date.now() < until; attempt++) {
    const conn = await connect(socket);
    if (conn === undefined) {
      if (!options.launch) return undefined;
      await launchOnce(dir);
      continue;
    }
    const answer = await exchange(conn, request);
    if (answer === undefined) {
      throw new PidkitError(`the supervisor of ${dir} went away before it answered`);
    }
    if ((answer as { retry?: boolean }).retry === true) {
      await delay(Math.min(10 + 10 * attempt, 250)); // it is exiting: a new one starts after it
      continue;
    }
    const refused = answer as { ok?: boolean; error?: string; held?: boolean; pid?: number };
    if (refused.ok === false && refused.error?.startsWith("permission denied")) {
      throw new PidkitError(refused.error);
    }
    return answer as T;
  }
  throw new PidkitError(
    `cannot reach the supervisor of ${dir} (${socket}): it kept answering that it is exiting`,
  );
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
 * One request line out, one answer line back; `undefined` when the
 * connection ends first. No timer here: a command's first timer costs 13 ms
 * of Deno start-up (the supervisor keeps the time limits it is asked for).
 */
async function exchange(conn: Deno.UnixConn, request: SupervisorRequest): Promise<unknown> {
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(request) + "\n");
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    const decoder = new TextDecoder();
    const buf = new Uint8Array(65536);
    let text = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) return JSON.parse(text.slice(0, nl));
    }
    return undefined;
  } catch (err) {
    if (err instanceof SyntaxError) throw new PidkitError(`bad answer from the supervisor`);
    return undefined; // reset by a supervisor that died
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
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
    import("../lock/pid_file.ts"),
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
