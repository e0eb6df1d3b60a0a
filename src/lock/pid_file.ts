/**
 * PID files held with an exclusive `flock(2)` lock for the owner's whole
 * life: acquire, update, release, probe, wait. The lock protocol is
 * DESIGN.md's "The lock protocol"; the comments below name its steps.
 *
 * The file system work is done with synchronous calls on purpose: each is a
 * single system call on a tiny file, and a trip through the event loop per
 * call would cost more than the call itself. Only waits are asynchronous.
 *
 * @module
 */

import { absolutePath, parentDir } from "../os/paths.ts";
import { AlreadyRunningError, PidFileError, PidkitError } from "../os/errors.ts";
import { offProcessEnd, onProcessEnd } from "../os/exit_cleanup.ts";
import { findLockHolders, isProcessAlive } from "../os/proc.ts";
import { procIsOurs } from "../os/pid_namespace.ts";
import {
  buildRecord,
  decodePidRecord,
  formatPidRecord,
  isValidPid,
  MAX_RECORD_BYTES,
  takeoverRefusal,
} from "./record.ts";
import type { PidRecord } from "./record.ts";

/**
 * Options for {@linkcode PidFile.acquire}.
 *
 * @example A supervisor records its child's PID, waiting up to 5 s for a previous owner
 * ```ts
 * import { type AcquireOptions, PidFile } from "@pidkit/pidkit";
 * const child = new Deno.Command("sleep", { args: ["1"] }).spawn();
 * const options: AcquireOptions = { pid: child.pid, format: "json", timeout: 5000 };
 * await using _pid = await PidFile.acquire("/tmp/child.pid", options);
 * await child.status;
 * ```
 */
