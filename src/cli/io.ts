/**
 * Output helpers for the CLI: plain lines to stdout/stderr, colour only on a
 * TTY and never with `NO_COLOR`, and exit statuses.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Exit statuses the CLI uses (LSB init-script convention where it applies). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** `status`: a stale PID file exists. */
  stale: 1,
  /** `status`: not running. */
  notRunning: 3,
  /** `status`: cannot tell (e.g. permission denied). */
  unknown: 4,
  /**
   * start, stop, restart: the supervisor refused the caller (another user's);
   * the reading commands (list, ps, logs, events, top): the caller may not
   * read the run directory or the file.
   */
  denied: 4,
  /** start, stop, restart: the supervisor does not answer (stopped, overloaded, no socket). */
  noAnswer: 5,
} as const;

/** Write text to stdout as it is (a newline is added when missing). */
export function printOut(text: string): void {
  writeAll(Deno.stdout, text.endsWith("\n") ? text : text + "\n");
}

/** Write one line to stderr (a newline is added when missing). */
export function printErr(text: string): void {
  writeAll(Deno.stderr, text.endsWith("\n") ? text : text + "\n");
}

function writeAll(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

/** Whether to use ANSI colours on `stream`: a TTY, and `NO_COLOR` unset or empty. */
export function useColor(stream: typeof Deno.stdout | typeof Deno.stderr = Deno.stdout): boolean {
  try {
    if ((Deno.env.get("NO_COLOR") ?? "") !== "") return false;
  } catch {
    return false;
  }
  return stream.isTerminal();
}

/** Wrap `text` in an ANSI style when `on` is true. */
export function paint(
  text: string,
  style: "bold" | "red" | "green" | "yellow" | "dim",
  on: boolean,
): string {
  if (!on) return text;
  const codes = { bold: [1, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22] };
  const [a, b] = codes[style];
  return `\x1b[${a}m${text}\x1b[${b}m`;
}
