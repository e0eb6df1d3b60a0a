/**
 * Asking a supervisor to stop a service (`pidkit stop NAME`, first step;
 * see stop_service.ts), and the shapes a stop reports in: the stop request
 * with the schedule asked for, if any, the progress from the
 * acknowledgement (the supervisor says its schedule), the answer once the
 * tree is gone. A supervisor of 0.2 (no protocol version) is asked the way
 * it reads a stop.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { formatDuration } from "../../os/duration.ts";
import { askSupervisor } from "./supervisor_client.ts";
import { SupervisorError } from "./service_errors.ts";
import { runSocketPath, type StopAnswer, type StopResult } from "./supervisor_protocol.ts";
import { parseRetry, type RetryStep } from "../../tree/stop_schedule.ts";

/**
 * What a stop did: what `pidkit stop --json` prints.
 *
 * @example
 * ```ts
 * import { stopService, type StopServiceResult } from "@pidkit/pidkit/service";
 * const r: StopServiceResult = await stopService("web");
 * if (r.survivors?.length) console.error(`still alive: ${r.survivors.join(", ")}`);
 * ```
 */
export interface StopServiceResult {
  /** The service name (the PID file for `stopPidFile`). */
  name: string;
  /** `stopped`; `not-running` (nothing to stop); `stale` (a stale PID file: nothing signalled). */
  status: "stopped" | "not-running" | "stale";
  /** The service's main PID, when something was stopped. */
  pid?: number;
  /** The tree was orphaned (its supervisor was gone) and was stopped directly. */
  orphaned?: boolean;
  /** The last signal sent, e.g. `SIGTERM`. */
  lastSignal?: string;
  /** Every signal sent: name, ms after the stop began, how many processes. */
  signalsSent?: { signal: string; atMs: number; targets: number }[];
  /** How long the stop took, ms. */
  durationMs?: number;
  /** PIDs still alive when the schedule ran out (the stop failed when not empty). */
  survivors?: number[];
  /** What else to tell, e.g. why a PID file is stale. */
  note?: string;
}

/**
 * Progress of a stop, for a display: `begin` (the schedule, assumed to start
 * now: the one asked for, else the one the supervisor says it follows),
 * `signal` (a signal went out and the stop waits up to `timeoutMs`; only
 * reported for trees stopped directly: a supervisor follows the schedule on
 * its own), `end`.
 *
 * @example
 * ```ts
 * import { type ServiceStopProgress, stopService } from "@pidkit/pidkit/service";
 * const show = (e: ServiceStopProgress) => {
 *   if (e.kind === "begin") console.error(`stopping ${e.name}: ${e.steps.length} steps`);
 *   // Only for a tree stopped directly (orphaned): a supervisor follows the schedule itself.
 *   else if (e.kind === "signal") console.error(`${e.signal} sent`);
 *   else console.error("stopped");
 * };
 * await stopService("web", { onProgress: show });
 * ```
 */
export type ServiceStopProgress =
  | { kind: "begin"; name: string; steps: RetryStep[] }
  | { kind: "signal"; signal: string; timeoutMs?: number }
  | { kind: "end" };

/**
 * A schedule asked for (`--retry`), parsed: the text goes to a supervisor,
 * the steps to a stop done here and to the progress display.
 *
 * @example
 * ```ts
 * import type { AskedSchedule } from "./ask_stop.ts";
 * const s: AskedSchedule = { spec: "KILL/1", steps: [{ signal: "SIGKILL" }, { timeoutMs: 1000 }] };
 * ```
 */
export interface AskedSchedule {
  /** As given, e.g. `TERM/30/KILL/5`. */
  spec: string;
  /** Parsed. */
  steps: RetryStep[];
}

/**
 * Parse `--retry` (the one place it is parsed); `undefined` when none was
 * given. Throws {@linkcode UsageError} for a bad schedule.
 *
 * @example
 * ```ts
 * import { askedSchedule } from "./ask_stop.ts";
 * console.log(askedSchedule("TERM/30/KILL/5")?.steps.length); // 4
 * ```
 */
export function askedSchedule(retry: string | undefined): AskedSchedule | undefined {
  return retry === undefined ? undefined : { spec: retry, steps: parseRetry(retry) };
}

/**
 * Options of `stopServiceIn` (stop_service.ts): `StopServiceOptions`'s, with
 * the schedule already parsed.
 *
 * @example
 * ```ts
 * import { askedSchedule, type StopInOptions } from "./ask_stop.ts";
 * const o: StopInOptions = { schedule: askedSchedule("TERM/5/KILL/2"), timeout: 30_000 };
 * ```
 */
export interface StopInOptions {
  /** The schedule asked for; absent: the supervisor's (the service's own). */
  schedule?: AskedSchedule;
  /** Called as the stop goes on. */
  onProgress?: (event: ServiceStopProgress) => void;
  /** How long to wait for the stop, in ms; default the supervisor's limit. */
  timeout?: number;
}

