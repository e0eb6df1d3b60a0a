/**
 * `up` with nothing to do, the short way: when the declaration file and its
 * env files are what the last complete `up` read (the stamp keeps what it
 * read, see up_stamp.ts), the file need not be validated nor resolved: the
 * stamp has every service's hash. What remains is to see that each of them runs
 * from this file with that hash (its record) under a held lock (its PID
 * file). Anything else, or any doubt, and the caller goes the long way
 * (`upStack`), which says what to do about it.
 *
 * Every module this one imports is on the path of `up` with nothing to do,
 * whose cost is measured against the runtime's start-up (issue 19): keep
 * them few and small. So are the runtime calls: the first call of each
 * kind costs (a first `Deno.statSync` about 0.5 ms, a first WebCrypto
 * digest about 1 ms), hence a file found by reading it, a record read as
 * plain JSON and a source compared as text.
 *
 * @module
 */

import { absolutePath, parentDir } from "../os/paths.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";
import type { ServiceRecord } from "../service/model/service_record.ts";
import { isProcfileName, STACK_FILE_NAMES } from "./stack_file.ts";
import type { UpResult, UpServiceResult } from "./up.ts";
import { readUpStamp, sameSource } from "./up_stamp.ts";

/**
 * Options of {@linkcode quickUp}.
 *
 * @example
 * ```ts
 * import type { QuickUpOptions } from "./quick_up.ts";
 * const options: QuickUpOptions = { file: "pidkit.jsonc", dir: "/run/pidkit" };
 * console.log(options.file);
 * ```
 */
export interface QuickUpOptions {
  /** The declaration file (`-c`); default: found in `cwd`. */
  file?: string;
  /** Where relative paths start and the file is looked for (default the working directory). */
  cwd?: string;
  /** The run directory (`--dir`); default the file's `dir`, else as `start` finds it. */
  dir?: string;
}

/**
 * The result of `up` (as {@linkcode upStack} returns it, every service
 * `unchanged`) when the run directory provably runs the file as declared,
 * else `undefined`: then only `upStack` can tell. Never starts, stops or
 * writes anything; never throws for a file it cannot read or parse (the
 * long way reports those).
 *
 * @example
 * ```ts
 * import { quickUp } from "./quick_up.ts";
 * const result = quickUp({ file: "/srv/app/pidkit.jsonc" });
 * console.log(result ? "nothing to do" : "go the long way (upStack)");
 * ```
 */
export function quickUp(options: QuickUpOptions = {}): UpResult | undefined {
  const found = readStackFile(options.cwd ?? Deno.cwd(), options.file);
  if (found === undefined) return undefined;
  const { file, text } = found;
  const dir = runDir(file, text, options.dir);
  if (dir === undefined) return undefined;
  // Not while another up or down changes things (that one is waited for the
  // long way); and the stamp is read under the lock, so it is the last one.
  const lock = tryLock(`${dir}/stack.lock`);
  if (lock === undefined) return undefined;
  try {
    const stamp = readUpStamp(dir, file);
    if (stamp === undefined || stamp.services.length === 0) return undefined;
    const envFiles = stamp.source.envFiles.map((
      [p],
    ): [string, string | null] => [p, readOrNull(p)]);
    if (!sameSource(stamp.source, { kind: "jsonc", text, envFiles })) return undefined;
    const services: UpServiceResult[] = [];
    for (const { name, hash } of stamp.services) {
      const pid = runningPid(dir, name, file, hash);
      if (pid === false) return undefined;
      services.push({ name, action: "unchanged", reason: "unchanged", ...(pid ? { pid } : {}) });
    }
    return { file, dir, dryRun: false, changed: false, ok: true, services };
  } finally {
    lock.close();
  }
}

/**
 * The declaration's path and text: `given` (relative to `cwd`), else the
 * first of pidkit.jsonc and pidkit.json in `cwd` that reads (no stat: the
 * read says). `undefined` for a Procfile, or for anything the long way
 * must report (unreadable, a directory, nothing found).
 */
