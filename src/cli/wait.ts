/**
 * `pidkit wait NAME [--timeout D]`: return once the service is not running
 * (its PID file lock is free), exit 1 when the timeout passes first.
 *
 * @module
 */

import { PidkitError } from "../errors.ts";
import { parseDuration } from "../duration.ts";
import { waitForRelease } from "../pid_file.ts";
import { readState } from "../service_state.ts";
import { resolveRunDir, servicePaths, validateName } from "../services.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit wait`. */
export async function run(input: CommandInput): Promise<number> {
  const name = validateName(input.positionals[0]);
  const timeoutText = typeof input.values.timeout === "string" ? input.values.timeout : undefined;
  const timeout = timeoutText === undefined ? undefined : parseDuration(timeoutText);
  const dir = resolveRunDir({
    dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
  });
  const paths = servicePaths(dir, name);
  const state = await readState(paths.state).catch(() => undefined);
  const released = await waitForRelease(state?.pidfile ?? paths.pidfile, {
    ...(timeout !== undefined ? { timeout } : {}),
  });
  if (!released) throw new PidkitError(`${name} is still running after ${timeoutText}`);
  return 0;
}
