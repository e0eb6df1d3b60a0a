/**
 * The keys `pidkit top` reads from a terminal in raw mode: bytes (letters,
 * control characters and the escape sequences terminals send for arrows
 * and paging keys) decoded to what they mean.
 *
 * @module
 */

/**
 * A key `pidkit top` acts on.
 *
 * @example
 * ```ts
 * import type { TopKey } from "./keys.ts";
 * const quits = (k: TopKey) => k === "quit";
 * ```
 */
export type TopKey =
  | "quit"
  | "sort"
  | "logs"
  | "up"
  | "down"
  | "page-up"
  | "page-down"
  | "home"
  | "end"
  | "escape"
  | "redraw";

/** Sequences after ESC: CSI (`ESC [`) and SS3 (`ESC O`, arrows in application mode). */
const SEQUENCES: Record<string, TopKey> = {
  "[A": "up",
  "[B": "down",
  "OA": "up",
  "OB": "down",
  "[5~": "page-up",
  "[6~": "page-down",
  "[H": "home",
  "[F": "end",
  "OH": "home",
  "OF": "end",
  "[1~": "home",
  "[4~": "end",
  "[7~": "home",
  "[8~": "end",
};

/** Single bytes. */
const BYTES: Record<number, TopKey> = {
  0x71: "quit", // q
  0x51: "quit", // Q
  0x03: "quit", // Ctrl-C (raw mode: no SIGINT)
  0x04: "quit", // Ctrl-D
  0x73: "sort", // s
  0x53: "sort", // S
  0x6c: "logs", // l
  0x4c: "logs", // L
  0x6b: "up", // k
  0x6a: "down", // j
  0x0c: "redraw", // Ctrl-L
  0x10: "up", // Ctrl-P
  0x0e: "down", // Ctrl-N
};

/**
 * Decode what one read from the terminal gave: each byte or escape
 * sequence becomes a key; other bytes and unknown sequences are skipped. A
 * lone ESC (nothing after it in the same read) is `escape`. A terminal
 * writes a key's sequence at once, so a read holds whole sequences.
 *
 * @example
 * ```ts
 * import { decodeKeys } from "./keys.ts";
 * decodeKeys(new TextEncoder().encode("s\x1b[Bq")); // ["sort", "down", "quit"]
 * ```
 */
export function decodeKeys(bytes: Uint8Array): TopKey[] {
  const keys: TopKey[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b !== 0x1b) {
      const key = BYTES[b];
      if (key !== undefined) keys.push(key);
      i++;
      continue;
    }
    const end = sequenceEnd(bytes, i);
    if (end === i + 1) {
      keys.push("escape");
      i++;
      continue;
    }
    const key = SEQUENCES[String.fromCharCode(...bytes.subarray(i + 1, end))];
    if (key !== undefined) keys.push(key);
    i = end;
  }
  return keys;
}

/**
 * Where the escape sequence at `start` (an ESC) ends (exclusive): `ESC [`
 * parameters and a final byte 0x40-0x7e; `ESC O` and one byte; ESC alone
 * (followed by nothing or by another ESC) ends right after it; ESC and any
 * other byte: an Alt chord, two bytes.
 */
function sequenceEnd(bytes: Uint8Array, start: number): number {
  const next = bytes[start + 1];
  if (next === undefined || next === 0x1b) return start + 1;
  if (next === 0x4f) return Math.min(bytes.length, start + 3); // ESC O x
  if (next !== 0x5b) return start + 2;
  let i = start + 2;
  while (i < bytes.length && (bytes[i] < 0x40 || bytes[i] > 0x7e)) i++;
  return Math.min(bytes.length, i + 1);
}
