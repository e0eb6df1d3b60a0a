/**
 * `pidkit logs NAME [-n N] [-f]`: the last N lines of the service's log,
 * then with `-f` new output as it arrives, until SIGINT (exit 0). The
 * reading is serviceLogs's (service_logs.ts); this prints it.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import { serviceLogs } from "../service/service_logs.ts";
import { EXIT } from "./io.ts";
import type { CommandInput } from "./spec.ts";

const NL = new Uint8Array([10]);

/** `pidkit logs`. */
export async function run(input: CommandInput): Promise<number> {
  const name = input.positionals[0];
  const lines = parseLines(input.values.lines as string | undefined);
  const follow = input.values.follow === true;
  const dir = input.values.dir as string | undefined;
  if (follow) Deno.addSignalListener("SIGINT", () => Deno.exit(EXIT.ok));
  const out = new Output();
  try {
    for await (const item of serviceLogs(name, { dir, lines, follow })) {
      if (item.type === "warning") console.error(`pidkit: ${item.message}`);
      else out.push(item.newline ? [item.bytes, NL] : [item.bytes]);
    }
    out.flush();
    return EXIT.ok;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return EXIT.ok; // e.g. `pidkit logs web | head`
    throw err;
  }
}

function parseLines(text: string | undefined): number {
  if (text === undefined) return 20;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`bad line count '${text}' (use a number, e.g. -n 50)`);
  }
  return Number(text);
}

/**
 * Stdout, written in pieces of 64 KiB, and whenever the lines stop coming
 * for a moment (a timer runs only once the reader waits for the file).
 */
class Output {
  #parts: Uint8Array[] = [];
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  push(parts: Uint8Array[]): void {
    for (const p of parts) {
      this.#parts.push(p);
      this.#size += p.length;
    }
    if (this.#size >= 64 * 1024) this.flush();
    else {
      this.#timer ??= setTimeout(() => {
        try {
          this.flush();
        } catch (err) {
          if (err instanceof Deno.errors.BrokenPipe) Deno.exit(EXIT.ok);
          throw err;
        }
      }, 0);
    }
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const all = new Uint8Array(this.#size);
    let off = 0;
    for (const p of this.#parts) {
      all.set(p, off);
      off += p.length;
    }
    this.#parts = [];
    this.#size = 0;
    off = 0;
    while (off < all.length) off += Deno.stdout.writeSync(all.subarray(off));
  }
}
