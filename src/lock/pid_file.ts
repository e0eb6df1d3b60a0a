/**
 * PID files held with an exclusive `flock(2)` lock for the owner's whole
 * life: acquire, update, release (the readers' side, probe and wait, is
 * `probe.ts`, re-exported here). The lock protocol is
 * documented in docs/pid_files.md ("The lock protocol"); the comments here
 * and in the `_`-prefixed modules beside this one name its steps.
 *
 * The file system work is done with synchronous calls on purpose: each is a
 * single system call on a tiny file, and a trip through the event loop per
 * call would cost more than the call itself. Only waits are asynchronous.
 *
 * @module
 */

import { absolutePath } from "../os/paths.ts";
import { FileError, PidkitError, UsageError } from "../os/errors.ts";
import { offProcessEnd, onProcessEnd } from "../os/exit_cleanup.ts";
import { buildRecord } from "./record.ts";
import type { PidRecord } from "./record.ts";
import { fileError } from "./_file_errors.ts";
import { hooks } from "./_hooks.ts";
import { lockExclusive } from "./_lock.ts";
import { type Held, isAtPath, MAX_REOPENS, openForOwner } from "./_open.ts";
import { checkAcquireOptions, checkDataFormat, checkPid } from "./_options.ts";
import { writeRecord } from "./_record_io.ts";
import { refuseForeignContent, writeThroughRisk } from "./_takeover.ts";

export { probe, readPidFile, waitForRelease } from "./probe.ts";
export type { ProbeResult, WaitOptions } from "./probe.ts";

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
  /**
   * Default `true`: each write of the record (here and in
   * {@linkcode PidFile.update}) is followed by an fsync. `false` skips it:
   * every reader still sees the record at once (the page cache is shared);
   * only a crash of the whole system could lose it, after which the file is
   * stale anyway. A supervisor of hundreds of files passes `false` (an fsync
   * costs about 1 ms here).
   */
  durable?: boolean;
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
  #durable = true;

  private constructor(path: string, held: Held, record: PidRecord, data?: Record<string, unknown>) {
    this.path = path;
    this.#file = held.file;
    this.#dev = held.dev;
    this.#ino = held.ino;
    this.#record = record;
    this.#data = data;
  }

  /**
   * The PID written in the file.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * await using pid = await PidFile.acquire("/tmp/app.pid");
   * console.log(pid.pid === Deno.pid); // true
   * ```
   */
  get pid(): number {
    return this.#record.pid;
  }

  /**
   * What the file says (the last record written).
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * await using pid = await PidFile.acquire("/tmp/app.pid", { format: "json" });
   * console.log(pid.record.startTime, pid.record.bootId);
   * ```
   */
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
   * holds it (after `timeout` ms, if given), {@linkcode FileError} when
   * the path is a symlink (`"symlink"`), a directory or device
   * (`"not-a-file"`), not writable (`"permission"`), holds a file that is
   * not a PID file (`"bad-content"`), or on other I/O errors (`"io"`), and
   * {@linkcode UsageError} for a bad option (`timeout`, `format`, `pid`,
   * `mode`, `data`), naming it and the value given.
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
        throw new FileError(abs, "io", `${abs} keeps being replaced while locking; try again`);
      }
      const held = openForOwner(abs, opts.mode); // steps 1 and 2
      hooks.step?.("acquire:opened");
      let kept = false;
      try {
        await lockExclusive(held, abs, deadline, opts.signal); // step 3
        hooks.step?.("acquire:locked");
        if (hooks.identityCheck && !isAtPath(held, abs)) continue; // step 4: start over
        const risk = writeThroughRisk(held.file.statSync(), abs); // linked while we waited?
        if (risk) throw risk;
        refuseForeignContent(held.file, abs); // step 5: never clobber a stranger's file
        hooks.step?.("acquire:checked");
        const record = buildRecord({ pid: opts.pid, format: opts.format, data: opts.data });
        const pidFile = new PidFile(abs, held, record, opts.data);
        pidFile.#durable = opts.durable;
        // Watch before the record is written: once others can see it (and
        // so may send SIGTERM), a signal must find the cleanup in place.
        if (opts.removeOnExit) pidFile.#watchExit();
        try {
          writeRecord(held.file, abs, record, "acquire", opts.durable); // step 6
        } catch (err) {
          pidFile.#unwatchExit();
          // Locked and truncated, it names nobody (a full disk): remove it
          // under the lock rather than leave an empty file that lists as a
          // service which never ran.
          try {
            if (isAtPath(held, abs)) Deno.removeSync(abs);
          } catch { /* the error below says what went wrong */ }
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
    if (change.pid !== undefined) checkPid(change.pid);
    const format = this.#record.format;
    checkDataFormat(change.data, format, this.path);
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
      writeRecord(file, this.path, record, "update", this.#durable);
    } catch (err) {
      // The file was truncated for the rewrite: put the old record back (it
      // fitted before, and the truncation freed its space) so a failed
      // update (a full disk) never leaves the held file empty or half.
      try {
        writeRecord(file, this.path, this.#record, "update", this.#durable);
      } catch { /* nothing more to do: the lock still says who runs */ }
      throw err;
    }
    this.#record = record;
    this.#data = data;
  }

  /**
   * Empty the file under the lock: the holder runs, but the file names no
   * process (a `--forking` service whose main process cannot be told).
   * Readers then see it held with no PID ({@linkcode probe}: `running`,
   * `pid` undefined). The next {@linkcode PidFile.update} with a `pid`
   * fills it again.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * await using pid = await PidFile.acquire("/tmp/sup.pid");
   * await pid.clear();
   * ```
   */
  clear(): Promise<void> {
    try {
      const file = this.#held();
      file.truncateSync(0);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
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
    if (!(intervalMs > 0)) {
      throw new UsageError(`intervalMs must be a positive number, got ${intervalMs}`);
    }
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

  /**
   * Release (see {@linkcode PidFile.release}); for `await using`.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * {
   *   await using _pid = await PidFile.acquire("/tmp/app.pid");
   * } // released here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Release synchronously (see {@linkcode PidFile.release}); for `using`.
   *
   * @example
   * ```ts
   * import { PidFile } from "@pidkit/pidkit";
   * {
   *   using _pid = await PidFile.acquire("/tmp/app.pid");
   * } // released here, synchronously
   * ```
   */
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
      hooks.step?.("release:unlinked");
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw fileError(this.path, err, "remove");
    } finally {
      file.close();
    }
  }
}
