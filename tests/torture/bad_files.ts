/**
 * Bad files: a fuzzer for the PID record parser. Random bytes, mutations of
 * valid records, NUL bytes, huge and sparse files, deeply nested JSON, JSON
 * with wrong types. Every input must give a valid record or a PidFileError
 * ("bad-content"), never another exception, and never take long. The same
 * files go through readPidFile and probe on disk.
 *
 * @module
 */

import { tempDir } from "../_util/helpers.ts";
import { PidFileError, probe, readPidFile } from "../../mod.ts";
import { decodePidRecord, isValidPid, type PidRecord } from "../../src/lock/record.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { pick, randInt } from "./util.ts";

const enc = new TextEncoder();

const VALID = [
  "1234\n",
  "1\n",
  "4194304",
  '{"pid":4321,"startTime":99,"bootId":"b","argv":["a"]}\n',
  '{"pid":7,"ppid":1,"createdAt":"2024-01-01T00:00:00Z","extra":{"a":[1,2]}}',
];

const WRONG_TYPES = [
  '{"pid":"1234"}',
  '{"pid":12.5}',
  '{"pid":-1}',
  '{"pid":0}',
  '{"pid":4194305}',
  '{"pid":1e400}',
  '{"pid":null}',
  '{"pid":true}',
  '{"pid":[1]}',
  '{"pid":{"pid":1}}',
  '{"pid":1,"startTime":"x"}',
  '{"pid":1,"startTime":-5}',
  '{"pid":1,"ppid":1.5}',
  '{"pid":1,"argv":"sh"}',
  '{"pid":1,"argv":[1,2]}',
  '{"pid":1,"bootId":7}',
  '{"pid":1,"hostname":{}}',
  '{"pid":1,"format":"json","__proto__":{"pid":2}}',
  '{"__proto__":{"pid":5}}',
  '{"pid":1,"constructor":1,"toString":2,"hasOwnProperty":3}',
  '{"pid":1,"pid":"dup"}',
  "[1234]",
  '"1234"',
  "null",
  "12 34",
  "+1234",
  "0x10",
  "1234abc",
  "\u0661\u0662\u0663",
  "\uff11\uff12\uff13",
  "00000000000000000000000000000000000000000001",
  "99999999999999999999999999999999999999999999",
  "-0",
  "1234\x00",
  "\x001234",
  "12\x0034",
  "\ufeff1234",
  "1234\n5678\n",
  "\n\n\n1234",
  " 1234",
  "1234\t \r\n\r\n",
];

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b.subarray(0, Math.min(n, 65536)));
  return b;
}

function mutate(base: Uint8Array): Uint8Array {
  const b = [...base];
  const edits = randInt(1, 4);
  for (let i = 0; i < edits; i++) {
    const at = randInt(0, b.length);
    switch (randInt(0, 4)) {
      case 0:
        b[at] = randInt(0, 255);
        break;
      case 1:
        b.splice(at, 0, pick([0, 0x7b, 0x7d, 0x22, 0x3a, 0x2c, 0x5b, 0xff, 0x0a, 0x2d, 0x30]));
        break;
      case 2:
        b.splice(at, 1);
        break;
      case 3:
        b.length = Math.min(b.length, at);
        break;
      default:
        b.splice(at, 0, ...b.slice(0, randInt(0, b.length)));
    }
  }
  return Uint8Array.from(b.filter((x) => x !== undefined).map((x) => x & 0xff));
}

