/**
 * Sending a signal to every member of a named service's tree directly (not
 * through the supervisor, so SIGUSR1 and SIGHUP reach the service itself):
 * what `pidkit signal NAME SIGNAL` does.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { requireOwnProc } from "../os/pid_namespace.ts";
import { parseSignal } from "../os/signals.ts";
import { attachTree } from "../tree/process_tree.ts";
import { inspectService, isRunningPhase } from "./inspect_service.ts";
import { resolveRunDir, validateName } from "./run_dir.ts";
import { requireAllPermissions } from "../os/permissions.ts";

/** Options for {@linkcode signalService}. */
export interface SignalServiceOptions {
  /** The run directory (`--dir`); default as {@linkcode resolveRunDir} decides. */
  dir?: string;
}

/**
 * What {@linkcode signalService} did: the `pidkit signal --json` shape.
 *
 * @example
 * ```ts
 * import type { SignalServiceResult } from "@pidkit/pidkit/service";
 * const sent: SignalServiceResult = { name: "web", signal: "SIGHUP", pid: 4242, processes: 3 };
 * console.log(sent.processes);
 * ```
 */
export interface SignalServiceResult {
  /** The service. */
  name: string;
  /** The signal sent, by name (`SIGHUP`). */
  signal: Deno.Signal;
  /** The service's main PID (`null`: a `--forking` service whose main process is unknown). */
  pid: number | null;
  /** How many processes of the tree got it. */
  processes: number;
}

/**
 * Send `signal` (a name such as `"HUP"`, `"SIGUSR1"`, or a number) to every
 * process of service `name`'s tree. Throws {@linkcode UsageError} for a bad
 * name or signal, and {@linkcode PidkitError} when the service is not
 * running.
 *
 * @example
 * ```ts
 * import { signalService } from "@pidkit/pidkit/service";
 * const sent = await signalService("web", "HUP", { dir: "/tmp/pidkit-example" });
 * console.log(`${sent.signal} reached ${sent.processes} processes`);
 * ```
 */
export async function signalService(
  name: string,
  signal: string,
  options: SignalServiceOptions = {},
): Promise<SignalServiceResult> {
  requireAllPermissions("signalService");
  const sig = parseSignal(signal);
  validateName(name);
  requireOwnProc(); // the tree's PIDs come from /proc
  const dir = resolveRunDir({ dir: options.dir });
  const info = await inspectService(dir, name);
  const ref = info.record?.tree;
  if (!isRunningPhase(info.phase) || ref === undefined) {
    throw new PidkitError(`${name} is not running`);
  }
  let count: number;
  try {
    count = attachTree(ref).signal(sig);
  } catch {
    throw new PidkitError(`${name} is not running`);
  }
  if (count === 0) throw new PidkitError(`${name} is not running`);
  return { name, signal: sig, pid: info.pid ?? null, processes: count };
}
