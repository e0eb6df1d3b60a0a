/**
 * `pidkit wait NAME | --pidfile FILE [--timeout D]`: return once the service
 * (or the program behind a PID file, locked or not) is not running,
 * exit 1 when the timeout passes first. The waiting is
 * src/service/inspect/wait_service.ts.
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import { parseDuration } from "../os/duration.ts";
import { absolutePath } from "../os/paths.ts";
import { waitPidFile, waitService } from "../service/inspect/wait_service.ts";
import { identityFromInput } from "./identity_options.ts";
import type { CommandInput } from "./spec.ts";

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
    const path = absolutePath(pidfile);
    const waited = await waitPidFile(path, { identity, timeout });
    if (!waited.gone) {
      throw new PidkitError(`${path}: pid ${waited.pid} is still running after ${timeoutText}`);
    }
    return 0;
  }
  const name = input.positionals[0];
  if (name === undefined) throw new UsageError("missing NAME or --pidfile FILE");
  const dir = typeof input.values.dir === "string" ? input.values.dir : undefined;
  if (!await waitService(name, { dir, timeout })) {
    throw new PidkitError(`${name} is still running after ${timeoutText}`);
  }
  return 0;
}
