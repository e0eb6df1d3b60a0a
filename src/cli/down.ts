/**
 * `pidkit down [NAME...] [-c FILE]`: stop the declaration's services,
 * dependents first. Exit 0, or 1 when a stop failed. The work is
 * src/stack/down.ts.
 *
 * @module
 */

import { type DownServiceResult, downStack } from "../stack/down.ts";
import { printJson } from "./format.ts";
import { EXIT, printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";
import { loadFromOptions } from "./up.ts";

/** `pidkit down`. */
export async function run(input: CommandInput): Promise<number> {
  const v = input.values;
  const json = v.json === true;
  const loaded = await loadFromOptions(v);
  const result = await downStack(loaded.stack, {
    ...(typeof v.dir === "string" ? { dir: v.dir } : {}),
    ...(input.positionals.length > 0 ? { names: input.positionals } : {}),
    ...(json ? {} : { onService: (r: DownServiceResult) => printOut(downLine(r)) }),
  });
  if (json) printJson(result);
  else if (result.services.length === 0) printOut(`nothing runs from ${result.file}`);
  return result.ok ? EXIT.ok : EXIT.failure;
}

function downLine(r: DownServiceResult): string {
  switch (r.action) {
    case "stopped":
      return `stopped ${r.name}${r.pid !== undefined ? ` (pid ${r.pid})` : ""}`;
    case "not-running":
      return `not running ${r.name}`;
    case "failed":
      return `failed ${r.name}: ${r.error}`;
    case "conflict":
      return `left alone ${r.name}: ${r.error}`;
  }
}
