/**
 * `pidkit logs NAME [-n N] [-f]`: the last N lines of the service's log,
 * read from the end of the file (a large log costs no more than a small
 * one); with `-f`, new output as it arrives, across restarts and across log
 * rotation (the file replaced or truncated), until SIGINT (exit 0).
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import { readServiceRecord } from "../service/service_record.ts";
import { resolveRunDir, servicePaths, validateName } from "../service/run_dir.ts";
import { EXIT } from "./io.ts";
import { logSeries } from "../service/log_rotation.ts";
import type { CommandInput } from "./spec.ts";
import { delay } from "../os/delay.ts";

const CHUNK = 64 * 1024;
const POLL_MS = 100;
const NL = 10;

/** `pidkit logs`. */
export async function run(input: CommandInput): Promise<number> {
  const name = validateName(input.positionals[0]);
  const lines = parseLines(input.values.lines as string | undefined);
  const follow = input.values.follow === true;
  const dir = resolveRunDir({ dir: input.values.dir as string | undefined });
  const paths = servicePaths(dir, name);
  const state = await readServiceRecord(paths.state).catch(() => undefined);
  const path = state?.log ?? paths.log;
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw openError(path, err);
    if (!follow) throw new PidkitError(`no log for ${name}: ${path} does not exist`);
  }
  try {
    if (file) await writeOut(await withKeptLines(path, await tail(file, lines), lines));
    if (!follow) return EXIT.ok;
    Deno.addSignalListener("SIGINT", () => Deno.exit(EXIT.ok));
    await followFile(path, file);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return EXIT.ok; // e.g. `pidkit logs web | head`
    throw err;
  } finally {
    try {
      file?.close();
    } catch { /* closed while following */ }
  }
}

/**
 * `recent` (the last lines of the current log) preceded by lines of the
 * rotated files (NAME.log.1, .2, ...) when it has fewer than `n`. A number
 * missing between them (a file someone removed: pidkit's rotation leaves no
 * hole) is read past, and said so on stderr.
 */
async function withKeptLines(path: string, recent: Uint8Array, n: number): Promise<Uint8Array> {
  let have = countLines(recent);
  const parts = [recent];
  const { files, missing } = have < n ? logSeries(path) : { files: [], missing: [] };
  const skipped: number[] = [];
  for (const older of files) {
    const number = Number(older.slice(path.length + 1));
    skipped.push(...missing.filter((m) => m < number && !skipped.includes(m)));
    try {
      using f = await Deno.open(older, { read: true });
      const more = await tail(f, n - have);
      parts.unshift(more);
      have += countLines(more);
    } catch { /* rotated away meanwhile */ }
    if (have >= n) break;
  }
  if (skipped.length > 0) {
    console.error(
      `pidkit: ${skipped.map((m) => `${path}.${m}`).join(", ")} ${
        skipped.length === 1 ? "is" : "are"
      } missing (removed by something other than pidkit); older lines are from the files past it`,
    );
  }
  return concat(parts);
}

function countLines(bytes: Uint8Array): number {
  let lines = 0;
  for (const b of bytes) if (b === NL) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== NL) lines++;
  return lines;
}

function parseLines(text: string | undefined): number {
  if (text === undefined) return 20;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`bad line count '${text}' (use a number, e.g. -n 50)`);
  }
  return Number(text);
}

function openError(path: string, err: unknown): PidkitError {
  if (err instanceof Deno.errors.PermissionDenied) {
    return new PidkitError(`cannot read ${path}: permission denied`);
  }
  return new PidkitError(`cannot read ${path}: ${(err as Error).message}`);
}

/**
 * The last `n` lines of `file`, reading backwards in 64 KiB chunks until
 * enough newlines are seen. Leaves the file position at the end.
 */
export async function tail(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const size = (await file.stat()).size;
  if (n === 0 || size === 0) {
    await file.seek(size, Deno.SeekMode.Start);
    return new Uint8Array(0);
  }
  const chunks: Uint8Array[] = [];
  let pos = size;
  let newlines = 0;
  let start = 0;
  let first = true;
  outer: while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = await readAt(file, pos, len);
    chunks.unshift(buf);
    // A newline that ends the file does not start another line.
    for (let i = buf.length - 1; i >= 0; i--) {
      if (first) {
        first = false;
        if (buf[i] === NL) continue;
      }
      if (buf[i] === NL && ++newlines === n) {
        start = pos + i + 1;
        break outer;
      }
    }
  }
  const all = concat(chunks);
  await file.seek(size, Deno.SeekMode.Start);
  return all.subarray(start - pos);
}

async function readAt(file: Deno.FsFile, pos: number, len: number): Promise<Uint8Array> {
  await file.seek(pos, Deno.SeekMode.Start);
  const buf = new Uint8Array(len);
  let off = 0;
  while (off < len) {
    const n = await file.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  return buf.subarray(0, off);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  chunks = chunks.filter((c) => c.length > 0);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function writeOut(bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}

/** Copy `file` from its position to EOF onto stdout. */
async function drain(file: Deno.FsFile): Promise<void> {
  const buf = new Uint8Array(CHUNK);
  while (true) {
    const n = await file.read(buf);
    if (n === null || n === 0) return;
    await writeOut(buf.subarray(0, n));
  }
}

/**
 * Follow `path` for ever: new bytes of the open file; when the path names
 * another file (rotated and recreated), the rest of the old one, then the
 * new one from its start; when the file shrank (truncated), from its start.
 */
async function followFile(path: string, file: Deno.FsFile | undefined): Promise<never> {
  let ino = file ? (await file.stat()).ino : undefined;
  while (true) {
    if (file) await drain(file);
    await delay(POLL_MS);
    let st: Deno.FileInfo | undefined;
    try {
      st = await Deno.stat(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw openError(path, err);
    }
    if (st && st.ino !== ino) {
      if (file) {
        await drain(file);
        file.close();
      }
      file = undefined;
      try {
        file = await Deno.open(path, { read: true });
        ino = (await file.stat()).ino;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw openError(path, err);
      }
      continue;
    }
    if (file) {
      const size = (await file.stat()).size;
      const pos = await file.seek(0, Deno.SeekMode.Current);
      if (size < pos) await file.seek(0, Deno.SeekMode.Start);
    }
  }
}
