/**
 * The one reader of `/etc/passwd` (and the group list of `/etc/group`):
 * `--user` of `start`/`run` and `--user` of `status`/`stop --pidfile` both
 * resolve users here.
 *
 * @module
 */

/**
 * One `/etc/passwd` entry.
 *
 * @example
 * ```ts
 * import { findPasswdEntry, type PasswdEntry } from "./passwd.ts";
 * const root: PasswdEntry | undefined = findPasswdEntry("root");
 * console.log(root?.home); // "/root"
 * ```
 */
export interface PasswdEntry {
  /** The user name. */
  name: string;
  /** The user id. */
  uid: number;
  /** The primary group id. */
  gid: number;
  /** The home directory (`HOME`). */
  home: string;
  /** The login shell (`SHELL`); `/bin/sh` when the entry leaves it empty, as login(1) does. */
  shell: string;
}

/**
 * The `/etc/passwd` entry of `user`, a name or a numeric uid (a name wins
 * over a uid that looks the same); `undefined` when there is none or the
 * file cannot be read.
 *
 * @example
 * ```ts
 * import { findPasswdEntry } from "./passwd.ts";
 * console.log(findPasswdEntry("0")?.name); // "root"
 * ```
 */
export function findPasswdEntry(user: string): PasswdEntry | undefined {
  const entries: PasswdEntry[] = [];
  for (const line of readOrEmpty("/etc/passwd").split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue;
    entries.push({
      name: f[0],
      uid: Number(f[2]),
      gid: Number(f[3]),
      home: f[5],
      shell: f[6] || "/bin/sh",
    });
  }
  return entries.find((e) => e.name === user) ??
    (/^\d+$/.test(user) ? entries.find((e) => e.uid === Number(user)) : undefined);
}

/**
 * Every group of `/etc/group` whose member list names `name`, plus `gid`
 * when there is any (as initgroups(3) sets them); sorted.
 *
 * @example
 * ```ts
 * import { groupsOf } from "./passwd.ts";
 * console.log(groupsOf("root", 0));
 * ```
 */
export function groupsOf(name: string, gid: number): number[] {
  const groups = new Set<number>();
  for (const line of readOrEmpty("/etc/group").split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && /^\d+$/.test(f[2]) && f[3].split(",").includes(name)) {
      groups.add(Number(f[2]));
    }
  }
  if (groups.size > 0) groups.add(gid);
  return [...groups].sort((a, b) => a - b);
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return ""; // without it: numeric ids only
  }
}
