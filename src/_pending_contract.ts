/**
 * TEMPORARY stand-ins for the contract shapes of `src/pid_file.ts`,
 * `src/record.ts` and `src/tree.ts` (issues 3 and 4), which are being built
 * in parallel. Delete this file once those modules are merged from `main`.
 *
 * @module
 */

import { PidFileError } from "./errors.ts";
import { isProcessAlive, listPids, lockHolders, readEnviron, readProcStat } from "./proc.ts";

/** See CONTRACT.md (src/record.ts). */
export interface PidRecord {
  /** See CONTRACT.md. */
  pid: number;
  /** See CONTRACT.md. */
  ppid?: number;
  /** See CONTRACT.md. */
  startTime?: number;
  /** See CONTRACT.md. */
  bootId?: string;
  /** See CONTRACT.md. */
  pidNamespace?: number;
  /** See CONTRACT.md. */
  hostname?: string;
  /** See CONTRACT.md. */
  argv?: string[];
  /** See CONTRACT.md. */
  createdAt?: string;
  /** See CONTRACT.md. */
  format: "plain" | "json";
  /** See CONTRACT.md. */
  [extra: string]: unknown;
}

/** See CONTRACT.md (src/pid_file.ts). */
export type ProbeResult =
  | {
    state: "running";
    /** See CONTRACT.md. */
    pid: number | undefined;
    /** See CONTRACT.md. */
    holderPid: number | undefined;
    /** See CONTRACT.md. */
    record: PidRecord | undefined;
  }
  | { state: "stale"; pid?: number; record?: PidRecord }
  | { state: "absent" };

/** See CONTRACT.md (src/tree.ts). */
export type Tracking = "cgroup" | "group";

/** See CONTRACT.md (src/tree.ts). */
export interface TreeRef {
  /** See CONTRACT.md. */
  pid: number;
  /** See CONTRACT.md. */
  startTime: number;
  /** See CONTRACT.md. */
  pgid: number;
  /** See CONTRACT.md. */
  sid: number;
  /** See CONTRACT.md. */
  marker: string;
  /** See CONTRACT.md. */
  tracking: Tracking;
  /** See CONTRACT.md. */
  cgroupPath?: string;
}

function parseRecord(path: string, text: string): PidRecord | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^\d+$/.test(t)) return { pid: Number(t), format: "plain" };
  try {
    const o = JSON.parse(t);
    if (typeof o?.pid === "number") return { ...o, format: "json" };
  } catch { /* fall through */ }
  throw new PidFileError(path, "bad-content", `${path}: not a PID file (no PID in it)`);
}

/** Minimal probe with the contract's shape (shared lock, /proc/locks holder). */
export async function probe(path: string): Promise<ProbeResult> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { state: "absent" };
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new PidFileError(path, "permission", `${path}: permission denied`);
    }
    throw err;
  }
  try {
    const free = await file.tryLock(false);
    const text = new TextDecoder().decode(await Deno.readFile(path));
    if (free) {
      const record = parseRecord(path, text);
      return record ? { state: "stale", pid: record.pid, record } : { state: "absent" };
    }
    const st = await file.stat();
    const record = parseRecord(path, text);
    return {
      state: "running",
      pid: record?.pid,
      holderPid: lockHolders(st.dev, st.ino!, "WRITE")[0],
      record,
    };
  } finally {
    file.close();
  }
}

/** Live members of a tree by process group, session and marker (stand-in for attachTree). */
export function treeMembers(ref: TreeRef): number[] {
  const out: number[] = [];
  for (const pid of listPids()) {
    const st = readProcStat(pid);
    if (!st || !isProcessAlive(pid)) continue;
    if (st.pgid === ref.pgid || st.sid === ref.sid) out.push(pid);
    else if (readEnviron(pid)?.includes(`PIDKIT_SERVICE=${ref.marker}`)) out.push(pid);
  }
  return out;
}
