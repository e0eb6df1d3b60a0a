/**
 * `pidkit supervise [--dir DIR] [--config FILE]`: the run directory's resident supervisor
 * in the foreground (src/service/supervisor/dir_supervisor.ts), for a systemd unit or
 * a container. It stays when it holds no service; SIGTERM/SIGINT stop
 * every service, then it exits 0. The same process entry as a background
 * supervisor's (src/service/supervisor/supervisor_main.ts). With `--config FILE` it
 * also brings the file up and reconciles it on SIGHUP
 * (src/stack/supervise_stack.ts).
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import { printErr } from "./io.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";
import { runSupervisorProcess } from "../service/supervisor/supervisor_main.ts";
import type { CommandInput } from "./spec.ts";
import { checkBindable, parseHttpAddress } from "../service/http/http_config.ts";

/** Run `pidkit supervise`. */
export async function run(input: CommandInput): Promise<number> {
  const v = input.values;
  const http = typeof v.http === "string" ? parseHttpAddress(v.http) : undefined;
  if (http) checkBindable(http); // a port in use: one line, nothing created
  if (typeof v.config === "string" || typeof v.procfile === "string") {
    // the declaration layer, loaded only for --config
    const { superviseStack } = await import("../stack/supervise_stack.ts");
    const file = (v.config ?? v.procfile) as string;
    if (typeof v.config === "string" && typeof v.procfile === "string") {
      throw new UsageError("give --config FILE or --procfile FILE, not both");
    }
    let failure: string | undefined;
    const code = await superviseStack({
      load: {
        file,
        ...(typeof v.procfile === "string" ? { procfile: true } : {}),
        ...(typeof v.formation === "string" ? { formation: v.formation } : {}),
      },
      ...(typeof v.dir === "string" ? { dir: v.dir } : {}),
      say: (line) => printErr(line),
      ...(http ? { http } : {}),
      onFailure: (error) => failure = error,
    });
    if (failure !== undefined) throw new PidkitError(failure);
    return code;
  }
  if (typeof v.formation === "string") throw new UsageError("--formation needs --procfile FILE");
  let failure: string | undefined;
  const code = await runSupervisorProcess({
    dir: () => resolveRunDir({ dir: input.values.dir as string | undefined, create: true }),
    foreground: true,
    ...(http ? { http } : {}),
    onReady(answer) {
      if (!answer.ok) failure = answer.error; // else its journal line says so on stderr
    },
  });
  if (failure !== undefined) throw new PidkitError(failure);
  return code;
}
