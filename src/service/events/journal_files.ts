/**
 * The journal's files in a run directory (`DIR/events/events.jsonl` and its
 * rotated `events.jsonl.N`) and its lines: what the writer
 * (event_journal.ts) and the readers (read_events.ts, follow_events.ts)
 * share. The journal has a directory of its own so that followers can
 * watch it (see _file_wakeup.ts) without being woken by every log write.
 *
 * @module
 */

import { FileError } from "../../os/errors.ts";
import { rotatedPath } from "../output/log_rotation.ts";
import { tailBytes } from "../output/log_reader.ts";
import type { ServiceEvent } from "../model/service_event.ts";

/** The journal's directory in a run directory. */
export const EVENTS_DIR = "events";
/** The journal's file name in its directory. */
export const EVENTS_FILE = "events.jsonl";

/**
 * The journal's path in run directory `dir`.
 *
 * @example
 * ```ts
 * import { eventsPath } from "./journal_files.ts";
 * console.log(eventsPath("/run/pidkit")); // "/run/pidkit/events/events.jsonl"
 * ```
 */
export function eventsPath(dir: string): string {
  return `${dir}/${EVENTS_DIR}/${EVENTS_FILE}`;
}

const decoder = new TextDecoder();

/**
 * One journal line as an event, or undefined when it is not one (empty,
 * cut short, not JSON, or without `service` and `kind`).
 *
 * @example
 * ```ts
 * import { parseEventLine } from "./journal_files.ts";
 * parseEventLine('{"seq":1,"time":"2026-01-01T00:00:00.000Z","service":"web","kind":"ready"}');
 * parseEventLine('{"seq":2,"ti'); // undefined
 * ```
 */
export function parseEventLine(line: string): ServiceEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const event = value as Record<string, unknown>;
  if (typeof event.service !== "string" || typeof event.kind !== "string") return undefined;
  if (typeof event.time !== "string") return undefined;
  return event as unknown as ServiceEvent;
}

/**
 * The journal files at `path` that exist, opened, oldest first (`PATH.N`
 * ... `PATH.1`, `PATH`). They are opened newest first, `PATH`, `PATH.1`,
 * ...: a rotation meanwhile moves every file the same way, so none is
 * passed over; one met twice (same inode) is kept once.
 * Throws `FileError` (reason `permission`) for a journal this user may
 * not read (another user's run directory).
 *
 * @example
 * ```ts
 * import { eventsPath, openJournalFiles } from "./journal_files.ts";
 * const files = await openJournalFiles(eventsPath("/tmp/pidkit-example"));
 * for (const { file, path } of files) {
 *   console.log(path);
 *   file.close();
 * }
 * ```
 */
export async function openJournalFiles(
  path: string,
): Promise<{ file: Deno.FsFile; path: string; ino: number | null }[]> {
  const out: { file: Deno.FsFile; path: string; ino: number | null }[] = [];
  for (let k = 0;; k++) {
    const name = k === 0 ? path : rotatedPath(path, k);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(name, { read: true });
    } catch (err) {
      if (k === 0 && err instanceof Deno.errors.NotFound) continue; // rotated files may still be there
      if (err instanceof Deno.errors.NotFound) break;
      for (const o of out) o.file.close();
      if (err instanceof Deno.errors.PermissionDenied) {
        // Another user's run directory (events/ is world-searchable, the journal is not).
        throw new FileError(
          name,
          "permission",
          `cannot read the events of ${name}: permission denied`,
        );
      }
      throw err;
    }
    const { ino } = await file.stat();
    if (out.some((o) => o.ino === ino)) file.close();
    else out.push({ file, path: name, ino });
  }
  return out.reverse();
}

/**
 * The last `seq` in the journal at `path` (0: none), read from the end of
 * `file` (the current one, open for reading) or, when it has no event yet,
 * of the rotated ones; and whether `file` ends in an unfinished line.
 *
 * @example
 * ```ts
 * import { eventsPath, lastEventSeq } from "./journal_files.ts";
 * const path = eventsPath("/tmp/pidkit-example");
 * await Deno.mkdir("/tmp/pidkit-example/events", { recursive: true });
 * using file = await Deno.open(path, { read: true, append: true, create: true });
 * console.log(await lastEventSeq(path, file)); // e.g. { seq: 0, unfinished: false }
 * ```
 */
export async function lastEventSeq(
  path: string,
  file: Deno.FsFile,
): Promise<{ seq: number; unfinished: boolean }> {
  const { bytes } = await tailBytes(file, 16);
  const unfinished = bytes.length > 0 && bytes[bytes.length - 1] !== 10;
  let seq = lastSeqIn(bytes);
  for (let k = 1; seq === undefined; k++) {
    try {
      using older = await Deno.open(rotatedPath(path, k), { read: true });
      seq = lastSeqIn((await tailBytes(older, 16)).bytes);
    } catch {
      break;
    }
  }
  return { seq: seq ?? 0, unfinished };
}

function lastSeqIn(bytes: Uint8Array): number | undefined {
  const lines = decoder.decode(bytes).split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const seq = parseEventLine(lines[i])?.seq;
    if (typeof seq === "number" && Number.isSafeInteger(seq)) return seq;
  }
  return undefined;
}

/**
 * The whole of `file` from where it stands.
 *
 * @example
 * ```ts
 * import { readAll } from "./journal_files.ts";
 * await Deno.writeTextFile("/tmp/demo.txt", "a line\n");
 * using file = await Deno.open("/tmp/demo.txt");
 * console.log(new TextDecoder().decode(await readAll(file))); // "a line\n"
 * ```
 */
export async function readAll(file: Deno.FsFile): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await file.read(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
    size += n;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
