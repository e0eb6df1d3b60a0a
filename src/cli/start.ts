/**
 * `pidkit start NAME [options] -- CMD [ARGS...]`: start CMD under a
 * background supervisor and return once it is ready.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { probe } from "../lock/pid_file.ts";
import type { StartResult, SupervisorConfig } from "../service/supervisor_protocol.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import { buildConfig, launchSupervisor } from "./launch.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit start`. */
export async function run(input: CommandInput): Promise<number> {
  const config = buildConfig(input, { foreground: false });
  return await startService(config, {
    json: input.values.json === true,
    ifNotRunning: input.values["if-not-running"] === true,
  });
}

/** Start `config` in the background and report like `pidkit start` (also used by `restart`). */
export async function startService(
  config: SupervisorConfig,
  options: { json: boolean; ifNotRunning: boolean; verb?: string },
): Promise<number> {
  const probed = await probe(config.pidfile);
  // The supervisor also refuses beside a tree a killed predecessor left.
  const result: StartResult = probed.status === "running"
    ? {
      ok: false,
      error: `${config.name} is already running${
        probed.pid === undefined ? "" : ` (pid ${probed.pid})`
      }`,
      alreadyRunning: probed.pid ?? 0,
    }
    : await launchSupervisor(config);
  const verb = options.verb ?? "started";
  if (result.ok) {
    if (options.json) {
      printOut(JSON.stringify({
        name: config.name,
        status: verb,
        pid: result.pid,
        supervisorPid: result.supervisorPid,
        pidfile: config.pidfile,
        state: config.state,
        log: config.log,
      }));
    } else printOut(`${verb} ${config.name} (pid ${result.pid})`);
    return EXIT.ok;
  }
  if (result.alreadyRunning !== undefined && options.ifNotRunning) {
    if (options.json) {
      printOut(JSON.stringify({
        name: config.name,
        status: "already-running",
        pid: result.alreadyRunning || undefined,
        pidfile: config.pidfile,
      }));
    } else printOut(result.error);
    return EXIT.ok;
  }
  if (result.logTail && result.logTail.length > 0 && !options.json) {
    // One line for the error (main prints it), then the log tail for context.
    printErr(`last lines of ${config.log}:\n${result.logTail.map((l) => `  ${l}`).join("\n")}`);
  }
  if (options.json && result.exit) {
    printErr(
      JSON.stringify({ error: result.error, code: 1, exit: result.exit, log: result.logTail }),
    );
    return EXIT.failure;
  }
  throw new PidkitError(result.error);
}
