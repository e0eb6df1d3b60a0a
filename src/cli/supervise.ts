/**
 * `pidkit supervise [--dir DIR]`: the run directory's resident supervisor
 * in the foreground (src/service/dir_supervisor.ts), for a systemd unit or
 * a container. It stays when it holds no service; SIGTERM/SIGINT stop
 * every service, then it exits 0.
 *
 * @module
 */

import { disarmSigusr1 } from "../os/sigusr1.ts";
import { PidkitError } from "../os/errors.ts";
import { resolveRunDir } from "../service/run_dir.ts";
import { SUPERVISOR_V8_FLAGS } from "../service/supervisor_protocol.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit supervise`. */
export async function run(input: CommandInput): Promise<number> {
  disarmSigusr1(); // a Deno process would open the inspector on SIGUSR1
  // The flags a unit sets for the supervisor (examples/systemd/pidkit.service), not its services'.
  if (Deno.env.get("DENO_V8_FLAGS") === SUPERVISOR_V8_FLAGS) Deno.env.delete("DENO_V8_FLAGS");
  const dir = resolveRunDir({ dir: input.values.dir as string | undefined, create: true });
  const { superviseDir } = await import("../service/dir_supervisor.ts");
  let failure: string | undefined;
  const code = await superviseDir({
    dir,
    foreground: true,
    onReady(answer) {
      if (!answer.ok) failure = answer.error; // else its journal line says so on stderr
    },
  });
  if (failure !== undefined) throw new PidkitError(failure);
  return code;
}
