/**
 * `pidkit wait --pidfile FILE`: until the program behind any PID file is no
 * longer running. A held lock is waited on (the kernel says when it is
 * free); a daemon's unlocked PID file is decided by the verification ladder,
 * and its main process is waited on through a pidfd (readable when it
 * exits), or by looking again every 50 ms where there is none.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { waitForRelease } from "../lock/pid_file.ts";
import { Pidfd } from "../os/pidfd.ts";
import { isProcessAlive } from "../os/proc.ts";
import type { IdentityOptions } from "../os/process_identity.ts";
import { inspectPidFile } from "../service/inspect_service.ts";
import { delay } from "../os/delay.ts";

const POLL_MS = 50;

/** Wait until `path` no longer names a running program; 0, or throws at the timeout. */
export async function waitPidFile(
  path: string,
  options: { identity: IdentityOptions; timeout?: number; timeoutText?: string },
): Promise<number> {
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  for (;;) {
    const info = await inspectPidFile(path, options.identity);
    if (info.phase === "unknown") {
      throw new PidkitError(`cannot tell whether ${path} names a running program: ${info.error}`);
    }
    const v = info.verdict;
    if (info.phase !== "running" || v?.status !== "running") return 0;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new PidkitError(
        `${path}: pid ${info.pid} is still running after ${options.timeoutText}`,
      );
    }
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