export interface AcquireOptions {
  /**
   * How long to keep trying while another process holds the file, in ms.
   * 0 (the default) fails at once with {@linkcode AlreadyRunningError};
   * `Infinity` waits as long as it takes.
   */
  timeout?: number;
  /** `"plain"` (default): `PID\n`. `"json"`: one JSON object, see {@linkcode PidRecord}. */
  format?: "plain" | "json";
  /** The PID to record; default `Deno.pid`. A supervisor records its child's. */
  pid?: number;
  /** Extra fields written with the record; `json` format only. */
  data?: Record<string, unknown>;
  /** Permissions of a newly created file (masked by the umask); default `0o644`. */
  mode?: number;
  /** Stop trying when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
  /**
   * Default `true`: remove the file when the process ends. Acquiring then
   * installs listeners for SIGINT, SIGTERM and SIGHUP (SIGINT and SIGBREAK on
   * Windows) and for the `unload` event, shared by every PidFile of the
   * process and removed with the last one. On one of those signals the
   * files are removed and the signal is raised again, so the process dies of
   * it (exit status 143 for SIGTERM); on a normal exit the files are removed
   * synchronously. A program that handles these signals itself (say, for a
   * graceful shutdown) should pass `false` and release the file itself, for
   * instance with `await using`: with `false` no listener is installed.
   */
  removeOnExit?: boolean;
}

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
    error?: PidFileError;
  }
  | {
    /** The file has content but nobody holds the lock: left by a process that died. */
    status: "stale";
    /** The PID written in the file, if it parses. It is NOT running that program. */
    pid?: number;
    /** The parsed file, if it parses. */
    record?: PidRecord;
    /** Why the content is not a PID record, when it is not. */
    error?: PidFileError;
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

let identityCheck = true;

/**
 * Test hook, not part of the public API: turn step 4 of the lock protocol
 * (the check that the locked file is still the one at the path) off, so a
 * test can show what goes wrong without it. Never use it in real code.
 */
export function _setIdentityCheckForTesting(enabled: boolean): void {
  identityCheck = enabled;
}

let stepHook: ((step: string) => void) | undefined;

/**
 * Test hook, not part of the public API: call `hook` with the name of each
 * step of acquire, update and release as it completes ("acquire:opened",
 * "acquire:locked", "acquire:checked", "acquire:truncated",
 * "acquire:written", "acquire:synced", the same three for "update:", and
 * "release:unlinked"), so the torture suite can crash a process at every
 * step. Never use it in real code.
 */
export function _setStepHookForTesting(hook: ((step: string) => void) | undefined): void {
  stepHook = hook;
}

/**
 * What {@linkcode PidFile.check} found: `"held"` (the path still names the
 * locked file), `"removed"` (nothing at the path, or our file was unlinked),
 * `"replaced"` (another file or a symlink is at the path), `"released"`
 * (this object no longer holds anything).
 *
 * @example
 * ```ts
 * import { PidFile, type HoldStatus } from "@pidkit/pidkit";
 * await using pid = await PidFile.acquire("/tmp/app.pid");
 * const state: HoldStatus = pid.check();
 * console.log(state); // "held"
 * ```
 */
export type HoldStatus = "held" | "removed" | "replaced" | "released";

/**
 * Options for {@linkcode PidFile.watch}.
 *
 * @example
 * ```ts
 * import { PidFile, type WatchOptions } from "@pidkit/pidkit";
 * await using pid = await PidFile.acquire("/tmp/app.pid");
 * const options: WatchOptions = { intervalMs: 100 };
 * using _watch = pid.watch((state) => console.error(`pid file ${state}`), options);
 * ```
 */
export interface WatchOptions {
  /** How often to look, in ms; default 250 (a loss is noticed within that time). */
  intervalMs?: number;
}

/** How long probes (shared locks) alone may keep a start from locking before it gives up. */
const SHARED_ONLY_BUDGET_MS = 2000;
/** How often the file is re-opened when someone keeps swapping the path before giving up. */
const MAX_REOPENS = 1000;

/**
 * A PID file this process holds: the file at `path` exists, names `pid`, and
 * is exclusively locked for as long as this object is not released (or the
 * process lives). Another `acquire` of the same path, from this process or
 * any other, fails with {@linkcode AlreadyRunningError}.
 *
 * @example Hold a PID file for a block
 * ```ts
 * import { PidFile } from "@pidkit/pidkit";
 * {
 *   await using pid = await PidFile.acquire("/tmp/app.pid");
 *   console.log(`${pid.path} names ${pid.pid}`);
 * } // released here: the file is removed and the lock dropped
 * ```
 */
export class PidFile implements AsyncDisposable, Disposable {
  /** The absolute path of the file. */
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #dev: number;
  #ino: number;
  #record: PidRecord;
  #data: Record<string, unknown> | undefined;
  #cleanup: (() => void) | undefined;

  private constructor(path: string, held: Held, record: PidRecord, data?: Record<string, unknown>) {
    this.path = path;
    this.#file = held.file;
    this.#dev = held.dev;
    this.#ino = held.ino;
    this.#record = record;
    this.#data = data;
  }

  /** The PID written in the file. */
  get pid(): number {
    return this.#record.pid;
  }

  /** What the file says (the last record written). */
  get record(): PidRecord {
    return this.#record;
  }

  /**
   * Take the PID file at `path`: create it (and its parent directory) if
   * missing, lock it exclusively, write the record. A file left behind by a
   * process that died is taken over when it is empty, a stale record, or
   * junk a crash leaves (binary data, a number that is no valid PID, a cut
   * JSON record); other content (text, a JSON document, over 64 KiB) is
   * somebody's file given by mistake and is never overwritten.
   *
   * Throws {@linkcode AlreadyRunningError} when another process or handle
   * holds it (after `timeout` ms, if given), {@linkcode PidFileError} when
   * the path is a symlink (`"symlink"`), a directory or device
   * (`"not-a-file"`), not writable (`"permission"`), holds a file that is
   * not a PID file (`"bad-content"`), or on other I/O errors (`"io"`).
   *
   * Recording `startTime`, `argv` and `ppid` in the `json` format reads
   * `/proc`, which Deno allows only with `-A`; without it (or off Linux)
   * those fields are left out.
   *
   * @example Refuse a second instance
   * ```ts
   * import { AlreadyRunningError, PidFile } from "@pidkit/pidkit";
   * try {
   *   const pid = await PidFile.acquire("/tmp/app.pid", { format: "json", data: { port: 8080 } });
   *   console.log(pid.record);
   *   await pid.release();
   * } catch (err) {
   *   if (!(err instanceof AlreadyRunningError)) throw err;
   *   console.error(err.message); // "/tmp/app.pid is held by pid 1234: already running"
   * }
   * ```
   */
  static async acquire(path: string, options: AcquireOptions = {}): Promise<PidFile> {
    const opts = checkAcquireOptions(options);
    const abs = absolutePath(path);
    const deadline = opts.timeout === Infinity ? Infinity : Date.now() + opts.timeout;
    for (let attempt = 0;; attempt++) {
      opts.signal?.throwIfAborted();
      if (attempt > MAX_REOPENS && Date.now() >= deadline) {
        throw new PidFileError(abs, "io", `${abs} keeps being replaced while locking; try again`);
      }
      const held = openForOwner(abs, opts.mode); // steps 1 and 2
      stepHook?.("acquire:opened");
      let kept = false;
      try {
        await lockExclusive(held, abs, deadline, opts.signal); // step 3
        stepHook?.("acquire:locked");
        if (identityCheck && !isAtPath(held, abs)) continue; // step 4: start over
        const risk = writeThroughRisk(held.file.statSync(), abs); // linked while we waited?
        if (risk) throw risk;
        const refusal = takeoverRefusal(readContent(held.file, abs)); // never clobber a stranger's file
        if (refusal) {
          throw new PidFileError(
            abs,
            "bad-content",
            `${abs} is not a PID file: ${refusal}; pidkit will not overwrite it ` +
              `(remove it if it is a stale PID file)`,
          );
        }
        stepHook?.("acquire:checked");
        const record = buildRecord({ pid: opts.pid, format: opts.format, data: opts.data });
        const pidFile = new PidFile(abs, held, record, opts.data);
        // Watch before the record is written: once others can see it (and
        // so may send SIGTERM), a signal must find the cleanup in place.
        if (opts.removeOnExit) pidFile.#watchExit();
        try {
          writeRecord(held.file, abs, record, "acquire"); // step 5
        } catch (err) {
          pidFile.#unwatchExit();
          throw err;
        }
        kept = true;
        return pidFile;
      } finally {
        if (!kept) held.file.close();
      }
    }
  }

  /**
   * Rewrite the file in place under the lock (truncate, write, fsync): a
   * new PID (a supervisor whose child restarted) and/or new extra `data`
   * (replacing the old; `json` only). Other readers may briefly see an empty
   * file while it is rewritten; {@linkcode probe} and `acquire` allow for it.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * await using pid = await PidFile.acquire("/tmp/sup.pid", { format: "json" });
   * await pid.update({ data: { phase: "ready" } });
   * ```
   */
  update(change: { pid?: number; data?: Record<string, unknown> }): Promise<void> {
    // Misuse (a bad PID, data for a plain file) throws at once; I/O errors
    // (a full disk) reject, so `update(x).catch()` sees them.
    const file = this.#held();
    if (change.pid !== undefined && !isValidPid(change.pid)) {
      throw new TypeError(`pid must be an integer from 1 to 4194304, got ${change.pid}`);
    }
    const format = this.#record.format;
    if (change.data !== undefined && format !== "json") {
      throw new TypeError(`data needs the "json" format; ${this.path} is "plain"`);
    }
    const data = change.data ?? this.#data;
    const record = buildRecord({
      pid: change.pid ?? this.#record.pid,
      format,
      data,
      createdAt: this.#record.createdAt,
    });
    try {
      this.#rewrite(file, record, data);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #rewrite(file: Deno.FsFile, record: PidRecord, data: Record<string, unknown> | undefined): void {
    try {
      writeRecord(file, this.path, record, "update");
    } catch (err) {
      // The file was truncated for the rewrite: put the old record back (it
      // fitted before, and the truncation freed its space) so a failed
      // update (a full disk) never leaves the held file empty or half.
      try {
        writeRecord(file, this.path, this.#record, "update");
      } catch { /* nothing more to do: the lock still says who runs */ }
      throw err;
    }
    this.#record = record;
    this.#data = data;
  }

  /**
   * Give the file up: remove it while still holding the lock -- only if the
   * path still names this file, so a file someone put in its place is never
   * deleted -- then close it, which drops the lock. Calling it again does
   * nothing.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * const pid = await PidFile.acquire("/tmp/app.pid");
   * await pid.release();
   * ```
   */
  release(): Promise<void> {
    try {
      this.#release();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Whether the path still names the file this object holds. No lock
   * protocol can stop a third party with write access to the directory from
   * deleting or replacing a held PID file; the holder can notice it, and
   * say so, instead of everyone else concluding "not running". One system
   * call (lstat); see {@linkcode PidFile.watch} to be told.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * await using pid = await PidFile.acquire("/tmp/app.pid");
   * await Deno.remove("/tmp/app.pid"); // sabotage
   * console.log(pid.check()); // "removed"
   * ```
   */
  check(): HoldStatus {
    if (this.#file === undefined) return "released";
    let link: Deno.FileInfo;
    try {
      link = Deno.lstatSync(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "removed";
      throw fileError(this.path, err, "stat");
    }
    return !link.isSymlink && link.dev === this.#dev && link.ino === this.#ino
      ? "held"
      : "replaced";
  }

  /**
   * Call `onLost` when the path stops naming the held file (deleted or
   * replaced by someone else; see {@linkcode PidFile.check}), checking every
   * `intervalMs` (default 250 ms), and again whenever the state changes
   * after that. The timer does not keep the process alive. Dispose the
   * result to stop watching; release stops it too. The lock is still held
   * after a loss: the process still is the one instance; only the file that
   * tells others so is gone, which a caller may log or repair by releasing
   * and acquiring again.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * await using pid = await PidFile.acquire("/tmp/app.pid");
   * using _watch = pid.watch((state) => console.error(`${pid.path} was ${state} by someone`));
   * ```
   */
  watch(onLost: (state: "removed" | "replaced") => void, options: WatchOptions = {}): Disposable {
    const intervalMs = options.intervalMs ?? 250;
    if (!(intervalMs > 0)) throw new TypeError(`intervalMs must be > 0, got ${intervalMs}`);
    let last: HoldStatus = "held";
    const timer = setInterval(() => {
      let state: HoldStatus;
      try {
        state = this.check();
      } catch {
        state = "replaced"; // the path cannot even be looked at: not ours any more
      }
      if (state === "released") {
        clearInterval(timer);
        return;
      }
      if (state !== last && state !== "held") onLost(state);
      last = state;
    }, intervalMs);
    Deno.unrefTimer(timer);
    return { [Symbol.dispose]: () => clearInterval(timer) };
  }

  /** Release (see {@linkcode PidFile.release}); for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Release synchronously (see {@linkcode PidFile.release}); for `using`. */
  [Symbol.dispose](): void {
    this.#release();
  }

  #held(): Deno.FsFile {
    if (this.#file === undefined) {
      throw new PidkitError(`${this.path} was already released by this process`);
    }
    return this.#file;
  }

  #watchExit(): void {
    this.#cleanup = () => this.#release();
    onProcessEnd(this.#cleanup);
  }

  #unwatchExit(): void {
    if (this.#cleanup) offProcessEnd(this.#cleanup);
    this.#cleanup = undefined;
  }

  #release(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    this.#unwatchExit();
    try {
      let ours = false;
      try {
        ours = isAtPath({ file, dev: this.#dev, ino: this.#ino }, this.path);
      } catch {
        // A symlink or unreadable path: not ours to remove.
      }
      if (ours) Deno.removeSync(this.path);
      stepHook?.("release:unlinked");
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw fileError(this.path, err, "remove");
    } finally {
      file.close();
    }
  }
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
 * Throws {@linkcode PidFileError} when the path is a symlink, not a regular
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
    await sleep(1);
  }
}

/**
 * The record in the PID file at `path`, without judging whether that
 * process is running (use {@linkcode probe} for that).
 *
 * Throws {@linkcode PidFileError}: `"not-found"`, `"symlink"`,
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
      throw new PidFileError(path, "not-found", `${path} does not exist`);
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
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new TypeError(`timeout must be a number of ms >= 0, got ${timeout}`);
  }
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

// ---------------------------------------------------------------------------
// Internals

/** An open file and the identity it had when opened. */
interface Held {
  file: Deno.FsFile;
  dev: number;
  ino: number;
}

interface CheckedAcquireOptions {
  timeout: number;
  format: "plain" | "json";
  pid: number;
  data?: Record<string, unknown>;
  mode: number;
  signal?: AbortSignal;
  removeOnExit: boolean;
}

function checkAcquireOptions(options: AcquireOptions): CheckedAcquireOptions {
  const { timeout = 0, format = "plain", pid = Deno.pid, mode = 0o644 } = options;
  if (!(timeout >= 0)) throw new TypeError(`timeout must be a number of ms >= 0, got ${timeout}`);
  if (format !== "plain" && format !== "json") {
    throw new TypeError(`format must be "plain" or "json", got ${format}`);
  }
  if (!isValidPid(pid)) throw new TypeError(`pid must be an integer from 1 to 4194304, got ${pid}`);
  if (options.data !== undefined && format !== "json") {
    throw new TypeError(`data needs format: "json"`);
  }
  return {
    timeout,
    format,
    pid,
    data: options.data,
    mode,
    signal: options.signal,
    removeOnExit: options.removeOnExit ?? true,
  };
}

/**
 * Steps 1 and 2: open the file without following a symlink, creating it if
 * needed, in a form Deno can lock; make sure the open file is the regular
 * file the path names now.
 *
 * `createNew` (O_CREAT|O_EXCL) never follows a symlink, not even a dangling
 * one (POSIX: it fails with EEXIST), so a new file is created safely. An
 * existing path is checked with lstat, opened without `create`, and its
 * identity compared with a fresh lstat, which catches a symlink swapped in
 * between the two. (`node:fs` with O_NOFOLLOW would do the same, but
 * importing it costs a one-shot CLI about 50 ms of start-up.)
 */
function openForOwner(path: string, mode: number): Held {
  for (let i = 0;; i++) {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, createNew: true, mode });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        const existing = openRegular(path, true);
        if (existing === undefined && i < MAX_REOPENS) continue; // removed meanwhile
        if (existing === undefined) throw fileError(path, err, "open");
        file = existing.file;
      } else if (err instanceof Deno.errors.NotFound && i === 0) {
        makeParent(path);
        continue;
      } else {
        throw fileError(path, err, "create");
      }
    }
    const st = file.statSync();
    const unsafe = !st.isFile ? notAFile(path) : writeThroughRisk(st, path);
    if (unsafe) {
      file.close();
      throw unsafe;
    }
    const held = { file, dev: st.dev, ino: st.ino ?? 0 };
    if (isAtPath(held, path)) return held;
    file.close();
    if (i >= MAX_REOPENS) {
      throw new PidFileError(path, "io", `${path} keeps being replaced while opening; try again`);
    }
  }
}

