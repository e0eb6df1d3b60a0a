/**
 * The CLI's entry: splits the service command off at `--`, parses options
 * (strictly, like `node:util` `parseArgs`), handles `--help`, `--version` and
 * `help COMMAND`, and runs the command.
 *
 * @module
 */

import { FileError, PidkitError, UsageError } from "../os/errors.ts";
import { COMMANDS, findCommand } from "./commands.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import { parseOptions } from "./parse_args.ts";
import type { CommandInput, CommandSpec } from "./spec.ts";

// help.ts and version.ts (with deno.json) load only when asked for: every
// module a command executes costs start-up time, and `pidkit status` must stay
// near the runtime floor. Literal specifiers, so that deno install, compile,
// publish and check see them (see `load` in spec.ts).
function loadHelp(): Promise<typeof import("./help.ts")> {
  return import("./help.ts");
}

async function version(): Promise<string> {
  return (await import("../os/version.ts")).VERSION;
}

/**
 * Run the CLI with `args` (without the program name) and return the exit
 * status. Never throws for expected conditions: errors become one line on
 * stderr.
 */
export async function main(args: string[]): Promise<number> {
  const first = args[0];
  if (first === undefined) {
    // A usage error all the same (exit 2), but the summary says what to type.
    printErr((await loadHelp()).mainHelp());
    return EXIT.usage;
  }
  if (first === "-h" || first === "--help") {
    printOut((await loadHelp()).mainHelp());
    return EXIT.ok;
  }
  if (first === "-V" || first === "--version") {
    printOut(`pidkit ${await version()}`);
    return EXIT.ok;
  }
  if (first === "help") return await help(args.slice(1));
  // The background supervisor's hidden entry (src/service/control/supervisor_protocol.ts); not in --help.
  if (first === "__supervise") {
    const { superviseCommand } = await import("../service/supervisor/supervisor_main.ts");
    return await superviseCommand(args.slice(1));
  }
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
      const rest = args.slice(1);
      const dash = rest.indexOf("--");
      const json = (dash < 0 ? rest : rest.slice(0, dash)).includes("--json");
      const text = `pidkit ${spec.name}: ${err.message} (see pidkit ${spec.name} --help)`;
      return fail(text, EXIT.usage, json);
    }
    throw err;
  }
  if (input === "help") {
    printOut((await loadHelp()).commandHelp(spec));
    return EXIT.ok;
  }
  if (!spec.load) {
    printErr(`pidkit ${spec.name}: not built yet in pidkit ${await version()}`);
    return EXIT.failure;
  }
  return await runCommand(spec, input);
}

async function runCommand(spec: CommandSpec, input: CommandInput): Promise<number> {
  const { run } = await spec.load!();
  try {
    return await run(input);
  } catch (err) {
    const json = input.values.json === true;
    if (err instanceof UsageError) {
      return fail(`pidkit ${spec.name}: ${asFlags(err.message)}`, EXIT.usage, json);
    }
    // Evaluated only on an error (a small module; see `load` in spec.ts).
    const { SupervisorError } = await import("../service/control/service_errors.ts");
    if (err instanceof SupervisorError) {
      const code = err.reason === "permission-denied"
        ? EXIT.denied
        : err.reason === "late" || err.reason === "version"
        ? EXIT.failure
        : EXIT.noAnswer;
      return fail(`pidkit ${spec.name}: ${err.message}`, code, json);
    }
    if (err instanceof PidkitError) {
      const refused = spec.reads && err instanceof FileError && err.reason === "permission";
      const code = refused ? EXIT.denied : EXIT.failure;
      return fail(`pidkit ${spec.name}: ${asFlags(err.message)}`, code, json);
    }
    throw err;
  }
}

/** Report an error on stderr, as `{"error": "...", "code": N}` in JSON mode; returns `code`. */
function fail(text: string, code: number, json: boolean): number {
  printErr(json ? JSON.stringify({ error: text, code }) : text);
  return code;
}

async function help(rest: string[]): Promise<number> {
  if (rest.length === 0) {
    printOut((await loadHelp()).mainHelp());
    return EXIT.ok;
  }
  if (rest.length === 1 && (rest[0] === "--help" || rest[0] === "-h")) {
    printOut((await loadHelp()).helpHelp());
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
  printOut((await loadHelp()).commandHelp(spec));
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
  // Not node:util parseArgs: any node: import costs 10+ ms of start-up (see parse_args.ts).
  let parsed;
  try {
    parsed = parseOptions(before, spec.options);
  } catch (err) {
    // `pidkit start web python3 -m http.server`: the command's own options read as pidkit's.
    if (!(err instanceof UsageError) || spec.serviceCommand !== "required" || dash >= 0) throw err;
    throw new UsageError(`${err.message}; is '--' missing before the command to run?`);
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

/**
 * The service API names its options as fields (`options.maxRestarts`); on
 * the command line they are flags (`--max-restarts`).
 */
function asFlags(message: string): string {
  return message.replace(
    /\boptions\.([a-z][A-Za-z]*)/g,
    (_, field: string) =>
      field === "limits" ? "--limit" : `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  );
}
