/**
 * `pidkit start NAME [options] -- CMD [ARGS...]`: start CMD under a
 * background supervisor and return once it is ready (see
 * src/service/actions/start_service.ts).
 *
 * @module
 */

import { startService } from "../service/actions/start_service.ts";
import { ServiceStartError } from "../service/control/service_errors.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import { launchOptionsFrom, requestTimeoutFrom } from "./launch_options.ts";
import type { CommandInput } from "./spec.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";

/** Run `pidkit start`. */
export async function run(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  let httpLine: string | undefined;
  if (typeof input.values.http === "string") {
    // The supervisor's HTTP server first: an address that cannot serve starts nothing.
    const { enableSupervisorHttp } = await import("../service/http/supervisor_http_requests.ts");
    const dir = resolveRunDir({ dir: input.values.dir as string | undefined, create: true });
    httpLine = await enableSupervisorHttp(dir, input.values.http);
  }
  let result;
  try {
    result = await startService(input.positionals[0], input.command, {
      ...launchOptionsFrom(input),
      ifNotRunning: input.values["if-not-running"] === true,
      timeout: requestTimeoutFrom(input),
    });
  } catch (err) {
    if (err instanceof ServiceStartError) return startFailed(err, json);
    throw err;
  }
  if (result.status === "already-running") {
    if (json) {
      const { name, status, pid, pidfile } = result;
      printOut(JSON.stringify({ name, status, pid, pidfile }));
    } else printOut(result.message);
    return EXIT.ok;
  }
  printOut(json ? JSON.stringify(result) : `${result.status} ${result.name} (${mainNote(result)})`);
  if (httpLine !== undefined && !json) printErr(httpLine);
  return EXIT.ok;
}

/**
 * `pid N`, `next run at TIME` (a --cron task), or `main process unknown (N
 * processes)` (a --forking service).
 */
export function mainNote(
  r: { pid: number | null; mainUnknown?: number; scheduled?: string | null },
): string {
  if (r.pid !== null) return `pid ${r.pid}`;
  if (r.scheduled !== undefined) return `scheduled, next run ${r.scheduled ?? "never"}`;
  const n = r.mainUnknown ?? 0;
  return `main process unknown (${n} process${n === 1 ? "" : "es"})`;
}

/**
 * A service that did not come up: the log tail for context (text), or the
 * whole story as one JSON object when it exited; `main` prints the one-line
 * error otherwise. Also used by `restart`.
 */
export function startFailed(err: ServiceStartError, json: boolean): number {
  if (err.logTail.length > 0 && !json) {
    printErr(`last lines of ${err.log}:\n${err.logTail.map((l) => `  ${l}`).join("\n")}`);
  }
  if (json && err.exit) {
    printErr(JSON.stringify({ error: err.message, code: 1, exit: err.exit, log: err.logTail }));
    return EXIT.failure;
  }
  throw err;
}