/**
 * Why writing to the opened file `st` could write through to a file that is
 * not a PID file, or `undefined` when it is safe. A PID file never has a
 * second name: a hard link would let a third party point the path at any
 * file (an owner of a world-writable directory, or anyone where
 * fs.protected_hardlinks is 0, can link root's files there) and have us
 * truncate it. And a file another user owns in a directory others may write
 * (a sticky /tmp) was planted by them: taking it over would let them edit
 * the PID we write or hold its lock from the start.
 */
function writeThroughRisk(st: Deno.FileInfo, path: string): PidFileError | undefined {
  if (st.nlink !== null && st.nlink > 1) {
    return new PidFileError(
      path,
      "not-a-file",
      `${path} has ${st.nlink} hard links; refusing to write through it (remove it, or choose another path)`,
    );
  }
  if (st.uid === null) return undefined;
  let uid: number | null;
  try {
    uid = Deno.uid();
  } catch {
    return undefined; // no --allow-sys: cannot tell who we are; the kernel's checks stand
  }
  if (uid === null || st.uid === uid) return undefined;
  let parentMode: number | null = null;
  try {
    parentMode = Deno.statSync(parentDir(path)).mode;
  } catch { /* checked again when the file is locked */ }
  if (parentMode !== null && (parentMode & 0o002) !== 0) {
    return new PidFileError(
      path,
      "permission",
      `${path} belongs to uid ${st.uid} in a world-writable directory; refusing to take it over ` +
        `(remove it, or use a directory only you can write)`,
    );
  }
  return undefined;
}

