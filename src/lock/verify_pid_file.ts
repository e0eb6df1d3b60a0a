/**
 * The whole verdict on any PID file, locked or not: the lock first (held ->
 * running, whoever holds it), then, when the lock is free, the verification
 * ladder of `unlocked_pid_file.ts` (daemons that never lock their PID
 * file), then the identity options (`exec`, `name`, `user`). This is what
 * `status`, `stop` and `wait --pidfile` decide by.
 *
 * Kept light (no `node:` imports, the PID file module loaded only when the
 * caller has no probe yet): `pidkit status` loads it.
 *
 * @module
 */

import { FileError } from "../os/errors.ts";
import type { ProbeResult } from "./probe.ts";
import {
  checkIdentity,
  hasIdentity,
  type IdentityOptions,
  type ResolvedIdentity,
  resolveIdentity,
} from "../os/process_identity.ts";
import { readProcStat } from "../os/proc.ts";
import type { PidRecord } from "./record.ts";
import { firstLinePid, judgeUnlocked } from "./unlocked_pid_file.ts";

/**
 * What {@linkcode verifyPidFile} decided.
 *
 * @example
 * ```ts
 * import { type PidFileVerdict, verifyPidFile } from "@pidkit/pidkit";
 * const v: PidFileVerdict = await verifyPidFile("/run/nginx.pid", { exec: "/usr/sbin/nginx" });
 * if (v.status === "running") console.log(v.pid, v.locked ? "locked" : "unlocked", v.verifiedBy);
 * ```
 */
export type PidFileVerdict =
  | {
    /** The program runs: its lock is held, or (unlocked) the ladder proved the PID is the writer. */
    status: "running";
    /** Whether a process holds the file's lock. */
    locked: boolean;
    /** The PID the file names (for a locked file, when readable). */
    pid: number | undefined;
    /** The lock holder as the kernel reports it (locked files, where /proc can tell). */
    holderPid?: number;
    /** The process checked and to be signalled: the holder, else the PID in the file. */
    target?: { pid: number; startTime: number };
    /**
     * How it was verified, strongest first: `lock`, `recorded-start-time`
     * (a JSON record's start time matches), `start-time` (started no later
     * than the file's last write), then `exec`, `name`, `user`.
     */
    verifiedBy: string[];
    /** One line for people. */
    detail: string;
    /** The parsed record, when the whole file is one. */
    record?: PidRecord;
    /** Lines after the PID of a file that is no PID record as a whole (postmaster.pid). */
    extraLines?: string[];
  }
  | {
    /** Not running: the file is left over. Nothing it names is ever signalled. */
    status: "stale";
    locked: false;
    pid?: number;
    /** Why, in one line. */
    reason: string;
    record?: PidRecord;
    extraLines?: string[];
    /** Why the content is no PID record, when it is not. */
    error?: FileError;
  }
  | {
    /** A live process, but not the program asked for (`exec`, `name`, `user`): refused. */
    status: "mismatch";
    locked: boolean;
    pid: number;
    /** What it is instead, in one line. */
    reason: string;
  }
  | {
    /** No file, or an empty one that nobody holds. */
    status: "absent";
  };

/**
 * Options for {@linkcode verifyPidFile}: what the named process must be.
 *
 * @example
 * ```ts
 * import type { VerifyOptions } from "@pidkit/pidkit";
 * const options: VerifyOptions = { exec: "/usr/bin/redis-server", user: "redis" };
 * ```
 */
export type VerifyOptions = IdentityOptions;

/**
 * Decide whether the program behind the PID file at `path` runs, for files
 * pidkit holds *and* for the unlocked PID files most daemons write: the
 * lock first; a free lock goes through the verification ladder (see
 * `docs/pid_files.md`): a dead or zombie PID, a file from before this boot,
 * or a PID whose process started after the file was last written (reuse)
 * is `stale`; a live PID that started no later than the last write is
 * `running` with `locked: false`. Identity options narrow it further; a
 * mismatch is `mismatch`. A file whose first line is a PID and that has
 * more lines (postgres' `postmaster.pid`) is read by its first line.
 *
 * Reads `/proc` (Deno needs `-A`). Throws {@linkcode FileError} when the
 * path is a symlink, not a regular file or not readable, and
 * `UsageError` for an `exec` file that does not exist or an unknown user.
 *
 * @example
 * ```ts
 * import { verifyPidFile } from "@pidkit/pidkit";
 * const v = await verifyPidFile("/run/nginx.pid");
 * console.log(v.status === "running" ? `running (${v.detail})` : v.status);
 * ```
 */
