/**
 * Reading and writing the record of a PID file through its open descriptor:
 * step 6 of the lock protocol (docs/pid_files.md, "The lock protocol") and
 * the reads of probes and waiters.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import { fileError } from "./_file_errors.ts";
import { hooks } from "./_hooks.ts";
import { formatPidRecord, MAX_RECORD_BYTES } from "./record.ts";
import type { PidRecord } from "./record.ts";

/** Step 6: truncate, write, fsync (unless `durable` is false). */
export function writeRecord(
  file: Deno.FsFile,
  path: string,
  record: PidRecord,
  phase: "acquire" | "update",
  durable = true,
): void {
  const bytes = new TextEncoder().encode(formatPidRecord(record));
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new UsageError(
      `data must fit a record of ${MAX_RECORD_BYTES} bytes, got ${bytes.length} for ${path}; send less data`,
    );
  }
  try {
    file.truncateSync(0);
    hooks.step?.(`${phase}:truncated`);
    file.seekSync(0, Deno.SeekMode.Start);
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    hooks.step?.(`${phase}:written`);
    if (durable) file.syncDataSync();
    hooks.step?.(`${phase}:synced`);
  } catch (err) {
    try {
      file.truncateSync(0); // empty reads as "no PID yet", half a record as garbage
    } catch { /* the error below says what happened */ }
    throw fileError(path, err, "write");
  }
}

const readBuffer = new Uint8Array(4096);

/**
 * Read the whole file (at most MAX_RECORD_BYTES + 1 bytes) from the start.
 * The result may be a view of a shared buffer: decode it before the next read.
 */
export function readContent(file: Deno.FsFile, path: string): Uint8Array {
  try {
    file.seekSync(0, Deno.SeekMode.Start);
    // A PID record is a few bytes; grow only for the odd big file.
    let buf = readBuffer;
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len > MAX_RECORD_BYTES) break;
        const bigger = new Uint8Array(Math.min(buf.length * 4, MAX_RECORD_BYTES + 1));
        bigger.set(buf);
        buf = bigger;
      }
      const n = file.readSync(buf.subarray(len));
      if (n === null || n === 0) break;
      len += n;
    }
    return buf.subarray(0, len);
  } catch (err) {
    throw fileError(path, err, "read");
  }
}