/**
 * lstat `path` and, if it is a regular file, open it without following a
 * symlink's target (read-only, or read-write for an owner). `undefined` when
 * nothing is there (or it vanished meanwhile), and, for readers, when a
 * dangling symlink is there: that is no PID file, though acquire refuses it.
 * The caller compares the open file's identity with a fresh lstat.
 */
function openRegular(
  path: string,
  write: boolean,
): { file: Deno.FsFile; link: Deno.FileInfo } | undefined {
  let link: Deno.FileInfo;
  try {
    link = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fileError(path, err, "stat");
  }
  if (link.isSymlink) {
    if (!write && !targetExists(path)) return undefined;
    throw symlinkError(path);
  }
  if (!link.isFile) throw notAFile(path);
  try {
    return { file: Deno.openSync(path, { read: true, write }), link };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw fileError(path, err, "open");
  }
}

function makeParent(path: string): void {
  try {
    Deno.mkdirSync(parentDir(path), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw fileError(parentDir(path), err, "create the directory");
  }
}

/**
 * Whether `held` is (still) the file at `path`: linked, and `lstat(path)`
 * gives a regular file with the same device and inode. Throws "symlink" when
 * a symlink has taken the path.
 */
function isAtPath(held: Held, path: string): boolean {
  const st = held.file.statSync();
  if (st.nlink === 0) return false;
  let link: Deno.FileInfo;
  try {
    link = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw fileError(path, err, "stat");
  }
  if (link.isSymlink) throw symlinkError(path);
  return link.isFile && link.dev === held.dev && link.ino === held.ino;
}

/**
 * Step 3: lock exclusively, or find out who is in the way. Shared locks
 * alone are probes, here for microseconds: retry until they are gone. An
 * exclusive lock is an owner: fail, or wait for it until `deadline`.
 */
async function lockExclusive(
  held: Held,
  path: string,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { file } = held;
  let sharedSince: number | undefined;
  let pause = 0;
  for (;;) {
    if (file.tryLockSync(true)) return;
    if (tryShared(file)) {
      // Nobody holds it exclusively: only probes (or other starters in this
      // very step). Spin a little, then yield, but never report "running".
      for (let i = 0; i < 64; i++) if (file.tryLockSync(true)) return;
      sharedSince ??= Date.now();
      if (Date.now() > Math.max(sharedSince + SHARED_ONLY_BUDGET_MS, deadline)) {
        throw new PidFileError(
          path,
          "io",
          `${path} is kept share-locked by other processes; cannot lock it, try again`,
        );
      }
      signal?.throwIfAborted();
      await sleep(pause);
      pause = Math.min(pause + 0.25, 1);
      continue;
    }
    sharedSince = undefined;
    if (Date.now() >= deadline) {
      throw new AlreadyRunningError(path, await holderOf(held, path));
    }
    // Wait on this very file: if its holder releases it (unlinking it), the
    // lock we then get is on a dead file, which step 4 catches.
    await pollUntilFree(file, deadline, signal);
  }
}

/** Try a shared lock without blocking; drop it at once if taken. */
function tryShared(file: Deno.FsFile): boolean {
  if (!file.tryLockSync(false)) return false;
  file.unlockSync();
  return true;
}

/** The PID of whoever holds `held` exclusively: from the file, else from /proc/locks. */
async function holderOf(held: Held, path: string): Promise<number | undefined> {
  // The holder writes right after locking, but on a loaded machine it may
  // not run for a while (32 racers on 2 cores kept it off the CPU for more
  // than 10 ms): look for up to 250 ms, asking the kernel as well, while the
  // lock is still held.
  const until = Date.now() + 250;
  for (let i = 0;; i++) {
    let bytes: Uint8Array;
    try {
      bytes = readContent(held.file, path);
    } catch {
      break;
    }
    if (bytes.length > 0) {
      try {
        return decodePidRecord(bytes, path).pid;
      } catch {
        break; // garbage under a lock: ask the kernel instead
      }
    }
    if (i >= 4) {
      const holder = liveHolder(held.dev, held.ino);
      if (holder !== undefined || Date.now() >= until || tryShared(held.file)) return holder;
    }
    await sleep(2); // the holder is between lock and write
  }
  return liveHolder(held.dev, held.ino);
}

/** The live process holding an exclusive flock on dev/ino, if /proc can tell. */
function liveHolder(dev: number, ino: number): number | undefined {
  // A /proc of another PID namespace numbers processes differently: no PID from it.
  if (!procIsOurs()) return undefined;
  try {
    for (const pid of findLockHolders(dev, ino, "WRITE")) if (isProcessAlive(pid)) return pid;
  } catch {
    // No /proc (not Linux) or no permission to read it (Deno without -A).
  }
  return undefined;
}

/** Poll a non-blocking shared lock until it is free (true) or `deadline` passes (false). */
async function pollUntilFree(
  file: Deno.FsFile,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const start = Date.now();
  for (;;) {
    signal?.throwIfAborted();
    if (tryShared(file)) return true;
    const now = Date.now();
    if (now >= deadline) return false;
    const waited = now - start;
    const pause = waited < 1000 ? 1 : waited < 5000 ? 4 : 10;
    await sleep(Math.min(pause, deadline - now), signal);
  }
}

/** Step 5: truncate, write, fsync. */
function writeRecord(
  file: Deno.FsFile,
  path: string,
  record: PidRecord,
  phase: "acquire" | "update",
): void {
  const bytes = new TextEncoder().encode(formatPidRecord(record));
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new TypeError(`the record for ${path} is over ${MAX_RECORD_BYTES} bytes; send less data`);
  }
  try {
    file.truncateSync(0);
    stepHook?.(`${phase}:truncated`);
    file.seekSync(0, Deno.SeekMode.Start);
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    stepHook?.(`${phase}:written`);
    file.syncDataSync();
    stepHook?.(`${phase}:synced`);
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
function readContent(file: Deno.FsFile, path: string): Uint8Array {
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

/**
 * Open `path` read-only for a reader, refusing symlinks and anything but a
 * regular file (opening a FIFO would block). `undefined` when there is none.
 */
function openForReader(path: string): Held | undefined {
  for (let i = 0;; i++) {
    const opened = openRegular(path, false);
    if (opened === undefined) return undefined;
    const { file, link } = opened;
    const st = file.statSync();
    if (st.dev === link.dev && st.ino === link.ino) return { file, dev: st.dev, ino: st.ino ?? 0 };
    file.close(); // replaced between lstat and open: look again
    if (i >= MAX_REOPENS) {
      throw new PidFileError(path, "io", `${path} keeps being replaced while opening; try again`);
    }
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
        if (err instanceof PidFileError) return { status: "stale", error: err };
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
      if (!(err instanceof PidFileError)) throw err;
      return { status: "running", pid: undefined, holderPid, record: undefined, error: err };
    }
  } finally {
    file.close();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function targetExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: unknown })?.code as string | undefined;
}

function symlinkError(path: string): PidFileError {
  return new PidFileError(
    path,
    "symlink",
    `${path} is a symbolic link; refusing to follow it (remove it or use the real path)`,
  );
}

function notAFile(path: string): PidFileError {
  return new PidFileError(
    path,
    "not-a-file",
    `${path} is not a regular file (a directory or device?); choose another path`,
  );
}

/** Map an OS error on `path` to a PidFileError; Deno permission errors pass through. */
function fileError(path: string, err: unknown, action: string): Error {
  if (err instanceof PidFileError || err instanceof Deno.errors.NotCapable) return err;
  const code = errorCode(err);
  const options = { cause: err };
  if (code === "ELOOP" || err instanceof Deno.errors.FilesystemLoop) return symlinkError(path);
  if (code === "EISDIR" || err instanceof Deno.errors.IsADirectory) return notAFile(path);
  if (code === "EROFS" || /read-only file system/i.test(String(err))) {
    return new PidFileError(
      path,
      "permission",
      `cannot ${action} ${path}: read-only file system; choose a path on a writable file system`,
      options,
    );
  }
  if (
    code === "EACCES" || code === "EPERM" || err instanceof Deno.errors.PermissionDenied
  ) {
    return new PidFileError(
      path,
      "permission",
      `cannot ${action} ${path}: permission denied; run as a user who may write there, or choose another path`,
      options,
    );
  }
  if (code === "ENOENT" || err instanceof Deno.errors.NotFound) {
    return new PidFileError(
      path,
      "not-found",
      `cannot ${action} ${path}: no such directory`,
      options,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new PidFileError(path, "io", `cannot ${action} ${path}: ${message}`, options);
}
