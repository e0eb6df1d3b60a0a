/**
 * `pidkit supervise [--dir DIR]`: the run directory's resident supervisor
 * in the foreground (src/service/dir_supervisor.ts), for a systemd unit or
 * a container. It stays when it holds no service; SIGTERM/SIGINT stop
 * every service, then it exits 0. The same process entry as a background
 * supervisor's (src/service/supervisor_main.ts).
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { resolveRunDir } from "../service/run_dir.ts";
import { runSupervisorProcess } from "../service/supervisor_main.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit supervise`. */
export async function run(input: CommandInput): Promise<number> {
  let failure: string | undefined;
  const code = await runSupervisorProcess({
    dir: () => resolveRunDir({ dir: input.values.dir as string | undefined, create: true }),
    foreground: true,
    onReady(answer) {
      if (!answer.ok) failure = answer.error; // else its journal line says so on stderr
    },
  });
  if (failure !== undefined) throw new PidkitError(failure);
  return code;
}
