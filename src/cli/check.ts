/**
 * `pidkit check [-c FILE] [--formation F] [--json]`: read the declaration
 * (`pidkit.jsonc`, `pidkit.json` or `Procfile` in the working directory, or
 * FILE), validate and resolve it, and print the services as `up` would run
 * them. Exit 0, or 2 with one line naming the file and JSON path. Starts and
 * stops nothing. The work is src/stack/.
 *
 * @module
 */

import { loadStack } from "../stack/load.ts";
import { startLevels } from "../stack/order.ts";
import type { ResolvedService } from "../stack/resolve.ts";
import { SERVICE_FIELDS } from "../stack/fields.ts";
import { commandLine, printJson } from "./format.ts";
import { EXIT, printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";

/**
 * `pidkit check`.
 *
 * @example
 * ```ts
 * import { run } from "./check.ts";
 * const code = await run({ values: { config: "pidkit.jsonc" }, positionals: [], command: [], sawDoubleDash: false });
 * console.log(code); // 0
 * ```
 */
export async function run(input: CommandInput): Promise<number> {
  const v = input.values;
  const loaded = await loadStack({
    ...(typeof v.config === "string" ? { file: v.config } : {}),
    ...(typeof v.formation === "string" ? { formation: v.formation } : {}),
  });
  const { stack } = loaded;
  if (v.json === true) {
    printJson({
      file: loaded.file,
      kind: loaded.kind,
      ...(stack.dir !== undefined ? { dir: stack.dir } : {}),
      skipped: loaded.skipped,
      levels: startLevels(stack.services),
      services: stack.services,
    });
    return EXIT.ok;
  }
  const declared = new Set(stack.services.map((s) => s.declared)).size;
  const lines = [
    `${loaded.file}: ok, ${declared} service${
      declared === 1 ? "" : "s"
    }, ${stack.services.length} to run`,
  ];
  if (stack.dir !== undefined) lines.push(`run directory: ${stack.dir}`);
  if (loaded.skipped.length > 0) lines.push(`not in the formation: ${loaded.skipped.join(", ")}`);
  lines.push(`start order: ${startLevels(stack.services).map((l) => l.join(" ")).join(" | ")}`);
  for (const s of stack.services) lines.push("", ...describe(s));
  printOut(lines.join("\n"));
  return EXIT.ok;
}

/** One service, a field a line, as `up` would start it. */
function describe(s: ResolvedService): string[] {
  const out = [`${s.name}${s.autostart ? "" : " (autostart: false)"}`];
  const field = (key: string, value: string) => out.push(`  ${key.padEnd(14)} ${value}`);
  field("cmd", commandLine(s.command));
  field("cwd", s.launch.cwd);
  for (const [k, value] of Object.entries(s.launch.env).sort(([a], [b]) => a < b ? -1 : 1)) {
    field("env", `${k}=${value}`);
  }
  if (s.dependsOn.length > 0) field("dependsOn", s.dependsOn.join(", "));
  for (const f of SERVICE_FIELDS) {
    if (!f.launch || f.launch === "cwd" || f.launch === "env") continue;
    const value = s.launch[f.launch];
    if (value === undefined) continue;
    if (f.kind === "limits") {
      const pairs = Object.entries(value as Record<string, string | number>);
      field(f.key, pairs.map(([name, v]) => `${name}=${v}`).join(" "));
    } else field(f.key, f.kind === "duration" ? durationText(Number(value)) : String(value));
  }
  field("hash", s.hash.slice(0, 16));
  return out;
}

/** A duration in ms as the file would say it, exactly: `30s`, `1500ms`. */
function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
