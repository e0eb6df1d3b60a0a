/**
 * The one line `up` says per service (`started web (pid 42)`, `restarted
 * web (pid 43): changed: cmd`, `not started api: its dependency db
 * failed`...), for the CLI and for `supervise --config`'s stderr. A failed
 * start is followed by the last lines of its log, indented, as `start`
 * shows them: what the service said before it died.
 *
 * @module
 */

import type { UpServiceResult } from "./up.ts";

/**
 * The verb and the rest of `up`'s line for `r` (the CLI colours the verb).
 *
 * @example
 * ```ts
 * import { upLineParts } from "./up_line.ts";
 * const { verb, rest } = upLineParts({ name: "web", action: "restarted", reason: "changed: cmd", pid: 42 });
 * console.log(`${verb}${rest}`); // "restarted web (pid 42): changed: cmd"
 * ```
 */
export function upLineParts(r: UpServiceResult): { verb: string; rest: string } {
  const pid = r.pid !== undefined ? ` (pid ${r.pid})` : "";
  switch (r.action) {
    case "started":
      return { verb: "started", rest: ` ${r.name}${pid}` };
    case "restarted":
      return { verb: "restarted", rest: ` ${r.name}${pid}: ${r.reason}` };
    case "unchanged":
      return { verb: "unchanged", rest: ` ${r.name}${pid}` };
    case "stopped":
      return { verb: "stopped", rest: ` ${r.name}: ${r.reason}` };
    case "failed": {
      const tail = (r.logTail ?? []).map((line) => `\n  | ${line}`).join("");
      return { verb: "failed", rest: ` ${r.name}: ${r.error ?? r.reason}${tail}` };
    }
    case "not-started":
      return { verb: "not started", rest: ` ${r.name}: ${r.reason}` };
    case "skipped":
      return { verb: "skipped", rest: ` ${r.name}: ${r.reason}` };
    case "conflict":
      return { verb: "left alone", rest: ` ${r.name}: ${r.reason}` };
  }
}

/**
 * `up`'s line for `r`, plain.
 *
 * @example
 * ```ts
 * import { upLine } from "./up_line.ts";
 * upLine({ name: "web", action: "started", reason: "not running", pid: 42 }); // "started web (pid 42)"
 * ```
 */
export function upLine(r: UpServiceResult): string {
  const { verb, rest } = upLineParts(r);
  return verb + rest;
}
