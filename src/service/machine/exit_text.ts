/**
 * How the machine speaks of exits and stop schedules: the shell's exit
 * status, `code 3` / `signal SIGTERM`, `TERM/10s/KILL/5s`; and the
 * schedule of a stop whose first signal was given.
 *
 * @module
 */

import { signalNumber } from "../../os/signals.ts";
import type { RetryStep, TreeExit } from "../../tree/process_tree.ts";
import { parseRetry } from "../../tree/stop_schedule.ts";

/** How many lines of the log a failed start reports. */
export const LOG_TAIL_LINES = 10;

/**
 * The exit status a shell would give for `exit` (128+N for signal N).
 *
 * @example
 * ```ts
 * import { exitStatus } from "./exit_text.ts";
 * console.log(exitStatus({ success: false, code: null, signal: "SIGTERM" })); // 143
 * ```
 */
export function exitStatus(exit: TreeExit): number {
  if (exit.code !== null && exit.code !== undefined && !exit.signal) return exit.code;
  if (exit.signal) return 128 + signalNumber(exit.signal);
  return exit.code ?? 1;
}

/**
 * `code 3`, `signal SIGTERM`, or `an unknown status`.
 *
 * @example
 * ```ts
 * import { describeExit } from "./exit_text.ts";
 * console.log(describeExit({ code: 3, signal: null })); // "code 3"
 * ```
 */
export function describeExit(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal) return `signal ${exit.signal}`;
  // An adopted leader (not our child): the kernel tells only its parent.
  return exit.code === null ? "an unknown status" : `code ${exit.code}`;
}

/**
 * A stop schedule as text, e.g. `TERM/10s/KILL/5s`.
 *
 * @example
 * ```ts
 * import { describeRetry } from "./exit_text.ts";
 * console.log(describeRetry([{ signal: "SIGTERM" }, { timeoutMs: 10_000 }])); // "TERM/10s"
 * ```
 */
export function describeRetry(steps: RetryStep[]): string {
  return steps.map((s) =>
    s.signal
      ? s.signal.replace(/^SIG/, "")
      : s.forever
      ? "forever"
      : `${(s.timeoutMs ?? 0) / 1000}s`
  ).join("/");
}

/**
 * The schedule `retry`, starting with `first` instead of its first signal.
 *
 * @example
 * ```ts
 * import { schedule } from "./exit_text.ts";
 * console.log(schedule("TERM/5/KILL/2", "SIGINT")[0].signal); // "SIGINT"
 * ```
 */
export function schedule(retry: string, first: Deno.Signal): RetryStep[] {
  const steps = parseRetry(retry);
  const i = steps.findIndex((s) => s.signal !== undefined);
  if (i >= 0 && first !== "SIGTERM") steps[i] = { ...steps[i], signal: first };
  return steps;
}
