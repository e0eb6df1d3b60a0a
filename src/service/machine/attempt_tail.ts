/**
 * The log lines of one start attempt: the supervisor writes
 * `[pidkit] TIME started NAME (pid P): COMMAND` when it has spawned an
 * instance, and a failed start reports the lines from the last such line
 * of that instance on, so that a service failing again does not show the
 * earlier attempts' output as if it were this one's.
 *
 * @module
 */

import { tailLines } from "../output/log_sink.ts";

/**
 * The text of the `started` line for the instance `pid` of `name`
 * (the log sink adds `[pidkit] TIME `).
 *
 * @example
 * ```ts
 * import { startedLine } from "./attempt_tail.ts";
 * console.log(startedLine("web", 42, ["sleep", "9"])); // "started web (pid 42): sleep 9"
 * ```
 */
export function startedLine(name: string, pid: number, command: readonly string[]): string {
  return `started ${name} (pid ${pid}): ${command.join(" ")}`;
}

/**
 * Whether `line` of the log is the `started` line of the instance `pid`
 * of `name` (the service's own output cannot begin with `[pidkit] `
 * mid-file unless it imitates it; the last match wins either way).
 *
 * @example
 * ```ts
 * import { isStartedLine } from "./attempt_tail.ts";
 * console.log(isStartedLine("[pidkit] 2026-01-01T00:00:00.000Z started web (pid 42): x", "web", 42)); // true
 * ```
 */
export function isStartedLine(line: string, name: string, pid: number): boolean {
  if (!line.startsWith("[pidkit] ")) return false;
  const rest = line.slice(line.indexOf(" ", 9) + 1);
  return rest.startsWith(`started ${name} (pid ${pid}):`) ||
    rest === `started ${name} (pid ${pid})`;
}

/**
 * The last `n` lines of the log at `path` from the `started` line of the
 * instance `pid` of `name` on (all of the last `n` when that line is not
 * among them: rotated away, or further back than `n` lines).
 *
 * @example
 * ```ts
 * import { attemptTail } from "./attempt_tail.ts";
 * const lines = await attemptTail("/run/pidkit/web.log", "web", 42, 10);
 * for (const line of lines) console.error(`  ${line}`);
 * ```
 */
export function attemptTail(path: string, name: string, pid: number, n: number): Promise<string[]> {
  return tailLines(path, n, { since: (line) => isStartedLine(line, name, pid) });
}
