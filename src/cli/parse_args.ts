/**
 * A small strict option parser with the semantics of `node:util` `parseArgs`
 * (long and short options, `--opt=value`, grouped short flags, repeatable
 * options, positionals anywhere). It exists because importing any `node:`
 * module costs 10 to 40 ms of start-up in Deno 2.9, more than the whole of
 * `pidkit status` may take.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import type { CommandInput, OptionSpec } from "./spec.ts";

/** Parsed options and positionals. */
export interface ParsedArgs {
  /** Option values by long name (arrays for repeatable options). */
  values: CommandInput["values"];
  /** Arguments that are not options, in order. */
  positionals: string[];
}

/**
 * Parse `args` (none of which is `--`) against `options`. Throws
 * {@linkcode UsageError} with `unknown option '--x'` or
 * `option '--x' needs a value`.
 */
export function parseOptions(args: string[], options: Record<string, OptionSpec>): ParsedArgs {
  const values: Record<string, string | boolean | string[] | boolean[] | undefined> = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  const set = (name: string, value: string | boolean) => {
    if (options[name].multiple) {
      const prev = (values[name] as (string | boolean)[] | undefined) ?? [];
      values[name] = [...prev, value] as string[] | boolean[];
    } else values[name] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = Object.hasOwn(options, name) ? options[name] : undefined;
      if (!spec) throw new UsageError(`unknown option '--${name}'`);
      if (spec.type === "boolean") {
        if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
        set(name, true);
      } else if (eq >= 0) set(name, arg.slice(eq + 1));
      else set(name, valueAfter(args, i++, name));
    } else if (arg.startsWith("-") && arg !== "-") {
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (name === undefined) throw new UsageError(`unknown option '-${arg[j]}'`);
        if (options[name].type === "boolean") {
          set(name, true);
          continue;
        }
        const rest = arg.slice(j + 1);
        set(name, rest !== "" ? rest : valueAfter(args, i++, name));
        break;
      }
    } else positionals.push(arg);
  }
  return { values, positionals };
}

/** The value of option `name` at `args[i + 1]`; a missing value or another option is an error. */
function valueAfter(args: string[], i: number, name: string): string {
  const next = args[i + 1];
  if (next === undefined || (next.startsWith("-") && next !== "-")) {
    // As parseArgs does, a value that looks like an option is not taken; a
    // negative number is most likely meant as one: say how to pass it.
    const hint = next !== undefined && /^-\d/.test(next)
      ? ` (to give it, write --${name}=${next})`
      : "";
    throw new UsageError(`option '--${name}' needs a value${hint}`);
  }
  return next;
}