/**
 * Ask whoever holds `name` to stop it: a `pidkit run` on its own socket (when
 * there is one), else the run directory's resident supervisor. Its result
 * when one held it; `undefined` when none did (or it went away before
 * answering: what it left decides; `seen.away` says so). `seen.first`:
 * the first ask, which does not wait for a supervisor without a socket;
 * `seen.answered` is set when a supervisor answered (that it does not hold
 * the service, when `undefined` is returned).
 *
 * @example
 * ```ts
 * import { askHolder } from "./ask_stop.ts";
 * console.log(await askHolder("/tmp/pidkit-example", "web", {}));
 * ```
 */
export async function askHolder(
  dir: string,
  name: string,
  options: StopInOptions,
  seen: AskSeen = { away: false },
): Promise<StopResult | { held: true } | undefined> {
  const run = runSocketPath(dir, name);
  if (isSocket(run)) {
    const answer = await askStop(dir, name, options, seen, run);
    if (answer?.held) return answer.result ?? { held: true };
  }
  const answer = await askStop(dir, name, options, seen);
  if (answer?.held) return answer.result ?? { held: true };
  return undefined;
}

/** What {@linkcode askHolder} saw (see there). */
interface AskSeen {
  away: boolean;
  first?: boolean;
  answered?: boolean;
}

/**
 * One stop request to the supervisor of `dir` (or the `pidkit run` at
 * `socket`); `undefined` when none listens or it went away before it
 * answered. A refusal, or no answer in time, is thrown
 * ({@linkcode SupervisorError}); so is a stop not done within the limit.
 */
async function askStop(
  dir: string,
  name: string,
  options: StopInOptions,
  seen: AskSeen,
  socket?: string,
): Promise<StopAnswer | undefined> {
  const { schedule, timeout } = options;
  const progress = options.onProgress ?? (() => {});
  let begun = false;
  const begin = (spec?: string) => {
    const steps = schedule?.steps ?? stepsOf(spec);
    if (begun || steps === undefined) return;
    begun = true;
    progress({ kind: "begin", name, steps });
  };
  const request = {
    op: "stop" as const,
    name,
    requestedBy: Deno.pid,
    ...(schedule ? { retry: schedule.spec } : {}),
    // A moment before the command's own limit, so its `timedOut` comes first.
    ...(timeout !== undefined ? { timeoutMs: timeout - Math.min(2000, timeout / 5) } : {}),
  };
  const deadline = timeout === undefined ? Infinity : Date.now() + timeout;
  let answer: StopAnswer | undefined;
  try {
    answer = await askSupervisor<StopAnswer>(dir, request, {
      launch: false,
      deadline,
      // First asked: no socket means no supervisor to wait for; if one holds
      // the service after all (its socket gone), the inspection says so and
      // it is asked again, waiting for its socket.
      ifListening: seen.first === true,
      onAck: (ack) => begin(ack.retry),
      ...(socket ? { socket } : {}),
    }).catch(async (err) => {
      // A supervisor from before versioning (0.2) stops as asked: asked bare.
      if (!(err instanceof SupervisorError && err.reason === "version") || socket) throw err;
      begin();
      return await askSupervisor<StopAnswer>(dir, request, {
        launch: false,
        deadline,
        legacy: true,
      });
    });
  } catch (err) {
    if (err instanceof SupervisorError) throw err;
    seen.away = true;
    return undefined; // it died meanwhile: what it left decides
  } finally {
    if (begun) progress({ kind: "end" });
  }
  if (answer !== undefined) seen.answered = true;
  if (answer?.timedOut) {
    const within = timeout === undefined
      ? "its supervisor's time limit (the schedule and 10 s)"
      : formatDuration(timeout);
    throw new PidkitError(`${name} did not stop within ${within}; the stop goes on`);
  }
  return answer;
}

/** The steps of the schedule a supervisor said it follows (for the display only). */
function stepsOf(spec: string | undefined): RetryStep[] | undefined {
  if (spec === undefined) return undefined;
  try {
    return parseRetry(spec);
  } catch {
    return undefined;
  }
}

/** Whether `path` is a socket (a `pidkit run` listens there, or did). */
function isSocket(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSocket === true;
  } catch {
    return false;
  }
}

/**
 * A stop its supervisor carried out: what its report says.
 *
 * @example
 * ```ts
 * import { stoppedResult } from "./ask_stop.ts";
 * console.log(stoppedResult("web", { held: true }, 12).status); // stopped
 * ```
 */
export function stoppedResult(
  name: string,
  report: StopResult | { held: true } | undefined,
  durationMs: number,
  pid?: number,
): StopServiceResult {
  const r = report && "signalsSent" in report ? report : undefined;
  return {
    name,
    status: "stopped",
    pid: r?.pid ?? pid,
    lastSignal: r?.signalsSent.at(-1)?.signal,
    signalsSent: r?.signalsSent,
    durationMs,
    survivors: r?.survivors ?? [],
  };
}