export async function verifyPidFile(
  path: string,
  options: VerifyOptions = {},
): Promise<PidFileVerdict> {
  const identity = resolveIdentity(options);
  const { probe } = await import("./probe.ts");
  return judgePidFile(path, await probe(path), identity);
}

/** The verdict for `path` given its probe (see {@linkcode verifyPidFile}). */
export function judgePidFile(
  path: string,
  probed: ProbeResult,
  identity: ResolvedIdentity = {},
): PidFileVerdict {
  if (probed.status === "absent") return { status: "absent" };
  if (probed.status === "running") {
    const pid = probed.holderPid ?? probed.pid;
    const st = pid === undefined ? undefined : readProcStat(pid);
    const target = pid !== undefined && st ? { pid, startTime: st.startTime } : undefined;
    const base = {
      status: "running" as const,
      locked: true,
      pid: probed.pid,
      ...(probed.holderPid !== undefined ? { holderPid: probed.holderPid } : {}),
      ...(target ? { target } : {}),
      ...(probed.record ? { record: probed.record } : {}),
    };
    if (!hasIdentity(identity)) {
      return { ...base, verifiedBy: ["lock"], detail: "a process holds its lock" };
    }
    if (pid === undefined) {
      return { status: "mismatch", locked: true, pid: 0, reason: "cannot tell who holds the lock" };
    }
    const id = checkIdentity(pid, identity);
    if (!id.ok) return { status: "mismatch", locked: true, pid, reason: id.reason };
    return { ...base, verifiedBy: ["lock", ...id.checked], detail: "a process holds its lock" };
  }
  let pid = probed.pid;
  let record = probed.record;
  let extraLines: string[] | undefined;
  if (pid === undefined) {
    const first = readFirstLine(path);
    if (first === undefined) {
      return {
        status: "stale",
        locked: false,
        reason: probed.error?.message ?? "the file names no PID",
        ...(probed.error ? { error: probed.error } : {}),
      };
    }
    pid = first.pid;
    extraLines = first.rest;
    record = undefined;
  }
  const mtimeMs = mtimeOf(path);
  const verdict = judgeUnlocked({ pid, record, mtimeMs });
  const extra = {
    ...(record ? { record } : {}),
    ...(extraLines ? { extraLines } : {}),
  };
  if (verdict.state === "stale") {
    return { status: "stale", locked: false, pid, reason: verdict.reason, ...extra };
  }
  // Init started before any file was written, so the start-time rung proves
  // nothing for pid 1: a file naming it (left by a container's init whose
  // namespace is gone, say) would always pass. Only the file's own record
  // or an identity option can make pid 1 the writer.
  if (pid === 1 && verdict.verifiedBy === "start-time" && !hasIdentity(identity)) {
    return {
      status: "stale",
      locked: false,
      pid,
      reason: "pid 1 is this namespace's init, which started before any file: " +
        "not taken for the writer without --exec, --name or --user",
      ...extra,
    };
  }
  const id = checkIdentity(pid, identity);
  if (!id.ok) return { status: "mismatch", locked: false, pid, reason: id.reason };
  return {
    status: "running",
    locked: false,
    pid,
    target: { pid, startTime: verdict.startTime },
    verifiedBy: [verdict.verifiedBy, ...id.checked],
    detail: `unlocked; ${verdict.detail}`,
    ...extra,
  };
}

function readFirstLine(path: string): { pid: number; rest: string[] } | undefined {
  try {
    const bytes = Deno.readFileSync(path);
    if (bytes.length > 64 * 1024) return undefined;
    return firstLinePid(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function mtimeOf(path: string): number | undefined {
  try {
    return Deno.lstatSync(path).mtime?.getTime();
  } catch {
    return undefined;
  }
}
