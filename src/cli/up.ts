/**
 * `pidkit up [NAME...] [-c FILE] [--procfile FILE] [--formation F]
 * [--dry-run] [--json]`: make what runs match the declaration, one line per
 * service as it is done. Exit 0 when every selected autostart service runs
 * and is ready, 1 otherwise (the others keep running), 2 for bad input
 * (nothing started, nothing stopped). The work is src/stack/up.ts.
 *
 * @module
 */

import type { LoadedStack } from "../stack/load.ts";
import type { PlanStep } from "../stack/plan.ts";
import { quickUp } from "../stack/quick_up.ts";
import type { UpResult, UpServiceResult } from "../stack/up.ts";
import { upLineParts } from "../stack/up_line.ts";
import { EXIT, paint, printOut, useColor } from "./io.ts";
import type { CommandInput } from "./spec.ts";

/**
 * The declaration a command's options name: `-c FILE`, `--procfile FILE`,
 * else found in the working directory.
 *
 * @example
 * ```ts
 * import { loadFromOptions } from "./up.ts";
 * const loaded = await loadFromOptions({ config: "pidkit.jsonc" });
 * console.log(loaded.file);
 * ```
 */
export async function loadFromOptions(values: CommandInput["values"]): Promise<LoadedStack> {
  const file = typeof values.config === "string"
    ? values.config
    : typeof values.procfile === "string"
    ? values.procfile
    : undefined;
  if (typeof values.config === "string" && typeof values.procfile === "string") {
    const { UsageError } = await import("../os/errors.ts");
    throw new UsageError("give -c FILE or --procfile FILE, not both");
  }
  // Loaded here: `up` with nothing to do needs neither validation nor resolution.
  const { loadStack } = await import("../stack/load.ts");
  return await loadStack({
    ...(file !== undefined ? { file } : {}),
    ...(typeof values.procfile === "string" ? { procfile: true } : {}),
    ...(typeof values.formation === "string" ? { formation: values.formation } : {}),
  });
}

/** `pidkit up`. */
export async function run(input: CommandInput): Promise<number> {
  const v = input.values;
  const json = v.json === true;
  const color = !json && useColor();
  const quick = quickUpFromOptions(input);
  if (quick !== undefined) {
    if (json) (await import("./format.ts")).printJson(quick);
    else {
      // one write: the lines the long way prints one by one as it goes
      const lines = quick.services.map((r) => upLine(r, color));
      printOut([...lines, `nothing to do: ${lines.length} unchanged (${quick.file})`].join("\n"));
    }
    return EXIT.ok;
  }
  const loaded = await loadFromOptions(v);
  const { upStack } = await import("../stack/up.ts");
  if (!json && loaded.kind === "procfile") {
    printOut(
      `using ${loaded.file}${
        loaded.skipped.length ? ` (not in the formation: ${loaded.skipped.join(", ")})` : ""
      }`,
    );
  }
  const result = await upStack(loaded.stack, {
    ...(typeof v.dir === "string" ? { dir: v.dir } : {}),
    ...(input.positionals.length > 0 ? { names: input.positionals } : {}),
    dryRun: v["dry-run"] === true,
    ...(json ? {} : { onService: (r: UpServiceResult) => printOut(upLine(r, color)) }),
  });
  if (json) {
    (await import("./format.ts")).printJson(result);
    return result.ok ? EXIT.ok : EXIT.failure;
  }
  if (result.plan) {
    for (const step of result.plan.steps) printOut(planLine(step));
    printOut(result.changed ? "dry run: nothing done" : `nothing to do (${result.file})`);
    return EXIT.ok;
  }
  if (!result.changed && result.ok) {
    printOut(`nothing to do: ${result.services.length} unchanged (${result.file})`);
  }
  return result.ok ? EXIT.ok : EXIT.failure;
}

/**
 * `up` with nothing to do, without validating and resolving the file (see
 * src/stack/quick_up.ts): only a plain `up` of a pidkit.json(c), and only
 * when the run directory provably runs it as declared.
 */
function quickUpFromOptions(input: CommandInput): UpResult | undefined {
  const v = input.values;
  if (
    input.positionals.length > 0 || v["dry-run"] === true || v.procfile !== undefined ||
    v.formation !== undefined
  ) return undefined;
  return quickUp({
    ...(typeof v.config === "string" ? { file: v.config } : {}),
    ...(typeof v.dir === "string" ? { dir: v.dir } : {}),
  });
}

/**
 * One line of `up`'s output, its verb coloured when `color`.
 *
 * @example
 * ```ts
 * import { upLine } from "./up.ts";
 * upLine({ name: "web", action: "restarted", reason: "changed: cmd", pid: 42 }, false);
 * // "restarted web (pid 42): changed: cmd"
 * ```
 */
export function upLine(r: UpServiceResult, color: boolean): string {
  const { verb, rest } = upLineParts(r);
  const style = ({
    started: "green",
    restarted: "yellow",
    stopped: "yellow",
    failed: "red",
    "not-started": "red",
    conflict: "red",
  } as const)[r.action as string];
  return (style ? paint(verb, style, color) : verb) + rest;
}

function planLine(step: PlanStep): string {
  const verb = {
    start: "would start",
    restart: "would restart",
    leave: "unchanged",
    stop: "would stop",
    skip: "skipped",
    conflict: "left alone",
  }[step.action];
  return step.action === "leave" ? `${verb} ${step.name}` : `${verb} ${step.name}: ${step.reason}`;
}
