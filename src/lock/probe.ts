/**
 * The readers' side of the lock protocol: is the program whose PID file
 * this is running ({@linkcode probe}), what the file says
 * ({@linkcode readPidFile}), and waiting until its holder is gone
 * ({@linkcode waitForRelease}). The protocol is documented in
 * docs/pid_files.md ("The lock protocol"); the holder's side is
 * `pid_file.ts`.
 *
 * @module
 */

import { FileError } from "../os/errors.ts";
import { delay } from "../os/delay.ts";
import { decodePidRecord } from "./record.ts";
import type { PidRecord } from "./record.ts";
import { liveHolder, pollUntilFree, tryShared } from "./_lock.ts";
import { openForReader } from "./_open.ts";
import { checkTimeout } from "./_options.ts";
import { readContent } from "./_record_io.ts";

/**
 * What {@linkcode probe} found at a path.
 *
 * @example
 * ```ts
 * import { probe, type ProbeResult } from "@pidkit/pidkit";
 * const found: ProbeResult = await probe("/tmp/app.pid");
 * switch (found.status) {
 *   case "running":
 *     console.log(`running: pid ${found.pid}, lock held by ${found.holderPid}`);
 *     break;
 *   case "stale":
 *     console.log(`stale file naming ${found.pid ?? "nothing readable"}`);
 *     break;
 *   case "absent":
 *     console.log("not running");
 * }
 * ```
 */
export type ProbeResult =
  | {
    /** Someone holds the exclusive lock: the program is running. */
    status: "running";
    /** The PID written in the file (may be in another PID namespace), if readable. */
    pid: number | undefined;
    /**
     * The lock holder's PID in this PID namespace, from `/proc/locks`,
     * checked to be alive. `undefined` where `/proc` cannot be read (not
     * Linux, or Deno without `-A`) or when the process that took the lock is
     * gone and a child that inherited it holds it.
     */
    holderPid: number | undefined;
    /** The parsed file, if readable. */
    record: PidRecord | undefined;
    /** Why the content could not be read, when it could not. */
    error?: FileError;
  }
  | {
    /** The file has content but nobody holds the lock: left by a process that died. */
    status: "stale";
    /** The PID written in the file, if it parses. It is NOT running that program. */
    pid?: number;
    /** The parsed file, if it parses. */
    record?: PidRecord;
    /** Why the content is not a PID record, when it is not. */
    error?: FileError;
  }
  | {
    /** No file, or an empty one that nobody holds. */
    status: "absent";
  };

/**
 * Options for {@linkcode waitForRelease}.
 *
 * @example
 * ```ts
 * import { waitForRelease, type WaitOptions } from "@pidkit/pidkit";
 * const options: WaitOptions = { timeout: 10_000, signal: AbortSignal.timeout(60_000) };
 * await waitForRelease("/tmp/app.pid", options);
 * ```
 */
