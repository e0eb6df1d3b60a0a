/**
 * Which program a process is, the way start-stop-daemon asks it: the
 * executable (`--exec PATH`: device and inode of `/proc/PID/exe`), the
 * command name (`--name NAME`: `comm`, at most 15 bytes) and the real user
 * (`--user USER`). `status`, `stop` and `wait --pidfile` use these to make
 * sure a PID file names the program the caller means.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import { readProcStat } from "./proc.ts";
import { findPasswdEntry } from "./passwd.ts";

/**
 * What the process named by a PID file must be.
 *
 * @example
 * ```ts
 * import type { IdentityOptions } from "@pidkit/pidkit";
 * const nginx: IdentityOptions = { exec: "/usr/sbin/nginx", user: "root" };
 * ```
 */
export interface IdentityOptions {
  /** Its executable is this file (same device and inode; a deleted copy at this path counts). */
  exec?: string;
  /** Its command name (`comm`, compared on the first 15 bytes as the kernel truncates it). */
  name?: string;
  /** Its real user: a name from /etc/passwd or a numeric uid. */
  user?: string | number;
}

/** {@linkcode IdentityOptions} checked and resolved once, before any process is looked at. */
export interface ResolvedIdentity {
  exec?: { path: string; dev: number; ino: number };
  name?: string;
  user?: { text: string; uid: number };
}

/**
 * Check and resolve identity options: the `exec` file must exist, the user
 * must be known. Throws {@linkcode UsageError} with one line otherwise.
 */
export function resolveIdentity(options: IdentityOptions): ResolvedIdentity {
  const out: ResolvedIdentity = {};
  if (options.exec !== undefined) {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(options.exec);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      throw new UsageError(`--exec ${options.exec}: ${why}`);
    }
    if (!st.isFile) throw new UsageError(`--exec ${options.exec}: not a regular file`);
    out.exec = { path: realPath(options.exec), dev: st.dev, ino: st.ino ?? 0 };
  }
  if (options.name !== undefined) {
    if (options.name === "" || options.name.includes("/")) {
      throw new UsageError(`--name '${options.name}': give a command name, not a path`);
    }
    out.name = options.name.slice(0, 15);
  }
  if (options.user !== undefined) {
    out.user = { text: String(options.user), uid: lookupUid(String(options.user)) };
  }
  return out;
}

/** Whether any identity option is set. */
export function hasIdentity(identity: ResolvedIdentity): boolean {
  return identity.exec !== undefined || identity.name !== undefined || identity.user !== undefined;
}

/**
 * Check process `pid` against `identity`: `{ ok: true, checked }` with the
 * names of the checks that passed (`exec`, `name`, `user`), or `{ ok: false,
 * reason }` with one line saying what it is instead.
 */
export function checkIdentity(
  pid: number,
  identity: ResolvedIdentity,
): { ok: true; checked: string[] } | { ok: false; reason: string } {
  const checked: string[] = [];
  if (identity.exec) {
    const why = execMismatch(pid, identity.exec);
    if (why) return { ok: false, reason: why };
    checked.push("exec");
  }
  if (identity.name !== undefined) {
    const comm = readProcStat(pid)?.comm;
    if (comm !== identity.name) {
      return { ok: false, reason: `pid ${pid} is ${comm ?? "gone"}, not ${identity.name}` };
    }
    checked.push("name");
  }
  if (identity.user) {
    const uid = realUid(pid);
    if (uid !== identity.user.uid) {
      return {
        ok: false,
        reason: `pid ${pid} runs as uid ${
          uid ?? "?"
        }, not ${identity.user.text} (uid ${identity.user.uid})`,
      };
    }
    checked.push("user");
  }
  return { ok: true, checked };
}

function execMismatch(
  pid: number,
  exec: NonNullable<ResolvedIdentity["exec"]>,
): string | undefined {
  let link: string | undefined;
  try {
    link = Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch { /* a kernel thread, gone, or not ours to read */ }
  try {
    const st = Deno.statSync(`/proc/${pid}/exe`);
    if (st.dev === exec.dev && st.ino === exec.ino) return undefined;
  } catch { /* see below */ }
  // The binary was replaced after the daemon started (a package upgrade):
  // the link reads "PATH (deleted)"; it is still that program.
  if (link === `${exec.path} (deleted)`) return undefined;
  if (link === undefined) return `cannot read /proc/${pid}/exe: not ${exec.path}`;
  return `pid ${pid} runs ${link}, not ${exec.path}`;
}

function realUid(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^Uid:\s+(\d+)/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function lookupUid(user: string): number {
  const entry = findPasswdEntry(user);
  if (entry !== undefined) return entry.uid;
  if (/^\d+$/.test(user)) return Number(user);
  throw new UsageError(`--user ${user}: no such user`);
}

function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}
