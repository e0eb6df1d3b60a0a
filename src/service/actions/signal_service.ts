/**
 * Sending a signal to every member of a named service's tree directly (not
 * through the supervisor, so SIGUSR1 and SIGHUP reach the service itself):
 * what `pidkit signal NAME SIGNAL` does.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { requireOwnProc } from "../../os/pid_namespace.ts";
import { parseSignal } from "../../os/signals.ts";
import { attachTree, type TreeRef } from "../../tree/process_tree.ts";
import { isTreeMember } from "../../tree/tree_member.ts";
import { signalProcess } from "../../os/pidfd.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { inspectService, isRunningPhase } from "../inspect/inspect_service.ts";
import { resolveRunDir, validateName } from "../model/run_dir.ts";
import { requireAllPermissions } from "../../os/permissions.ts";

/**
 * Options for {@linkcode signalService}.
 *
 * @example
 * ```ts
 * import type { SignalServiceOptions } from "@pidkit/pidkit/service";
 * const options: SignalServiceOptions = { dir: "/tmp/pidkit-example", main: true };
 * console.log(options.main);
 * ```
 */
export interface SignalServiceOptions {
  /** The run directory (`--dir`); default as {@linkcode resolveRunDir} decides. */
  dir?: string;
  /**
   * Signal the main process alone (`--main`), not the whole tree: the
   * leader, or the process named by `MAINPID=` or a forking service's main
   * PID file. nginx's `HUP` (reload) is for its master, say.
   */
  main?: boolean;
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
  /**
   * The service's main PID: the leader, or the `MAINPID=` / main PID file's
   * process (`null`: a `--forking` service whose main process is unknown).
   */
  pid: number | null;
  /** How many processes of the tree got it (1 with `main`). */
  processes: number;
}

/**
 * Send `signal` (a name such as `"HUP"`, `"SIGUSR1"`, or a number) to every
 * process of service `name`'s tree, or with `main` to its main process
 * alone (through a pidfd, after checking it is still that process and a
 * member of the tree). Throws {@linkcode UsageError} for a bad
 * name or signal, and {@linkcode PidkitError} when the service is not
 * running.
 *
 * @example
 * ```ts
 * import { signalService } from "@pidkit/pidkit/service";
 * const sent = await signalService("web", "HUP", { dir: "/tmp/pidkit-example" });
 * console.log(`${sent.signal} reached ${sent.processes} processes`);
 * ```
 *
 * @example nginx reloads on HUP to its master process only
 * ```ts
 * import { signalService } from "@pidkit/pidkit/service";
 * const sent = await signalService("nginx", "HUP", { dir: "/tmp/pidkit-example", main: true });
 * console.log(`HUP sent to the master, pid ${sent.pid}`);
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
  if (options.main === true) return signalMain(name, sig, ref, info.record!, info.pid);
  let count: number;
  try {
    count = attachTree(ref).signal(sig);
  } catch {
    throw new PidkitError(`${name} is not running`);
  }
  if (count === 0) throw new PidkitError(`${name} is not running`);
  return { name, signal: sig, pid: info.pid ?? null, processes: count };
}

/** The main process alone: the leader, or the member the record names as main. */
function signalMain(
  name: string,
  sig: Deno.Signal,
  ref: TreeRef,
  record: ServiceRecord,
  main: number | null | undefined,
): SignalServiceResult {
  const pid = main ?? record.mainPid ?? ref.pid;
  const outcome = pid === ref.pid
    ? signalProcess({ pid, startTime: ref.startTime }, sig)
    : signalProcess({ pid }, sig, () => isTreeMember(ref, pid));
  if (outcome === "denied") {
    throw new PidkitError(`cannot signal ${name}'s main process (pid ${pid}): permission denied`);
  }
  if (outcome === "gone") {
    throw new PidkitError(
      record.options?.forking && record.mainPid === undefined
        ? `${name} has no main process (a --forking service without --main-pidfile): signal the tree`
        : `${name}'s main process (pid ${pid}) is not running`,
    );
  }
  return { name, signal: sig, pid, processes: 1 };
}
