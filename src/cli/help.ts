/**
 * Help texts, generated from the command table.
 *
 * @module
 */

import { VERSION } from "../os/version.ts";
import { COMMAND_DESCRIPTIONS } from "./command_help.ts";
import { COMMANDS } from "./commands.ts";
import type { CommandSpec, OptionSpec } from "./spec.ts";

/** The left column of an option's help line, e.g. `-n, --lines N`. */
export function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === "string" ? ` ${spec.valueName ?? "VALUE"}` : ""}`;
  return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
}

/** `pidkit --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `pidkit ${VERSION}: lock-based PID files and supervised process trees`,
    "",
    "Usage: pidkit COMMAND [options] [-- CMD [ARGS...]]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${"help".padEnd(width)}  show help for a command`,
    "",
    "Options:",
    "  -h, --help     show help (also after a command: pidkit stop --help)",
    "  -V, --version  print the version",
    "",
    "Everything after -- is the service's command, passed as it is.",
    "Exit status: 0 success, 1 failure, 2 usage error, 4 refused (permission:",
    "another user's supervisor, a run directory you may not read), 5 no answer",
    "from the supervisor; status: 0 running, 1 stale PID file, 3 not running,",
    "4 unknown.",
    "",
    "More: pidkit help COMMAND; README.md, docs/ (a page per topic) and the",
    "manual page come with the package (man -l docs/pidkit.1 in a checkout",
    "or the published files).",
  ].join("\n");
}

/** `pidkit help --help`. */
export function helpHelp(): string {
  return [
    "Usage: pidkit help [COMMAND]",
    "",
    "Shows the help of COMMAND (the same as pidkit COMMAND --help), or without",
    "one the list of commands (pidkit --help).",
  ].join("\n");
}

/** `pidkit help COMMAND` and `pidkit COMMAND --help`. */
export function commandHelp(spec: CommandSpec): string {
  const opts = Object.entries(spec.options).map((
    [name, o],
  ) => [optionLabel(name, o), o.description]);
  opts.push(["-h, --help", "show this help"]);
  const width = Math.max(...opts.map(([l]) => l.length));
  return [
    `Usage: pidkit ${spec.name} ${spec.usage}`,
    "",
    wrap(COMMAND_DESCRIPTIONS[spec.name] ?? "", 78),
    "",
    "Options:",
    ...opts.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`),
  ].join("\n");
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}
