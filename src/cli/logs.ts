/**
 * `pidkit logs [NAME...] [-n N] [-f] [--timestamps]`: one service's log as
 * it is; several (or, with no NAME, every service's) interleaved in time
 * order, each line prefixed `NAME | `; with `-f`, new output as it arrives
 * (services that appear later too, when no NAME is given), until SIGINT
 * (exit 0). The reading is serviceLogs's and mergedServiceLogs's
 * (service_logs.ts); this prints it.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import {
  mergedServiceLogs,
  type ServiceLogItem,
  serviceLogs,
} from "../service/output/service_logs.ts";
import { EXIT, useColor } from "./io.ts";
import type { CommandInput } from "./spec.ts";
import { enterableRunDir } from "./run_dir_access.ts";

const encoder = new TextEncoder();
const NL = new Uint8Array([10]);
/** foreman's cycle: cyan, yellow, green, magenta, red, blue, then their bright versions. */
const COLOURS = [36, 33, 32, 35, 31, 34, 96, 93, 92, 95, 91, 94];

/** `pidkit logs`. */
export async function run(input: CommandInput): Promise<number> {
  const names = input.positionals;
  const lines = parseLines(input.values.lines as string | undefined);
  const follow = input.values.follow === true;
  const stamps = input.values.timestamps === true;
  const dir = enterableRunDir(input.values.dir as string | undefined);
  if (follow) Deno.addSignalListener("SIGINT", () => Deno.exit(EXIT.ok));
  const one = names.length === 1;
  const prefix = one ? undefined : new Prefixes(useColor());
  const items = one
    ? serviceLogs(names[0], { dir, lines, follow })
    : mergedServiceLogs(names, { dir, lines, follow, onServices: (all) => prefix!.widen(all) });
  const out = new Output();
  try {
    for await (const item of items) {
      if (item.type === "warning") {
        out.flush();
        console.error(`pidkit: ${item.message}`);
        continue;
      }
      const head = (prefix?.of(item.service) ?? "") + (stamps ? `${stamp(item)} ` : "");
      out.push([encoder.encode(head), item.bytes, ...(item.newline || !one ? [NL] : [])]);
    }
    out.flush();
    return EXIT.ok;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return EXIT.ok; // e.g. `pidkit logs web | head`
    throw err;
  }
}

/** The line's time, ISO 8601 UTC to the millisecond; `-` (as wide) when it was not stamped. */
function stamp(item: ServiceLogItem & { type: "line" }): string {
  return item.time?.toISOString() ?? "-".padEnd(24);
}

/** `NAME | `, padded to the longest name seen so far, coloured per service on a TTY. */
class Prefixes {
  #width = 0;
  #colour = new Map<string, number>();
  readonly #paint: boolean;

  constructor(paint: boolean) {
    this.#paint = paint;
  }

  /** The services being read (in order: each gets the next colour). */
  widen(names: string[]): void {
    for (const name of names) {
      this.#width = Math.max(this.#width, name.length);
      if (!this.#colour.has(name)) {
        this.#colour.set(name, COLOURS[this.#colour.size % COLOURS.length]);
      }
    }
  }

  of(name: string): string {
    this.widen([name]);
    const text = `${name.padEnd(this.#width)} |`;
    return `${this.#paint ? `\x1b[${this.#colour.get(name)}m${text}\x1b[39m` : text} `;
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
