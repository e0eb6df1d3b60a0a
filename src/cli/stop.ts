/**
 * `pidkit stop NAME | --pidfile FILE [--retry SCHEDULE] [--json]`: parse,
 * stop through the service layer (src/service/actions/stop_service.ts,
 * src/service/actions/stop_pid_file.ts), print.
 *
 * @module
 */

import { requireOwnProc } from "../os/pid_namespace.ts";
import { UsageError } from "../os/errors.ts";
import { formatDuration } from "../os/duration.ts";
import { absolutePath } from "../os/paths.ts";
import {
  type ServiceStopProgress,
  stopService,
  type StopServiceResult,
} from "../service/actions/stop_service.ts";
import { EXIT, printOut } from "./io.ts";
import { identityFromInput } from "./identity_options.ts";
import { requestTimeoutFrom } from "./launch_options.ts";
import { Progress } from "./stop_progress.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit stop`. */
export async function run(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  // Parsed (and refused when bad) once, by the service layer.
  const retry = typeof input.values.retry === "string" ? input.values.retry : undefined;
  const timeout = requestTimeoutFrom(input);
  const pidfile = typeof input.values.pidfile === "string" ? input.values.pidfile : undefined;
  const name = input.positionals[0];
  requireOwnProc(); // every PID stop signals comes from /proc
  const identity = identityFromInput(input);
  const onProgress = progressDisplay();
  let outcome: StopServiceResult;
  if (name === undefined) {
    if (pidfile === undefined) throw new UsageError("missing NAME or --pidfile FILE");
    if (timeout !== undefined) throw new UsageError("--timeout goes with NAME, not --pidfile");
    // Loaded only for --pidfile: the verification ladder is not needed for a service.
    const { stopPidFile } = await import("../service/actions/stop_pid_file.ts");
    outcome = await stopPidFile(absolutePath(pidfile), { retry, identity, onProgress });
  } else {
    if (pidfile !== undefined) throw new UsageError("give NAME or --pidfile, not both");
    const dir = typeof input.values.dir === "string" ? input.values.dir : undefined;
    outcome = await stopService(name, { dir, retry, onProgress, timeout });
  }
  printOut(json ? JSON.stringify(outcome) : describe(outcome));
  return outcome.survivors?.length ? EXIT.failure : EXIT.ok;
}

/** The TTY progress line (stderr; silent when it is not a terminal) fed by the stop's events. */
export function progressDisplay(): (event: ServiceStopProgress) => void {
  let progress: Progress | undefined;
  return (event) => {
    if (event.kind === "begin") progress = new Progress(event.name, event.steps);
    else if (event.kind === "signal") progress?.step(event.signal, event.timeoutMs);
    else {
      progress?.done();
      progress = undefined;
    }
  };
}

/** The one-line text for a stop outcome. */
export function describe(o: StopServiceResult): string {
  if (o.status === "not-running") return `${o.name} is not running${o.note ? ` (${o.note})` : ""}`;
  if (o.status === "stale") return `${o.name} is not running (${o.note})`;
  const pid = o.pid === undefined ? "" : ` (pid ${o.pid}${o.orphaned ? ", orphaned" : ""})`;
  const after = o.lastSignal ? ` after ${o.lastSignal.replace(/^SIG/, "")}` : "";
  const took = o.durationMs === undefined ? "" : ` in ${formatDuration(o.durationMs)}`;
  const left = o.survivors?.length ? `; still alive: ${o.survivors.join(", ")}` : "";
  return `stopped ${o.name}${pid}${after}${took}${left}${o.note ? ` (${o.note})` : ""}`;
}
