/**
 * The shape of a CLI command: its usage, options and implementation. The
 * help text, the man-page consistency test and the argument parser are all
 * driven by these descriptions, so they cannot drift apart.
 *
 * @module
 */

/** One option of a command, in `node:util` `parseArgs` terms plus help text. */
export interface OptionSpec {
  /** `"string"` takes a value, `"boolean"` is a flag. */
  type: "string" | "boolean";
  /** One-letter alias, without the dash. */
  short?: string;
  /** The option may be given several times (values are collected in order). */
  multiple?: boolean;
  /** Placeholder shown in help for the value, e.g. `SCHEDULE`. */
  valueName?: string;
  /** One line of help. */
  description: string;
}

/** What a command's implementation receives. */
export interface CommandInput {
  /** Option values by long name. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Positional arguments before `--`. */
  positionals: string[];
  /** The service command after `--` (empty when there was none). */
  command: string[];
  /** Whether `--` was given at all. */
  sawDoubleDash: boolean;
}

/** A command's implementation: returns the exit status. */
export type CommandRun = (input: CommandInput) => Promise<number>;

/** A command of the CLI surface. */
export interface CommandSpec {
  /** The command word, e.g. `start`. */
  name: string;
  /** Usage after `pidkit NAME`, e.g. `NAME [options] -- CMD [ARGS...]`. */
  usage: string;
  /** One-line summary for `pidkit --help`. */
  summary: string;
  /** Options by long name. */
  options: Record<string, OptionSpec>;
  /** Minimum and maximum number of positional arguments before `--`. */
  positionals: [min: number, max: number];
  /** `"required"`: the command needs `-- CMD ...`; `"none"`: `--` is an error. */
  serviceCommand: "required" | "none";
  /**
   * It only reads the run directory: a file (or the directory) the caller
   * may not read is refused, exit 4, not a failure (1).
   */
  reads?: boolean;
  /**
   * Loads the implementation when the command runs, so each command executes
   * only the modules it needs. Always `() => import("./NAME.ts")`, a literal
   * specifier: `deno install`, `deno compile`, `deno publish` and `deno check`
   * see the module and everything it imports (an installed or compiled pidkit
   * has every command, offline). `deno run` reads such modules at start-up
   * too (without executing them), unless run with
   * `--unstable-lazy-dynamic-imports`, as the README and docs/install.md
   * run pidkit: tests/cli/install_test.ts checks both.
   */
  load?: () => Promise<{ run: CommandRun }>;
}
