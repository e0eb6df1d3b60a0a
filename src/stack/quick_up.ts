/**
 * `up` with nothing to do, the short way: when the declaration file and its
 * env files are what the last complete `up` read (the stamp's fingerprint,
 * see up_stamp.ts), the file need not be validated nor resolved: the stamp
 * has every service's hash. What remains is to see that each of them runs
 * from this file with that hash (its record) under a held lock (its PID
 * file). Anything else, or any doubt, and the caller goes the long way
 * (`upStack`), which says what to do about it.
 *
 * Every module this one imports is on the path of `up` with nothing to do,
 * whose cost is measured against the runtime's start-up (issue 19): keep
 * them few and small.
 *
 * @module
 */

import { absolutePath, parentDir } from "../os/paths.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";
import { readServiceRecordSync } from "../service/model/service_record.ts";
import { findStackFile, isProcfileName } from "./stack_file.ts";
import type { UpResult, UpServiceResult } from "./up.ts";
import { readUpStamp, stackFingerprint } from "./up_stamp.ts";

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
 * const result = await quickUp({ file: "/srv/app/pidkit.jsonc" });
 * console.log(result ? "nothing to do" : "go the long way (upStack)");
 * ```
 */
export async function quickUp(options: QuickUpOptions = {}): Promise<UpResult | undefined> {
  const cwd = options.cwd ?? Deno.cwd();
  const file = options.file !== undefined ? absolutePath(options.file, cwd) : findStackFile(cwd);
  if (file === undefined || isProcfileName(file)) return undefined;
  const read = await readDeclaration(file, options.dir);
  if (read === undefined) return undefined;
  const { text, dir } = read;
  // Not while another up or down changes things (that one is waited for the
  // long way); and the stamp is read under the lock, so it is the last one.
  const lock = tryLock(`${dir}/stack.lock`);
  if (lock === undefined) return undefined;
  try {
    const stamp = readUpStamp(dir, file);
    if (stamp === undefined || stamp.services.length === 0) return undefined;
    const envFiles = stamp.envFiles.map((p): [string, string | null] => [p, readOrNull(p)]);
    if (await stackFingerprint("jsonc", file, text, envFiles) !== stamp.fingerprint) {
      return undefined;
    }
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

/** The file's text and its run directory, or `undefined` when either cannot be had. */
async function readDeclaration(
  file: string,
  given?: string,
): Promise<{ text: string; dir: string } | undefined> {
  const text = readOrNull(file);
  if (text === null) return undefined;
  let fileDir: string | undefined;
  // Only a `"dir"` key (spelt so, or with escapes) can name the run directory:
  // without one, the parser is not even loaded.
  if (text.includes('"dir"') || text.includes("\\")) {
    const { parseJsonc } = await import("./jsonc.ts");
    let declared;
    try {
      declared = parseJsonc(text, file) as { dir?: unknown } | null;
    } catch {
      return undefined;
    }
    if (typeof declared?.dir === "string") fileDir = absolutePath(declared.dir, parentDir(file));
  }
  try {
    // created and checked as up does: a directory another user could write is refused
    return { text, dir: resolveRunDir({ dir: given ?? fileDir, create: true }) };
  } catch {
    return undefined;
  }
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
  let record;
  try {
    record = readServiceRecordSync(`${dir}/${name}.json`);
  } catch {
    return false;
  }
  if (
    record === undefined || record.name !== name || record.phase !== "running" ||
    record.stopper !== undefined || record.origin?.file !== file || record.origin.hash !== hash
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
    const buf = new Uint8Array(32);
    const n = pidfile.readSync(buf) ?? 0;
    const text = new TextDecoder().decode(buf.subarray(0, n)).trim();
    return /^[1-9]\d*$/.test(text) ? Number(text) : undefined;
  } catch {
    return false;
  } finally {
    pidfile.close();
  }
}

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
