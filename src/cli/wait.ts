/**
 * `pidkit wait NAME [--timeout D]`: return once the service is not running,
 * exit 1 when the timeout passes first. Not running means what `status`
 * means: no supervisor holds the lock, and no tree is left behind by a
 * supervisor that was killed (orphaned) or whose PID file was deleted.
 *
 * @module
 */

import { PidkitError } from "../errors.ts";
import { parseDuration } from "../duration.ts";
import { waitForRelease } from "../pid_file.ts";
import { inspectService, isRunningPhase, resolveRunDir, validateName } from "../services.ts";
import type { CommandInput } from "./spec.ts";

/** How often an orphaned tree (no lock to wait on) is looked at again, in ms. */
const ORPHAN_POLL_MS = 50;

/** Run `pidkit wait`. */
export async function run(input: CommandInput): Promise<number> {
  const name = validateName(input.positionals[0]);
  const timeoutText = typeof input.values.timeout === "string" ? input.values.timeout : undefined;
  const timeout = timeoutText === undefined ? undefined : parseDuration(timeoutText);
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
    const pidfile = info.state?.pidfile;
    if (info.probe?.state === "running" && !info.pidfileLost && pidfile !== undefined) {
      // A supervisor holds the lock: the kernel says when it lets go.
      await waitForRelease(pidfile, Number.isFinite(left) ? { timeout: left } : {});
    } else {
      await new Promise((r) => setTimeout(r, Math.min(ORPHAN_POLL_MS, left)));
    }
  }
}
