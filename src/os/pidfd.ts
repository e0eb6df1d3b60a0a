/**
 * Signals that can never reach a reused PID: every signal pidkit sends to a
 * process it did not spawn itself goes through a pidfd (`pidfd_open`,
 * syscall 434, and `pidfd_send_signal`, syscall 424, through `src/os/libc.ts`).
 *
 * The order is what closes the race: open the pidfd first, then check the
 * process's identity (its start time, which with the PID names one process
 * per boot), then signal through the pidfd. A pidfd stays bound to the
 * process it was opened for: if that process dies and the kernel hands its
 * PID to another one between the check and the signal, the signal fails
 * with ESRCH instead of reaching the newcomer.
 *
 * Fallback: where there is no pidfd (Linux before 5.3, macOS, Deno without
 * `--allow-ffi`), the identity check is followed by a plain `kill(2)`, as in
 * pidkit 0.1: a PID reused in the microseconds between check and signal
 * would then be hit. {@linkcode pidfdSupported} says which path is taken.
 *
 * @module
 */

import { ERRNO, errno, libc } from "./libc.ts";
import { isDeadState, readProcStat } from "./proc.ts";
import { signalNumber } from "./signals.ts";
import { FdPoller } from "./fd_poller.ts";

let exitPoller: FdPoller | null | undefined;

/**
 * One poll loop for every pidfd wait of the process: a resident supervisor
 * watches hundreds of adopted leaders, and a poll per wait would hold a
 * thread of Deno's blocking pool each (200 of them queued every file
 * operation behind them: seconds per state write).
 */
function sharedPoller(): FdPoller | undefined {
  if (exitPoller === undefined) exitPoller = FdPoller.create() ?? null;
  return exitPoller ?? undefined;
}

const SYS_PIDFD_OPEN = 434n;
const SYS_PIDFD_SEND_SIGNAL = 424n;
const POLLIN = 1;

let forceFallback = false;
let beforeSignal: ((pid: number) => void) | undefined;
let supported: boolean | undefined;

/**
 * Test hook, not part of the public API: `hook(pid)` runs after the
 * identity check and right before the signal is sent, so a test can let the
 * checked process die and another take its PID there. Never use it in real
 * code.
 */
export function _setBeforeSignalHookForTesting(hook: ((pid: number) => void) | undefined): void {
  beforeSignal = hook;
}

/**
 * Test hook, not part of the public API: `true` makes pidkit behave as if
 * pidfds did not exist (the documented fallback), to show what they prevent.
 */
export function _forcePidfdFallbackForTesting(on: boolean): void {
  forceFallback = on;
}

/**
 * Whether signals go through pidfds here (Linux >= 5.3 with FFI allowed).
 *
 * @example
 * ```ts
 * import { pidfdSupported } from "./pidfd.ts";
 * console.log(pidfdSupported() ? "pidfd" : "kill(2) fallback");
 * ```
 */
export function pidfdSupported(): boolean {
  if (forceFallback) return false;
  if (supported !== undefined) return supported;
  const fd = openFd(Deno.pid);
  supported = typeof fd === "number";
  if (typeof fd === "number") libc()!.close(fd);
  return supported;
}

/** A pidfd number, "gone" (ESRCH), or undefined (no pidfd support). */
function openFd(pid: number): number | "gone" | undefined {
  const lib = libc();
  if (lib === undefined) return undefined;
  const fd = Number(lib.syscall(SYS_PIDFD_OPEN, BigInt(pid), 0n, 0n, 0n, 0n));
  if (fd >= 0) return fd;
  const e = errno();
  if (e === ERRNO.ESRCH) return "gone";
  // EINVAL for a PID that is not a thread-group leader: nothing to signal.
  if (e === 22) return "gone";
  return undefined; // ENOSYS (old kernel), EMFILE, seccomp: fall back
}

/**
 * An open pidfd: a handle on one process that can never refer to another,
 * whatever happens to its PID.
 *
 * @example
 * ```ts
 * import { Pidfd } from "./pidfd.ts";
 * const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
 * const fd = Pidfd.open(child.pid);
 * if (fd instanceof Pidfd) {
 *   fd.signal("SIGTERM");
 *   await fd.waitExit(1000);
 *   fd.close();
 * }
 * await child.status;
 * ```
 */
export class Pidfd implements Disposable {
  /** The PID the descriptor was opened for. */
  readonly pid: number;
  #fd: number | undefined;

