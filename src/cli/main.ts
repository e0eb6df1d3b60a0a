/**
 * The CLI's entry: splits the service command off at `--`, parses options
 * with `node:util` `parseArgs`, handles `--help`, `--version` and
 * `help COMMAND`, and runs the command.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PidkitError, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { COMMANDS, findCommand } from "./commands.ts";
import { commandHelp, mainHelp } from "./help.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import type { CommandInput, CommandSpec } from "./spec.ts";

/**
 * Run the CLI with `args` (without the program name) and return the exit
 * status. Never throws for expected conditions: errors become one line on
 * stderr.
 */
export async function main(args: string[]): Promise<number> {
  const first = args[0];
  if (first === undefined) {
    printErr("pidkit: missing command (see pidkit --help)");
    return EXIT.usage;
  }
  if (first === "-h" || first === "--help") {
    printOut(mainHelp());
    return EXIT.ok;
  }
  if (first === "-V" || first === "--version") {
    printOut(`pidkit ${VERSION}`);
    return EXIT.ok;
  }
  if (first === "help") return help(args.slice(1));
  if (first.startsWith("-")) {
    printErr(`pidkit: unknown option '${first}' (see pidkit --help)`);
    return EXIT.usage;
  }
  const spec = findCommand(first);
  if (!spec) {
    printErr(`pidkit: unknown command '${first}' (see pidkit --help)`);
    return EXIT.usage;
  }
  let input: CommandInput | "help";
  try {
    input = parseCommandLine(spec, args.slice(1));
  } catch (err) {
    if (err instanceof UsageError) {
      printErr(`pidkit ${spec.name}: ${err.message} (see pidkit ${spec.name} --help)`);
      return EXIT.usage;
    }
    throw err;
  }
  if (input === "help") {
    printOut(commandHelp(spec));
    return EXIT.ok;
  }
  if (!spec.load) {
    printErr(`pidkit ${spec.name}: not built yet in pidkit ${VERSION}`);
    return EXIT.failure;
  }
  return await runCommand(spec, input);
}

async function runCommand(spec: CommandSpec, input: CommandInput): Promise<number> {
  const { run } = await spec.load!();
  try {
    return await run(input);
  } catch (err) {
    if (err instanceof UsageError) {
      printErr(`pidkit ${spec.name}: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof PidkitError) {
      printErr(`pidkit ${spec.name}: ${err.message}`);
      return EXIT.failure;
    }
    throw err;
  }
}

function help(rest: string[]): number {
  if (rest.length === 0) {
    printOut(mainHelp());
    return EXIT.ok;
  }
  const spec = findCommand(rest[0]);
  if (!spec || rest.length > 1) {
    printErr(
      `pidkit help: unknown command '${rest.join(" ")}' (commands: ${
        COMMANDS.map((c) => c.name).join(", ")
      })`,
    );
    return EXIT.usage;
  }
  printOut(commandHelp(spec));
  return EXIT.ok;
}

/**
 * Parse a command's arguments: options and positionals before `--`, the
 * service command after it. Returns `"help"` for `--help`/`-h`.
 * Throws {@linkcode UsageError} for anything malformed.
 */
export function parseCommandLine(spec: CommandSpec, args: string[]): CommandInput | "help" {
  const dash = args.indexOf("--");
  const before = dash < 0 ? args : args.slice(0, dash);
  const command = dash < 0 ? [] : args.slice(dash + 1);
  if (before.includes("--help") || before.includes("-h")) return "help";
  let parsed;
  try {
    parsed = parseArgs({
      args: before,
      options: Object.fromEntries(
        Object.entries(spec.options).map(([k, o]) => [k, {
          type: o.type,
          multiple: o.multiple ?? false,
          ...(o.short ? { short: o.short } : {}),
        }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  const positionals = parsed.positionals;
  const [min, max] = spec.positionals;
  if (spec.serviceCommand === "required") {
    if (dash < 0) throw new UsageError("missing '--' before the command to run");
    if (command.length === 0) throw new UsageError("missing the command to run after '--'");
  } else if (dash >= 0) {
    throw new UsageError("takes no command after '--'");
  }
  if (positionals.length < min) throw new UsageError(`missing ${spec.usage.split(" ")[0]}`);
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument '${positionals[max]}'`);
  }
  return {
    values: parsed.values as CommandInput["values"],
    positionals,
    command,
    sawDoubleDash: dash >= 0,
  };
}

/** `parseArgs` messages are long and mention internals; keep the first sentence. */
function parseArgsMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown option '${unknown[1]}'`;
  const missing = /Option '([^']+)' argument missing/.exec(msg);
  if (missing) {
    return `option '${missing[1].replace(/^-\w, /, "").replace(/ <value>$/, "")}' needs a value`;
  }
  return msg.split(". ")[0];
}
