/**
 * Waiting until a service (or the program behind any PID file, locked or
 * not) is no longer running: what `pidkit wait` does. Not running means what
 * `status` means: no supervisor holds the lock, and no tree is left behind by
 * a supervisor that was killed (orphaned) or whose PID file was deleted.
 *
 * A held lock is waited on (the kernel says when it is free); a daemon's
 * unlocked PID file is decided by the verification ladder, and its main
 * process is waited on through a pidfd (readable when it exits), or by
 * looking again every 50 ms where there is none.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { waitForRelease } from "../../lock/probe.ts";
import { checkTimeout } from "../../lock/_options.ts";
import { Pidfd } from "../../os/pidfd.ts";
import { isProcessAlive } from "../../os/proc.ts";
import type { IdentityOptions } from "../../os/process_identity.ts";
import { delay } from "../../os/delay.ts";
import { inspectPidFile, inspectService, isRunningPhase } from "./inspect_service.ts";
import { resolveRunDir, validateName } from "../model/run_dir.ts";
import { requireAllPermissions } from "../../os/permissions.ts";

/** How often a state without a lock to wait on is looked at again, in ms. */
const POLL_MS = 50;

/**
 * Options for {@linkcode waitService} and {@linkcode waitPidFile}.
 *
 * @example
 * ```ts
 * import type { WaitServiceOptions } from "@pidkit/pidkit/service";
 * const options: WaitServiceOptions = { dir: "/tmp/pidkit-example", timeout: 30_000 };
 * console.log(options.timeout);
 * ```
 */
export interface WaitServiceOptions {
  /** The run directory (`--dir`); default as {@linkcode resolveRunDir} decides. */
  dir?: string;
  /** Give up after this many ms and resolve `false`; default: as long as it takes. */
  timeout?: number;
}

/**
 * Resolve `true` once service `name` is not running, `false` when `timeout`
 * passes first. Throws {@linkcode PidkitError} when it cannot tell (a state
 * file it cannot read), {@linkcode UsageError} for a bad name or a
 * `timeout` that is not a number >= 0.
 *
 * @example
 * ```ts
 * import { waitService } from "@pidkit/pidkit/service";
 * const gone = await waitService("web", { dir: "/tmp/pidkit-example", timeout: 10_000 });
 * console.log(gone ? "web is not running" : "web still runs");
 * ```
 */
export async function waitService(
  name: string,
  options: WaitServiceOptions = {},
): Promise<boolean> {
  requireAllPermissions("waitService");
  validateName(name);
  if (options.timeout !== undefined) checkTimeout(options.timeout);
  const dir = resolveRunDir({ dir: options.dir });
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  for (;;) {
    const info = await inspectService(dir, name);
    if (info.phase === "unknown") {
      throw new PidkitError(`cannot tell whether ${name} runs: ${info.error ?? "unknown error"}`);
    }
    if (!isRunningPhase(info.phase)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const pidfile = info.record?.pidfile;
    if (info.probe?.status === "running" && !info.pidfileLost && pidfile !== undefined) {
      // A supervisor holds the lock: the kernel says when it lets go.
      await waitForRelease(pidfile, Number.isFinite(left) ? { timeout: left } : {});
    } else {
      await delay(Math.min(POLL_MS, left));
    }
  }
}

/**
 * Resolve `{ gone: true }` once `path` no longer names a running program, or
 * `{ gone: false, pid }` when `timeout` passes first. The identity options
 * (`exec`, `name`, `user`) apply to an unlocked PID file as in `pidkit wait
 * --pidfile`.
 *
 * @example
 * ```ts
 * import { waitPidFile } from "./wait_service.ts";
 * const waited = await waitPidFile("/run/nginx.pid", { identity: {}, timeout: 5_000 });
 * console.log(waited.gone ? "gone" : `pid ${waited.pid} still runs`);
 * ```
 */
export async function waitPidFile(
  path: string,
  options: { identity: IdentityOptions; timeout?: number },
): Promise<{ gone: true } | { gone: false; pid: number | undefined }> {
  if (options.timeout !== undefined) checkTimeout(options.timeout);
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  for (;;) {
    const info = await inspectPidFile(path, options.identity);
    if (info.phase === "unknown") {
      throw new PidkitError(`cannot tell whether ${path} names a running program: ${info.error}`);
    }
    const v = info.verdict;
    // A service's phase (starting, stopping) when a run dir's supervisor holds the file.
    if (!isRunningPhase(info.phase) || v?.status !== "running") return { gone: true };
    const left = deadline - Date.now();
    if (left <= 0) return { gone: false, pid: info.pid };
    if (v.locked) {
      await waitForRelease(path, Number.isFinite(left) ? { timeout: left } : {});
    } else if (v.target) {
      await waitExit(v.target, Math.min(left, 1000));
    } else {
      await delay(Math.min(POLL_MS, left));
    }
  }
}

/** Wait up to `ms` for `target` to exit: through a pidfd opened before its start time is checked. */
async function waitExit(target: { pid: number; startTime: number }, ms: number): Promise<void> {
  const fd = Pidfd.open(target.pid);
  if (fd === "gone") return;
  try {
    if (!isProcessAlive(target.pid, target.startTime)) return;
    if (fd !== undefined) await fd.waitExit(ms);
    else await delay(Math.min(POLL_MS, ms));
  } finally {
    fd?.close();
  }
}
