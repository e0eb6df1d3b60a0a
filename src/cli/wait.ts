/**
 * `pidkit wait NAME | --pidfile FILE [--timeout D]`: return once the service
 * (or the program behind a PID file, locked or not) is not running,
 * exit 1 when the timeout passes first. Not running means what `status`
 * means: no supervisor holds the lock, and no tree is left behind by a
 * supervisor that was killed (orphaned) or whose PID file was deleted.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { parseDuration } from "../os/duration.ts";
import { waitForRelease } from "../lock/pid_file.ts";
import { inspectService, isRunningPhase } from "../service/inspect_service.ts";
import { resolveRunDir, validateName } from "../service/run_dir.ts";
import type { CommandInput } from "./spec.ts";
import { UsageError } from "../os/errors.ts";
import { absolutePath } from "../os/paths.ts";
import { identityFromInput } from "./identity_options.ts";
import { waitPidFile } from "./wait_pid_file.ts";
import { delay } from "../os/delay.ts";

/** How often an orphaned tree (no lock to wait on) is looked at again, in ms. */
const ORPHAN_POLL_MS = 50;

/** Run `pidkit wait`. */
export async function run(input: CommandInput): Promise<number> {
  const timeoutText = typeof input.values.timeout === "string" ? input.values.timeout : undefined;
  const timeout = timeoutText === undefined ? undefined : parseDuration(timeoutText);
  const identity = identityFromInput(input);
  const pidfile = typeof input.values.pidfile === "string" ? input.values.pidfile : undefined;
  if (pidfile !== undefined) {
    if (input.positionals[0] !== undefined) {
      throw new UsageError("give NAME or --pidfile, not both");
    }
    return await waitPidFile(absolutePath(pidfile), { identity, timeout, timeoutText });
  }
  if (input.positionals[0] === undefined) throw new UsageError("missing NAME or --pidfile FILE");
  const name = validateName(input.positionals[0]);
  const dir = resolveRunDir({
    dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
  });
  const deadline = timeout === undefined ? Infinity : Date.now() + timeout;
  for (;;) {
    const info = await inspectService(dir, name);
    if (info.phase === "unknown") {
      throw new PidkitError(`cannot tell whether ${name} runs: ${info.error ?? "unknown error"}`);
    }
    if (!isRunningPhase(info.phase)) return 0;
    const left = deadline - Date.now();
    if (left <= 0) throw new PidkitError(`${name} is still running after ${timeoutText}`);
    const pidfile = info.record?.pidfile;
    if (info.probe?.status === "running" && !info.pidfileLost && pidfile !== undefined) {
      // A supervisor holds the lock: the kernel says when it lets go.
      await waitForRelease(pidfile, Number.isFinite(left) ? { timeout: left } : {});
    } else {
      await delay(Math.min(ORPHAN_POLL_MS, left));
    }
  }
}
