/**
 * `pidkit restart NAME [--retry S] [--json]`: stop the service (if it runs),
 * then start it again with the command and options recorded in its state
 * file.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { parseRetry } from "../tree/stop_schedule.ts";
import { resolveRunDir, servicePaths, validateName } from "../service/services.ts";
import { readServiceRecord } from "../service/service_record.ts";
import { controlPath } from "../service/supervisor_protocol.ts";
import { printErr } from "./io.ts";
import { startService } from "./start.ts";
import { describe, stopService } from "./stop.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit restart`. */
export async function run(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  const retry = typeof input.values.retry === "string" ? input.values.retry : undefined;
  if (retry !== undefined) parseRetry(retry);
  const name = validateName(input.positionals[0]);
  const dir = resolveRunDir({
    dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
    create: true, // it starts a supervisor there: the same checks as start
  });
  const paths = servicePaths(dir, name);
  const state = await readServiceRecord(paths.state);
  if (!state) {
    throw new PidkitError(
      `${name} has no recorded command in ${paths.state}: start it with pidkit start ${name} -- CMD`,
    );
  }
  const stopped = await stopService(dir, name, { retry });
  if (!json && stopped.status === "stopped") printErr(describe(stopped));
  return await startService({
    name,
    dir,
    pidfile: state.pidfile,
    state: paths.state,
    ...(state.log && state.log !== "-" ? { log: state.log } : { log: paths.log }),
    control: controlPath(dir, name),
    command: state.command,
    cwd: state.cwd,
    env: state.env,
    ...(state.user ? { user: (await import("./launch.ts")).resolveUser(state.user) } : {}),
    options: state.options,
  }, { json, ifNotRunning: false, verb: "restarted" });
}
