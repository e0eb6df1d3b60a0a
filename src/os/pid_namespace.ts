/**
 * PID namespaces: being a namespace's init (PID 1 of a container), whether
 * the mounted `/proc` is the one of our namespace, and translating a PID
 * written by a process in another namespace into the PID the kernel gives
 * that process here.
 *
 * Why it matters:
 * - the kernel ignores the default action of a signal sent to a
 *   namespace's init, even one it raises itself: "remove the listener and
 *   raise the signal again" does not end PID 1 (Deno then crashed with
 *   SIGSEGV), so PID 1 exits with `128 + N` instead (see `exit_cleanup.ts`);
 * - after `unshare --pid --fork` without `--mount-proc`, `/proc` still shows
 *   the parent namespace: its PIDs are not the ones `kill(2)` takes here, so
 *   nothing read from it may be signalled;
 * - a PID file written inside a container holds the container's PID (often
 *   1); uptime, command and memory must come from the lock holder's PID as
 *   `/proc/locks` shows it here.
 *
 * Linux only; reading `/proc` needs `-A`. Every function degrades to "not
 * known" (`false` / `undefined`) instead of throwing.
 *
 * @module
 */

import { PidkitError } from "./errors.ts";
import { listPids, readPidNamespace, readProcStat } from "./proc.ts";

/**
 * Whether this process is the init (PID 1) of its PID namespace: the
 * process a container runtime starts, to which the kernel delivers only
 * signals it has a handler for and to which orphans are reparented.
 *
 * @example
 * ```ts
 * import { isNamespaceInit } from "./pid_namespace.ts";
 * if (isNamespaceInit()) console.log("running as a container's PID 1");
 * ```
 */
export function isNamespaceInit(): boolean {
  return Deno.build.os === "linux" && Deno.pid === 1;
}

/**
 * Whether `/proc` is the proc of this process's PID namespace: `/proc/self`
 * names our own PID. False after `unshare --pid --fork` without
 * `--mount-proc` (the parent's `/proc` is still mounted), off Linux, or
 * where `/proc` cannot be read.
 *
 * @example
 * ```ts
 * import { procIsOurs } from "./pid_namespace.ts";
 * if (!procIsOurs()) console.error("/proc belongs to another PID namespace");
 * ```
 */
export function procIsOurs(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.readLinkSync("/proc/self") === String(Deno.pid);
  } catch {
    return false;
  }
}

/**
 * Throw {@linkcode PidkitError} (one line, {@linkcode FOREIGN_PROC}) when a
 * `/proc` is mounted but belongs to another PID namespace: PIDs read from it
 * are not the ones `kill(2)` takes here, so whatever would signal them must
 * refuse. Quiet where `/proc` cannot be read at all (the callers' own checks
 * say that).
 *
 * @example
 * ```ts
 * import { requireOwnProc } from "./pid_namespace.ts";
 * requireOwnProc(); // before signalling anything found through /proc
 * ```
 */
export function requireOwnProc(): void {
  if (Deno.build.os !== "linux") return;
  let self: string;
  try {
    self = Deno.readLinkSync("/proc/self");
  } catch {
    return;
  }
  if (self !== String(Deno.pid)) throw new PidkitError(FOREIGN_PROC);
}

/** The one-line reason given when `/proc` belongs to another PID namespace. */
export const FOREIGN_PROC =
  "/proc is not the proc of this PID namespace (started with unshare --pid but without " +
  "--mount-proc?): its PIDs are not ours to signal; mount a proc for the namespace";

/**
 * The `NSpid` line of `/proc/PID/status`: the process's PID in each PID
 * namespace it is visible in, from the one `/proc` belongs to (first) to its
 * own, innermost one (last). `undefined` when the process is gone or the
 * file is unreadable.
 *
 * @example
 * ```ts
 * import { readNsPids } from "./pid_namespace.ts";
 * console.log(readNsPids(Deno.pid)); // [1234] outside containers, [1234, 1] as a container's init
 * ```
 */
export function readNsPids(pid: number): number[] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const m = /^NSpid:\s*([\d\s]+)$/m.exec(text);
  if (!m) return undefined;
  return m[1].trim().split(/\s+/).map(Number);
}

/** Where the PID written in a PID file lives, as {@linkcode locatePid} found it. */
export interface PidLocation {
  /** The PID as written in the file (in the writer's namespace). */
  written: number;
  /**
   * The same process as the kernel numbers it in the namespace `/proc`
   * belongs to (the PID to read `/proc`, and to signal when `/proc` is
   * ours); `undefined` when it could not be found.
   */
  kernelPid: number | undefined;
  /** True when the lock holder lives in another (nested) PID namespace than `/proc`'s. */
  namespaced: boolean;
}

/**
 * Translate the PID written in a PID file into the PID of that process here.
 * `holderPid` is the lock holder as `/proc/locks` reports it (the PID in
 * `/proc`'s namespace). When the holder lives in the same namespace, the
 * written PID is already ours. When it lives in a nested one (a container),
 * the written PID is in the holder's namespace: the holder itself when its
 * innermost PID matches, otherwise the process that has that PID at the
 * holder's namespace level (found by scanning `NSpid` lines of the
 * processes in the holder's namespace).
 *
 * @example
 * ```ts
 * import { locatePid } from "./pid_namespace.ts";
 * // A PID file written by a container's init (pid 1 there), locked by host pid 1385:
 * console.log(locatePid(1, 1385)); // { written: 1, kernelPid: 1385, namespaced: true }
 * ```
 */
export function locatePid(written: number, holderPid: number | undefined): PidLocation {
  const same: PidLocation = { written, kernelPid: written, namespaced: false };
  if (holderPid === undefined || Deno.build.os !== "linux") return same;
  const holderNs = readPidNamespace(holderPid);
  const ours = readPidNamespace("self");
  // Our own namespace (the common case): no need to read the holder's NSpid.
  if (holderNs === undefined || (ours !== undefined && holderNs === ours)) return same;
  const levels = readNsPids(holderPid);
  if (levels === undefined || levels.length <= 1) return same;
  const notFound: PidLocation = { written, kernelPid: undefined, namespaced: true };
  if (levels[levels.length - 1] === written) return { ...notFound, kernelPid: holderPid };
  // Another process of the holder's namespace (its service, say): same
  // namespace inode, and `written` at the holder's level of NSpid.
  const level = levels.length - 1;
  for (const pid of listPids()) {
    const ns = readNsPids(pid);
    if (ns === undefined || ns.length <= level || ns[level] !== written) continue;
    if (readPidNamespace(pid) === holderNs) return { ...notFound, kernelPid: pid };
  }
  return notFound;
}

/**
 * Whether the process the kernel numbers `kernelPid` here is the one a
 * state file recorded as `recorded` (PID and start time), possibly from
 * inside a PID namespace: the PID matches in the process's own (innermost)
 * namespace and the start time (ticks after boot, the same in every
 * namespace) is equal.
 *
 * @example
 * ```ts
 * import { isRecordedProcess } from "./pid_namespace.ts";
 * // A supervisor that is PID 1 of a container, seen from the host as 1385:
 * console.log(isRecordedProcess(1385, { pid: 1, startTime: 270717 }));
 * ```
 */
export function isRecordedProcess(
  kernelPid: number,
  recorded: { pid: number; startTime: number },
): boolean {
  if (kernelPid === recorded.pid) return true;
  const levels = readNsPids(kernelPid);
  if (levels === undefined || levels[levels.length - 1] !== recorded.pid) return false;
  return readProcStat(kernelPid)?.startTime === recorded.startTime;
}