function readStackFile(cwd: string, given?: string): { file: string; text: string } | undefined {
  const candidates = given !== undefined ? [given] : STACK_FILE_NAMES;
  for (const name of candidates) {
    const file = absolutePath(name, cwd);
    if (isProcfileName(file)) return undefined;
    try {
      return { file, text: Deno.readTextFileSync(file) };
    } catch (err) {
      if (given !== undefined || !(err instanceof Deno.errors.NotFound)) return undefined;
    }
  }
  return undefined;
}

/**
 * The run directory `up` of this text uses: `given` (`--dir`), else the
 * file's `"dir"`, else as `start` finds it; created and checked as `up`
 * does (a directory another user could write is refused). `undefined` when
 * it cannot be had.
 */
function runDir(file: string, text: string, given?: string): string | undefined {
  let fileDir: string | undefined;
  if (given === undefined) {
    const declared = declaredDir(text);
    if (declared === false) return undefined;
    if (declared !== undefined) fileDir = absolutePath(declared, parentDir(file));
  }
  try {
    return resolveRunDir({ dir: given ?? fileDir, create: true });
  } catch {
    return undefined;
  }
}

// A JSON string, a comment, a byte order mark; then a string or a trailing comma.
const COMMENT_OR_BOM = /"(?:[^"\\]|\\.)*"|\/\/[^\n]*|\/\*[\s\S]*?\*\/|\uFEFF/g;
const TRAILING_COMMA = /"(?:[^"\\]|\\.)*"|,(?=\s*[}\]])/g;

/**
 * The top-level `"dir"` of a JSONC text, read without loading the parser:
 * comments, byte order marks and trailing commas dropped (strings kept as
 * they are), then `JSON.parse`. For a valid declaration that is the value
 * the parser gives; anything it cannot read (`false`) goes the long way.
 * An invalid text is harmless here: only a stamp holding this very text
 * lets the short way answer, and only a valid text gets one.
 */
function declaredDir(text: string): string | undefined | false {
  // Only a `"dir"` key (spelt so, or with escapes) can name the run directory.
  if (!text.includes('"dir"') && !text.includes("\\")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(
      text.replace(COMMENT_OR_BOM, (m) => m[0] === '"' ? m : " ")
        .replace(TRAILING_COMMA, (m) => m[0] === '"' ? m : ""),
    );
  } catch {
    return false;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const dir = (value as { dir?: unknown }).dir;
  return dir === undefined ? undefined : typeof dir === "string" ? dir : false;
}

/**
 * The main PID of service `name` when its record says it runs from `file`
 * with `hash` and its PID file's lock is held (by its supervisor):
 * `undefined` when it runs without a known main PID, `false` when any of
 * it does not hold.
 */
function runningPid(
  dir: string,
  name: string,
  file: string,
  hash: string,
): number | undefined | false {
  // Plain JSON, not readServiceRecordSync: only these fields are looked at,
  // and anything unexpected in them is a "no".
  let record: Partial<ServiceRecord> | null;
  try {
    record = JSON.parse(Deno.readTextFileSync(`${dir}/${name}.json`));
  } catch {
    return false;
  }
  if (
    typeof record !== "object" || record === null || record.name !== name ||
    record.phase !== "running" || record.stopper !== undefined ||
    record.origin?.file !== file || record.origin.hash !== hash ||
    typeof record.pidfile !== "string"
  ) return false;
  let pidfile: Deno.FsFile;
  try {
    pidfile = Deno.openSync(record.pidfile, { read: true });
  } catch {
    return false;
  }
  try {
    // A shared lock we can take means nobody holds the exclusive one: it does not run.
    if (pidfile.tryLockSync(false)) return false;
    const n = pidfile.readSync(PID_BUFFER) ?? 0;
    const text = DECODER.decode(PID_BUFFER.subarray(0, n)).trim();
    return /^[1-9]\d*$/.test(text) ? Number(text) : undefined;
  } catch {
    return false;
  } finally {
    pidfile.close();
  }
}

const PID_BUFFER = new Uint8Array(32);
const DECODER = new TextDecoder();

/** `path` opened and locked exclusively without waiting, or `undefined` (missing, held). */
function tryLock(path: string): Deno.FsFile | undefined {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true, write: true });
  } catch {
    return undefined;
  }
  try {
    if (f.tryLockSync(true)) return f;
  } catch { /* as held */ }
  f.close();
  return undefined;
}

function readOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}