/** Big and pathological inputs, made once. */
function specials(): { name: string; bytes: Uint8Array }[] {
  const deep = (n: number) => `{"pid":1,"x":${"[".repeat(n)}${"]".repeat(n)}}`;
  return [
    { name: "64 KiB of digits", bytes: enc.encode("1".repeat(65536)) },
    { name: "64 KiB + 1 of spaces after a PID", bytes: enc.encode("12" + " ".repeat(65535)) },
    { name: "1 MiB of NULs", bytes: new Uint8Array(1 << 20) },
    { name: "nesting 10k deep", bytes: enc.encode(deep(10_000)) },
    { name: "nesting 32k deep", bytes: enc.encode(deep(32_000)) },
    {
      name: "object nesting 16k deep",
      bytes: enc.encode(`{"pid":1,"x":${'{"a":'.repeat(12_000)}1${"}".repeat(12_000)}}`),
    },
    {
      name: "60 KiB of keys",
      bytes: enc.encode(
        `{"pid":1,${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
      ),
    },
    { name: "lone surrogates", bytes: enc.encode('{"pid":1,"x":"\\ud800\\udfff\\ud800"}') },
    { name: "invalid UTF-8", bytes: Uint8Array.from([0x31, 0x32, 0xc3, 0x28, 0x0a]) },
    { name: "UTF-16 BOM", bytes: Uint8Array.from([0xff, 0xfe, 0x31, 0x00]) },
  ];
}

function check(tally: Tally, what: string, fn: () => PidRecord): void {
  const t0 = performance.now();
  try {
    const r = fn();
    if (!isValidPid(r.pid) || (r.format !== "plain" && r.format !== "json")) {
      tally.violation(`${what}: accepted an invalid record ${JSON.stringify(r).slice(0, 80)}`);
    }
  } catch (err) {
    if (!(err instanceof PidFileError)) {
      tally.violation(`${what}: threw ${String(err).slice(0, 120)} instead of a PidFileError`);
    } else if (err.message.includes("\n")) {
      tally.violation(`${what}: a multi-line error message`);
    }
  }
  const ms = performance.now() - t0;
  if (ms > 1000) tally.violation(`${what}: took ${ms.toFixed(0)} ms`);
}

async function checkAsync(tally: Tally, what: string, fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof PidFileError)) {
      tally.violation(`${what}: threw ${String(err).slice(0, 120)} instead of a PidFileError`);
    }
  }
  const ms = performance.now() - t0;
  if (ms > 2000) tally.violation(`${what}: took ${ms.toFixed(0)} ms`);
}

/** Random inputs of every kind; the same list feeds `pidkit status` later. */
export function fuzzInputs(n: number): { name: string; bytes: Uint8Array }[] {
  const out = specials();
  for (const t of WRONG_TYPES) {
    out.push({ name: `wrong: ${JSON.stringify(t)}`, bytes: enc.encode(t) });
  }
  for (let i = 0; out.length < n; i++) {
    const kind = i % 3;
    if (kind === 0) out.push({ name: `random #${i}`, bytes: randomBytes(randInt(0, 300)) });
    else {
      const base = enc.encode(pick(kind === 1 ? VALID : WRONG_TYPES));
      out.push({ name: `mutated #${i}`, bytes: mutate(base) });
    }
  }
  return out;
}

export const badFiles: Scenario = {
  name: "bad-files",
  shows:
    "random, mutated, huge, NUL-filled, deeply nested and wrongly typed PID files: the parser, " +
    "readPidFile and probe give a valid record or a one-line PidFileError, never a crash or hang.",
  async run(options) {
    const tally = new Tally();
    const inMemory = rounds(options, 30_000, 3_000);
    const onDisk = rounds(options, 1_500, 150);
    const inputs = fuzzInputs(inMemory);
    for (const { name, bytes } of inputs) {
      tally.rounds++;
      tally.faults++;
      check(tally, `parse ${name}`, () => decodePidRecord(bytes, "/x.pid"));
    }
    await using dir = tempDir("pidkit-torture-");
    const path = dir.join("fuzz.pid");
    for (const { name, bytes } of inputs.slice(0, onDisk)) {
      tally.rounds++;
      Deno.writeFileSync(path, bytes);
      await checkAsync(tally, `readPidFile ${name}`, () => readPidFile(path));
      await checkAsync(tally, `probe ${name}`, () => probe(path));
    }
    // A sparse 1 GiB file: nothing may read it all.
    Deno.truncateSync(path, 1 << 30);
    await checkAsync(tally, "readPidFile 1 GiB sparse", () => readPidFile(path));
    await checkAsync(tally, "probe 1 GiB sparse", () => probe(path));
    tally.rounds++;
    return tally.result();
  },
};
