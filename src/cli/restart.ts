/**
 * `pidkit restart NAME [--retry S] [--json]`: restart through the service
 * layer (src/service/restart_service.ts) and print like `start`.
 *
 * @module
 */

import { restartService } from "../service/restart_service.ts";
import { ServiceStartError } from "../service/service_errors.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import { mainNote, startFailed } from "./start.ts";
import { describe, progressDisplay } from "./stop.ts";
import type { CommandInput } from "./spec.ts";
import { requestTimeoutFrom } from "./launch_options.ts";

/** Run `pidkit restart`. */
export async function run(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  const retry = typeof input.values.retry === "string" ? input.values.retry : undefined;
  let r;
  try {
    r = await restartService(input.positionals[0], {
      dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
      retry,
      timeout: requestTimeoutFrom(input),
      onProgress: progressDisplay(),
      onStopped(stopped) {
        if (!json && stopped.status === "stopped") printErr(describe(stopped));
      },
    });
  } catch (err) {
    if (err instanceof ServiceStartError) return startFailed(err, json);
    throw err;
  }
  const { name, status, pid, supervisorPid, pidfile, state, log } = r;
  printOut(
    json
      ? JSON.stringify({ name, status, pid, supervisorPid, pidfile, state, log })
      : `${status} ${name} (${mainNote(r)})`,
  );
  return EXIT.ok;
}