export interface WaitOptions {
  /** Give up after this many ms and resolve `false`; default: wait as long as it takes. */
  timeout?: number;
  /** Stop waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Whether the program whose PID file is `path` is running, and which
 * process it is -- judged by the lock, never by `kill(pid, 0)` or by the
 * file merely existing. Probing takes a shared lock for a few microseconds;
 * it never disturbs the holder and never makes an `acquire` fail.
 *
 * - `running`: someone holds the exclusive lock. `pid` is what the file
 *   says; `holderPid` is the lock holder as the kernel reports it in this PID
 *   namespace (`/proc/locks`), when `/proc` can be read (Linux with `-A`).
 * - `stale`: the file has content but nobody holds the lock. `pid` is what
 *   it says (maybe a PID the kernel has since given to another process);
 *   `error` says why, when the content is not a PID record.
 * - `absent`: no file (a dangling symlink counts as none), or an empty
 *   file nobody holds.
 *
 * Throws {@linkcode FileError} when the path is a symlink, not a regular
 * file, or not readable.
 *
 * @example
 * ```ts
 * import { probe } from "@pidkit/pidkit";
 * const found = await probe("/tmp/app.pid");
 * if (found.status === "running") console.log(`running as ${found.holderPid ?? found.pid}`);
 * ```
 */
export async function probe(path: string): Promise<ProbeResult> {
  // A holder writes right after locking, and update() truncates before it
  // writes: an empty file under an exclusive lock is worth a second look.
  for (let i = 0;; i++) {
    const result = probeOnce(path, i >= 3);
    if (result !== "empty") return result;
    await delay(1);
  }
}

/**
 * The record in the PID file at `path`, without judging whether that
 * process is running (use {@linkcode probe} for that).
 *
 * Throws {@linkcode FileError}: `"not-found"`, `"symlink"`,
 * `"not-a-file"`, `"permission"`, or `"bad-content"` when the file is empty
 * or is not a PID record.
 *
 * @example
 * ```ts
 * import { readPidFile } from "@pidkit/pidkit";
 * const record = await readPidFile("/tmp/app.pid");
 * console.log(record.pid, record.format);
 * ```
 */
export function readPidFile(path: string): Promise<PidRecord> {
  try {
    const file = openForReader(path)?.file;
    if (file === undefined) {
      throw new FileError(path, "not-found", `${path} does not exist`);
    }
    try {
      return Promise.resolve(decodePidRecord(readContent(file, path), path));
    } finally {
      file.close();
    }
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Wait until nobody holds the lock on `path` (the holder released it or
 * died, however it died). Resolves `true` then (also when there is no file),
 * or `false` when `timeout` ms pass first; rejects with the signal's reason
 * when `signal` aborts.
 *
 * Without `timeout` and `signal` it waits on the lock itself (a blocking
 * shared `flock` in Deno's thread pool): no polling, woken by the kernel.
 * Such a wait cannot be cancelled and keeps the process alive until it ends.
 * With `timeout` or `signal` it polls a non-blocking shared lock on every
 * timer tick for the first second (1 ms asked; Deno's timers make it about
 * 2 ms), backing off to 4 ms and then 10 ms, so the process can always exit.
 *
 * @example
 * ```ts
 * import { waitForRelease } from "@pidkit/pidkit";
 * if (!(await waitForRelease("/tmp/app.pid", { timeout: 5000 }))) {
 *   console.error("still running after 5 s");
 * }
 * ```
 */
export async function waitForRelease(path: string, options: WaitOptions = {}): Promise<boolean> {
  const { timeout, signal } = options;
  if (timeout !== undefined) checkTimeout(timeout);
  signal?.throwIfAborted();
  const file = openForReader(path)?.file;
  if (file === undefined) return true;
  try {
    if (tryShared(file)) return true;
    if ((timeout === undefined || timeout === Infinity) && signal === undefined) {
      await file.lock(false);
      return true;
    }
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout;
    return await pollUntilFree(file, deadline, signal);
  } finally {
    file.close();
  }
}

/** One probe; "empty" when the file is empty under an exclusive lock (look again). */
function probeOnce(path: string, acceptEmpty: boolean): ProbeResult | "empty" {
  const held = openForReader(path);
  if (held === undefined) return { status: "absent" };
  const { file } = held;
  try {
    if (file.tryLockSync(false)) {
      let bytes: Uint8Array;
      try {
        bytes = readContent(file, path);
      } finally {
        file.unlockSync();
      }
      if (bytes.length === 0) return { status: "absent" };
      try {
        const record = decodePidRecord(bytes, path);
        return { status: "stale", pid: record.pid, record };
      } catch (err) {
        if (err instanceof FileError) return { status: "stale", error: err };
        throw err;
      }
    }
    const bytes = readContent(file, path);
    if (bytes.length === 0 && !acceptEmpty) return "empty";
    const holderPid = liveHolder(held.dev, held.ino);
    try {
      const record = decodePidRecord(bytes, path);
      return { status: "running", pid: record.pid, holderPid, record };
    } catch (err) {
      if (!(err instanceof FileError)) throw err;
      return { status: "running", pid: undefined, holderPid, record: undefined, error: err };
    }
  } finally {
    file.close();
  }
}
