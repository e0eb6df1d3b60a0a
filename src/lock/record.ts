/**
 * The content of a PID file: parse and serialize.
 *
 * Two formats. `plain` is the decimal PID and a newline, what
 * `kill $(cat FILE)`, systemd's `PIDFile=`, start-stop-daemon and libbsd
 * read. `json` is one JSON object with the PID and what identifies the
 * process beyond it (start time, boot id, PID namespace...), plus any extra
 * fields the caller adds. The reader accepts both and rejects anything else.
 *
 * @module
 */

import { FileError, UsageError } from "../os/errors.ts";
import { readBootId, readCmdline, readPidNamespace, readProcStat } from "../os/proc.ts";
import { isValidPid, MAX_PID, parsePlainPid, PLAIN_PID } from "./plain_pid.ts";

// Part of the record format's surface; defined in plain_pid.ts (see there why).
export { isValidPid, MAX_PID, parsePlainPid };

/**
 * What a PID file says. `format` tells which format it was read from (or
 * will be written in); it is not itself written to the file.
 *
 * Every field but `pid` and `format` comes from the `json` format only, and
 * each may be missing: the writer leaves out what it could not read (no
 * `/proc` on macOS, or a Deno process without `-A`).
 *
 * @example
 * ```ts
 * import { type PidRecord, readPidFile } from "@pidkit/pidkit";
 * const record: PidRecord = await readPidFile("/run/app.pid");
 * console.log(record.pid, record.format, record.startTime);
 * ```
 */
export interface PidRecord {
  /** The recorded process id. */
  pid: number;
  /** Its parent's process id. */
  ppid?: number;
  /** Its start time after boot in clock ticks (field 22 of `/proc/PID/stat`). */
  startTime?: number;
  /** The boot id of the machine when the record was written. */
  bootId?: string;
  /** The inode of the writer's `/proc/PID/ns/pid`: which PID namespace `pid` belongs to. */
  pidNamespace?: number;
  /** The host name when the record was written. */
  hostname?: string;
  /** The recorded process's command line. */
  argv?: string[];
  /** When the record was written (ISO 8601). */
  createdAt?: string;
  /** The format the record was read from or is written in. */
  format: "plain" | "json";
  /** Extra fields (the `data` given to `PidFile.acquire`). */
  [extra: string]: unknown;
}

/** The largest PID file pidkit reads; anything bigger is not a PID record. */
export const MAX_RECORD_BYTES = 64 * 1024;

/** Field names of the json format that `data` may not override. */
const RESERVED = new Set([
  "pid",
  "ppid",
  "startTime",
  "bootId",
  "pidNamespace",
  "hostname",
  "argv",
  "createdAt",
  "format",
]);

/**
 * Check `data` for the json format before any file is touched: an object
 * (not an array or null) that JSON can write (no BigInt, no cycle), no
 * field of the format itself, small enough for a record. Throws
 * {@linkcode UsageError} naming `data`.
 */
export function checkRecordData(data: unknown): void {
  if (data === undefined) return;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UsageError(`data must be an object, got ${data === null ? "null" : typeof data}`);
  }
  for (const key of Object.keys(data)) {
    if (RESERVED.has(key)) {
      throw new UsageError(`data must not set "${key}", a field of the PID file format; rename it`);
    }
  }
  let text: string;
  try {
    text = JSON.stringify(data);
  } catch (err) {
    throw new UsageError(`data must be JSON values only: ${(err as Error).message.split("\n")[0]}`);
  }
  if (new TextEncoder().encode(text).length > MAX_RECORD_BYTES - 1024) {
    throw new UsageError(`data must fit a record of ${MAX_RECORD_BYTES} bytes; send less data`);
  }
}

/**
 * Parse the text of a PID file, in either format. Trailing whitespace is
 * tolerated; anything else that is not a PID record (empty, negative, zero,
 * fractional or out-of-range PIDs, binary junk, more than 64 KiB) throws a
 * {@linkcode FileError} with reason `"bad-content"` naming `path`.
 *
 * @example
 * ```ts
 * import { parsePidRecord } from "./record.ts";
 * console.log(parsePidRecord("1234\n").pid); // 1234
 * console.log(parsePidRecord('{"pid":1234,"startTime":99}').startTime); // 99
 * ```
 */
