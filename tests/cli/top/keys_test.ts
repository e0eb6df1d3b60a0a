/** `pidkit top`'s key decoding: bytes and escape sequences from a raw terminal (pure). */
import assert from "node:assert/strict";
import { decodeKeys } from "../../../src/cli/top/keys.ts";

const keys = (text: string) => decodeKeys(new TextEncoder().encode(text));

Deno.test("keys: letters and control bytes", () => {
  assert.deepEqual(keys("qslkjQSL"), [
    "quit",
    "sort",
    "logs",
    "up",
    "down",
    "quit",
    "sort",
    "logs",
  ]);
  assert.deepEqual(keys("\x03\x04\x0c\x10\x0e"), ["quit", "quit", "redraw", "up", "down"]);
  assert.deepEqual(keys("xyz 1\r\n"), []);
});

Deno.test("keys: arrows in normal and application mode, paging keys, several in one read", () => {
  assert.deepEqual(keys("\x1b[A\x1b[B\x1bOA\x1bOB"), ["up", "down", "up", "down"]);
  assert.deepEqual(keys("\x1b[5~\x1b[6~"), ["page-up", "page-down"]);
  assert.deepEqual(keys("\x1b[H\x1b[F\x1b[1~\x1b[4~\x1bOH\x1bOF"), [
    "home",
    "end",
    "home",
    "end",
    "home",
    "end",
  ]);
  assert.deepEqual(keys("s\x1b[Bl"), ["sort", "down", "logs"]);
});

Deno.test("keys: a lone ESC is escape; unknown sequences and Alt chords are skipped whole", () => {
  assert.deepEqual(keys("\x1b"), ["escape"]);
  assert.deepEqual(keys("\x1b\x1b[A"), ["escape", "up"]);
  assert.deepEqual(keys("\x1b[1;5C"), []); // Ctrl-Right: not ours, and its 'C' is no key
  assert.deepEqual(keys("\x1b[2~q"), ["quit"]); // Insert, then q
  assert.deepEqual(keys("\x1bq"), []); // Alt-q
  assert.deepEqual(keys("\x1b[15"), []); // cut short: nothing, no crash
});