  private constructor(pid: number, fd: number) {
    this.pid = pid;
    this.#fd = fd;
  }

  /**
   * Open a pidfd for `pid`: a {@linkcode Pidfd}, `"gone"` when there is no
   * such process, or `undefined` where pidfds are not available.
   */
  static open(pid: number): Pidfd | "gone" | undefined {
    if (forceFallback) return undefined;
    const fd = openFd(pid);
    return typeof fd === "number" ? new Pidfd(pid, fd) : fd;
  }

  /**
   * Send `sig` to the process. `"sent"`, `"gone"` (it has exited, even if
   * its PID now names another process), or `"denied"` (EPERM).
   */
  signal(sig: Deno.Signal): "sent" | "gone" | "denied" {
    if (this.#fd === undefined) return "gone";
    const rc = libc()!.syscall(
      SYS_PIDFD_SEND_SIGNAL,
      BigInt(this.#fd),
      BigInt(signalNumber(sig)),
      0n,
      0n,
      0n,
    );
    if (rc === 0n) return "sent";
    return errno() === ERRNO.EPERM ? "denied" : "gone";
  }

  /** Whether the process has exited (a zombie counts as exited). */
  hasExited(): boolean {
    if (this.#fd === undefined) return true;
    return libc()!.poll(pollSet(this.#fd), 1n, 0) > 0;
  }

  /** Wait up to `timeoutMs` for the process to exit, off the event loop; true once it has. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (this.#fd === undefined) return true;
    const ms = Math.max(0, Math.min(Math.ceil(timeoutMs), 2 ** 31 - 1));
    const poller = sharedPoller();
    if (poller === undefined || this.hasExited()) {
      return await libc()!.pollAsync(pollSet(this.#fd), 1n, ms) > 0;
    }
    const fd = this.#fd;
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        poller.unwatch(fd);
        resolve(false);
      }, ms);
      poller.watch(fd, () => {
        clearTimeout(timer);
        poller.unwatch(fd);
        resolve(true);
      });
    });
  }

  /** Close the descriptor (idempotent). */
  close(): void {
    if (this.#fd === undefined) return;
    libc()!.close(this.#fd);
    this.#fd = undefined;
  }

  /** Close the descriptor; for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function pollSet(fd: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(8);
  const view = new DataView(buf.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  return buf;
}

/** A process to signal: its PID and, when known, the start time that proves which process it is. */
export interface SignalTarget {
  /** Process id. */
  pid: number;
  /** Start time in clock ticks after boot (field 22 of `/proc/PID/stat`). */
  startTime?: number;
}

/**
 * What {@linkcode signalProcess} did: `"sent"`, `"gone"` (no such process,
 * a zombie, or its PID now names another process: nothing sent), or
 * `"denied"` (not ours to signal).
 */
export type SignalOutcome = "sent" | "gone" | "denied";

/**
 * Send `sig` to `target` only if it is still the process it names: a pidfd
 * is opened first, then the start time is checked (and `verify`, if
 * given), then the signal goes through the pidfd. Without pidfd support the
 * same checks are followed by `kill(2)` (see the module documentation).
 *
 * @example
 * ```ts
 * import { signalProcess } from "./pidfd.ts";
 * import { readProcStat } from "./proc.ts";
 * const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
 * const startTime = readProcStat(child.pid)!.startTime;
 * console.log(signalProcess({ pid: child.pid, startTime }, "SIGTERM")); // "sent"
 * await child.status;
 * ```
 */
export function signalProcess(
  target: SignalTarget,
  sig: Deno.Signal,
  verify?: () => boolean,
): SignalOutcome {
  const fd = Pidfd.open(target.pid);
  if (fd === "gone") return "gone";
  try {
    if (!isStill(target) || (verify !== undefined && !verify())) return "gone";
    beforeSignal?.(target.pid);
    if (fd !== undefined) return fd.signal(sig);
    try {
      Deno.kill(target.pid, sig);
      return "sent";
    } catch (err) {
      if (err instanceof Deno.errors.PermissionDenied) return "denied";
      if (err instanceof Deno.errors.NotFound) return "gone";
      throw err;
    }
  } finally {
    fd?.close();
  }
}

/** Whether `target` is alive (not a zombie) with its recorded start time. */
function isStill(target: SignalTarget): boolean {
  if (target.startTime === undefined) return true;
  const st = readProcStat(target.pid);
  return st !== undefined && !isDeadState(st.state) && st.startTime === target.startTime;
}
