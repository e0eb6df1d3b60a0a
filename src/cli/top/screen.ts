/**
 * The terminal as `pidkit top` uses it: raw mode, the alternate screen and
 * a hidden cursor while it runs, and everything put back however it ends
 * (`restore` is idempotent and never throws: the terminal may be gone).
 *
 * @module
 */

const encoder = new TextEncoder();
/** Alternate screen on, cursor hidden, cursor home. */
const ENTER = "\x1b[?1049h\x1b[?25l\x1b[H";
/** Cursor shown, alternate screen off (the shell's screen comes back as it was). */
const LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l";

/**
 * The terminal on stdin and stdout, taken over by {@linkcode Screen.enter}.
 *
 * @example
 * ```ts
 * import { Screen } from "./screen.ts";
 * const screen = new Screen();
 * screen.enter();
 * try {
 *   screen.draw(["hello"]);
 * } finally {
 *   screen.restore();
 * }
 * ```
 */
export class Screen {
  #entered = false;

  /** Raw mode (keys arrive at once, unechoed; Ctrl-C is a byte), alternate screen, no cursor. */
  enter(): void {
    Deno.stdin.setRaw(true);
    this.#entered = true;
    this.#write(ENTER);
  }

  /**
   * The terminal's size (80x24 when it cannot be told: also a pseudo-terminal
   * that reports 0 columns or rows, as `script` run without a terminal
   * makes, where a frame of 0 rows would show nothing).
   */
  size(): { columns: number; rows: number } {
    try {
      const { columns, rows } = Deno.consoleSize();
      return { columns: columns > 0 ? columns : 80, rows: rows > 0 ? rows : 24 };
    } catch {
      return { columns: 80, rows: 24 };
    }
  }

  /**
   * Show `lines` from the top left, each line's rest and everything below
   * cleared: written over the previous frame in one write, no flicker.
   * False when the terminal is gone.
   */
  draw(lines: readonly string[]): boolean {
    return this.#write(`\x1b[H${lines.join("\x1b[K\r\n")}\x1b[K\x1b[J`);
  }

  /** Put the terminal back as it was (idempotent; errors are ignored). */
  restore(): void {
    if (!this.#entered) return;
    this.#entered = false;
    this.#write(LEAVE);
    try {
      Deno.stdin.setRaw(false);
    } catch { /* the terminal is gone */ }
  }

  #write(text: string): boolean {
    const bytes = encoder.encode(text);
    try {
      let off = 0;
      while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
      return true;
    } catch {
      return false;
    }
  }
}
