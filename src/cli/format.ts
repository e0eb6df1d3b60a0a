/**
 * Output formatting for the reading commands: aligned tables, sizes,
 * command lines, state colours and JSON.
 *
 * @module
 */

import type { ServicePhase } from "../service/inspect/inspect_service.ts";
import { paint, printOut } from "./io.ts";

/** Column alignment for {@linkcode table}. */
export type Align = "left" | "right";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Visible width of `text` (ANSI colour codes do not count). */
function width(text: string): number {
  return text.replace(ANSI, "").length;
}

/**
 * Lay out rows as columns separated by two spaces; the last column is not
 * padded (it is usually a command line of any length).
 */
export function table(rows: string[][], align: Align[] = []): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, width(cell)));
  }
  return rows.map((row) =>
    row.map((cell, i) => {
      if (i === row.length - 1 && align[i] !== "right") return cell;
      const pad = " ".repeat(widths[i] - width(cell));
      return align[i] === "right" ? pad + cell : cell + pad;
    }).join("  ").trimEnd()
  ).join("\n");
}

/**
 * An argument vector as a shell-like line (arguments with spaces or quotes
 * are quoted). One with control characters (a newline in `python3 -c`'s
 * program, an escape sequence) is quoted as bash's `$'...'` with them
 * escaped: the line stays one line of a table, and a service's argv cannot
 * drive the terminal of whoever lists it.
 */
export function commandLine(argv: string[]): string {
  return argv.map(quoteWord).join(" ");
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e" };

function quoteWord(a: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a)) return a;
  if (!CONTROL.test(a)) return `'${a.replaceAll("'", `'\\''`)}'`;
  let out = "";
  for (const ch of a) {
    if (ch === "\\" || ch === "'") out += `\\${ch}`;
    else if (CONTROL.test(ch)) {
      out += ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
    } else out += ch;
  }
  return `$'${out}'`;
}

/** A CPU share in percent with one decimal, e.g. `0.4%`. */
export function formatPercent(value: number): string {
  return `${value.toFixed(1)}%`;
}

/** The state word of a service, coloured when `color` is true. */
export function paintPhase(phase: ServicePhase, color: boolean): string {
  switch (phase) {
    case "running":
      return paint(phase, "green", color);
    case "starting":
    case "stopping":
    case "reloading":
    case "restarting":
    case "scheduled":
      return paint(phase, "yellow", color);
    case "stopped":
      return paint(phase, "dim", color);
    default:
      return paint(phase, "red", color);
  }
}

/** Print `value` as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  printOut(JSON.stringify(value, null, 2));
}