export function parsePidRecord(text: string, path = "PID file"): PidRecord {
  const bad = (what: string) =>
    new FileError(
      path,
      "bad-content",
      `${path} is not a PID file (${what}); remove it if no process holds it`,
    );
  if (text.length > MAX_RECORD_BYTES) throw bad(`more than ${MAX_RECORD_BYTES} bytes`);
  const body = text.replace(/[ \t\r\n]+$/, "");
  if (body === "") throw bad("empty");
  if (PLAIN_PID.test(body)) {
    const pid = parsePlainPid(body);
    if (pid === undefined) throw bad(`PID ${body} out of range 1..${MAX_PID}`);
    return { pid, format: "plain" };
  }
  if (body[0] !== "{") throw bad(describe(body));
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw bad("invalid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw bad("JSON is not an object");
  }
  const obj = value as Record<string, unknown>;
  if (!isValidPid(obj.pid)) throw bad(`"pid" ${JSON.stringify(obj.pid)} is not a valid PID`);
  const problem = checkKnownFields(obj);
  if (problem) throw bad(problem);
  return { ...obj, pid: obj.pid, format: "json" };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parse the raw bytes of a PID file: like {@linkcode parsePidRecord}, but
 * bytes that are not UTF-8 are reported as binary data.
 */
export function decodePidRecord(bytes: Uint8Array, path = "PID file"): PidRecord {
  let text: string;
  try {
    if (bytes.length > MAX_RECORD_BYTES) text = "x".repeat(MAX_RECORD_BYTES + 1);
    else text = utf8.decode(bytes);
  } catch {
    throw new FileError(
      path,
      "bad-content",
      `${path} is not a PID file (binary data); remove it if no process holds it`,
    );
  }
  return parsePidRecord(text, path);
}

/**
 * Why content found in an unlocked file must not be overwritten by a new
 * holder, or `undefined` when it may be: nothing, a PID record (stale), or
 * what a crash or a corrupt write leaves in a PID file (binary junk, a
 * number that is no valid PID, a JSON record cut short or with wrong
 * fields). Other text, or anything over 64 KiB, is somebody's file given as
 * a PID file path by mistake (`--pidfile /etc/hosts`), which libbsd's
 * pidfile_open and start-stop-daemon would truncate.
 *
 * @example
 * ```ts
 * import { takeoverRefusal } from "./record.ts";
 * const enc = (s: string) => new TextEncoder().encode(s);
 * console.log(takeoverRefusal(enc("1234\n")));       // undefined: a stale record
 * console.log(takeoverRefusal(enc("127.0.0.1 localhost\n"))); // "it holds text ..."
 * ```
 */
export function takeoverRefusal(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return undefined;
  if (bytes.length > MAX_RECORD_BYTES) return `it has more than ${MAX_RECORD_BYTES} bytes`;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined; // binary junk
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0e-\x1f\x7f]/.test(text)) return undefined; // control bytes: junk
  const body = text.trim();
  if (/^[-+]?\d*(\.\d*)?$/.test(body)) return undefined; // a number, valid PID or not
  if (body.startsWith("{") || body.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      // Cut short: ours if it starts the way a record does.
      return /^\{\s*"pid"\s*:/.test(body) ? undefined : "it holds JSON that is not a PID record";
    }
    const isRecord = typeof value === "object" && value !== null && !Array.isArray(value) &&
      "pid" in value;
    return isRecord ? undefined : "it holds JSON that is not a PID record";
  }
  return `it holds text that is not a PID record (${describe(body)})`;
}

/** The first known field with the wrong type, described, or undefined. */
function checkKnownFields(obj: Record<string, unknown>): string | undefined {
  const numeric = ["ppid", "startTime", "pidNamespace"];
  for (const key of numeric) {
    const v = obj[key];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= 0)) {
      return `"${key}" is not a non-negative integer`;
    }
  }
  for (const key of ["bootId", "hostname", "createdAt"]) {
    if (obj[key] !== undefined && typeof obj[key] !== "string") return `"${key}" is not a string`;
  }
  const argv = obj.argv;
  if (argv !== undefined && !(Array.isArray(argv) && argv.every((a) => typeof a === "string"))) {
    return `"argv" is not a list of strings`;
  }
  return undefined;
}

/** A short, printable description of unexpected content. */
function describe(body: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0e-\x1f\x7f\ufffd]/.test(body)) return "binary data";
  const first = body.split("\n")[0];
  return `content ${JSON.stringify(first.length > 40 ? `${first.slice(0, 40)}...` : first)}`;
}

/**
 * The text to write for a record: `"PID\n"` for `plain`, one line of JSON
 * (without `format`) for `json`.
 *
 * @example
 * ```ts
 * import { formatPidRecord } from "./record.ts";
 * console.log(formatPidRecord({ pid: 1234, format: "plain" })); // "1234\n"
 * ```
 */
export function formatPidRecord(record: PidRecord): string {
  if (record.format === "plain") return `${record.pid}\n`;
  const { format: _format, ...fields } = record;
  return `${JSON.stringify(fields)}\n`;
}

/** Options for {@linkcode buildRecord}. */
export interface BuildRecordOptions {
  pid: number;
  format: "plain" | "json";
  data?: Record<string, unknown>;
  createdAt?: string;
}

/**
 * The record describing process `pid`, as of now. For `json` it reads what
 * it can (parent, start time and command line from `/proc/PID`, boot id, PID
 * namespace, host name) and leaves out what it cannot read.
 */
export function buildRecord(options: BuildRecordOptions): PidRecord {
  const { pid, format, data } = options;
  if (format === "plain") return { pid, format };
  for (const key of Object.keys(data ?? {})) {
    if (RESERVED.has(key)) {
      throw new UsageError(`data must not set "${key}", a field of the PID file format; rename it`);
    }
  }
  const st = quiet(() => readProcStat(pid));
  const record: PidRecord = {
    pid,
    ppid: st?.ppid ?? (pid === Deno.pid ? quiet(() => Deno.ppid) : undefined),
    startTime: st?.startTime,
    bootId: quiet(readBootId),
    pidNamespace: quiet(() => readPidNamespace(pid)),
    hostname: quiet(Deno.hostname),
    argv: quiet(() => readCmdline(pid)),
    createdAt: options.createdAt ?? new Date().toISOString(),
    ...data,
    format,
  };
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record;
}

/** `fn()`, or undefined when it throws (no `/proc`, no permission). */
function quiet<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
