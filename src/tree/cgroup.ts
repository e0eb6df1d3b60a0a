/**
 * The cgroup v2 tracker: one child cgroup per process tree. `cgroup.procs`
 * lists every member however it forked, `cgroup.kill` kills them all at
 * once, and `cgroup.events` says when the last one is gone.
 *
 * Where the cgroup goes: `pidkit/<name>-<nonce>` below our own cgroup (the
 * `0::/path` line of `/proc/self/cgroup`, mapped onto the cgroup2 mount found
 * in `/proc/self/mountinfo`), so a delegated subtree (a systemd user
 * session, a container) works; where that is not writable, below the root
 * of the hierarchy. Both pure-v2 (`/sys/fs/cgroup`) and hybrid layouts
 * (`/sys/fs/cgroup/unified` beside v1 controllers) are found the same way.
 *
 * The "no internal processes" rule of cgroup v2 (a non-root cgroup with
 * controllers enabled in `cgroup.subtree_control` may not hold processes)
 * never bites the leaf we create, because nothing enables controllers in
 * it; when the kernel still refuses a move (`EBUSY`, `EOPNOTSUPP` in a
 * threaded subtree, `EACCES` without delegation), the next place is tried
 * and, failing all, the caller falls back to group tracking.
 *
 * The shared `pidkit` parent directory is removed when the last tree in it
 * is gone.
 *
 * @module
 */

import { delay } from "../os/delay.ts";
import { messageLine, TreeError } from "../os/errors.ts";
import { readCgroupV2Path, readMountinfo } from "../os/proc.ts";
import { CGROUP_PARENT } from "./marker.ts";

/**
 * Where the cgroup v2 hierarchy is and where this process sits in it.
 *
 * @example
 * ```ts
 * import { type Cgroup2Info, findCgroup2 } from "@pidkit/pidkit/tree";
 * const info: Cgroup2Info | undefined = findCgroup2();
 * console.log(info?.mountPoint); // e.g. "/sys/fs/cgroup"
 * ```
 */
export interface Cgroup2Info {
  /** Mount point of the cgroup2 filesystem, e.g. `/sys/fs/cgroup` or `/sys/fs/cgroup/unified`. */
  mountPoint: string;
  /** This process's cgroup, as `/proc/self/cgroup` says (`/` = the root). */
  ownPath: string;
  /** The directory of this process's cgroup, when it lies inside the mount. */
  ownDir: string | undefined;
}

/**
 * Find the cgroup v2 hierarchy and this process's place in it, or
 * `undefined` when no cgroup2 filesystem is mounted (or `/proc` is not
 * readable). Says nothing about whether it is writable.
 *
 * @example
 * ```ts
 * import { findCgroup2 } from "@pidkit/pidkit/tree";
 * const cg = findCgroup2();
 * console.log(cg ? `cgroup2 at ${cg.mountPoint}, we are in ${cg.ownPath}` : "no cgroup2");
 * ```
 */
export function findCgroup2(): Cgroup2Info | undefined {
  if (Deno.build.os !== "linux") return undefined;
  let ownPath: string | undefined;
  try {
    ownPath = readCgroupV2Path("self");
  } catch {
    return undefined;
  }
  const mounts = readMountinfo().filter((m) => m.fsType === "cgroup2");
  if (mounts.length === 0) return undefined;
  // Prefer a mount whose root contains our cgroup (a cgroup namespace or a
  // bind mount of a subtree has a root other than "/").
  for (const m of mounts) {
    if (ownPath === undefined) break;
    const root = m.root === "/" ? "" : m.root;
    if (ownPath === m.root || ownPath.startsWith(`${root}/`)) {
      const rel = ownPath.slice(root.length);
      return {
        mountPoint: m.mountPoint,
        ownPath,
        ownDir: rel === "" || rel === "/" ? m.mountPoint : `${m.mountPoint}${rel}`,
      };
    }
  }
  return { mountPoint: mounts[0].mountPoint, ownPath: ownPath ?? "/", ownDir: undefined };
}

let mountPoints: string[] | undefined;

/**
 * Whether `dir` lies inside a mounted cgroup2 hierarchy: under one of its
 * mount points, with no `.` or `..` segment. A path read from a file (a
 * tree reference) must pass this before pidkit reads `cgroup.procs` there
 * and signals what it lists: elsewhere anyone could write such a file. The
 * mount points are read once per process.
 *
 * @example
 * ```ts
 * import { isInCgroup2 } from "./cgroup.ts";
 * console.log(isInCgroup2("/tmp/pidkit/x-1")); // false
 * ```
 */
export function isInCgroup2(dir: string): boolean {
  if (dir.split("/").some((part) => part === "." || part === "..")) return false;
  mountPoints ??= readMountinfo().filter((m) => m.fsType === "cgroup2").map((m) => m.mountPoint);
  return mountPoints.some((m) => dir.startsWith(m === "/" ? "/" : `${m}/`));
}

/** Remove a directory if it exists and is empty; true when it is gone. */
function rmdirQuietly(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}

/**
 * Create the cgroup `pidkit/<leaf>` and move `pid` into it, trying below our
 * own cgroup first and then below the root of the hierarchy. Returns the
 * new cgroup's directory. Throws a `"no-cgroup"` {@linkcode TreeError} naming every place
 * tried when none works; nothing is left behind then.
 */
export function placeInCgroup(pid: number, leaf: string): string {
  const info = findCgroup2();
  if (info === undefined) {
    throw new TreeError(
      "no-cgroup",
      "cgroup tracking unavailable: no cgroup2 filesystem in /proc/self/mountinfo; use tracking 'group'",
    );
  }
  const bases = [...new Set([info.ownDir, info.mountPoint].filter((b) => b !== undefined))];
  const failures: string[] = [];
  for (const base of bases) {
    const parent = `${base}/${CGROUP_PARENT}`;
    const dir = `${parent}/${leaf}`;
    try {
      makeLeaf(parent, dir);
    } catch (err) {
      failures.push(`mkdir ${dir}: ${messageLine(err)}`);
      continue;
    }
    try {
      Deno.writeTextFileSync(`${dir}/cgroup.procs`, `${pid}\n`);
      return dir;
    } catch (err) {
      failures.push(`move pid ${pid} into ${dir}: ${messageLine(err)}`);
      rmdirQuietly(dir);
      rmdirQuietly(parent);
    }
  }
  throw new TreeError(
    "no-cgroup",
    `cgroup tracking unavailable (${failures.join("; ")}); run as root or in a delegated ` +
      `cgroup, or use tracking 'group'`,
  );
}

/** mkdir parent (if missing) and leaf; retried once if another tree removed the parent meanwhile. */
function makeLeaf(parent: string, dir: string): void {
  for (let attempt = 0;; attempt++) {
    try {
      Deno.mkdirSync(parent, { recursive: true });
      Deno.mkdirSync(dir);
      return;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && attempt < 3) continue;
      throw err;
    }
  }
}

/** Every PID in the cgroup (may include a zombie for a moment); empty when the cgroup is gone. */
export function cgroupPids(dir: string): number[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dir}/cgroup.procs`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const pids: number[] = [];
  for (const line of text.split("\n")) if (line !== "") pids.push(Number(line));
  return pids;
}

/** Whether any live process is in the cgroup or below it (`populated 1` in `cgroup.events`). */
export function cgroupPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(Deno.readTextFileSync(`${dir}/cgroup.events`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * SIGKILL every process in the cgroup at once through `cgroup.kill`
 * (Linux 5.14+). Returns false where the kernel has no `cgroup.kill`, so
 * the caller signals each PID instead.
 */
export function cgroupKill(dir: string): boolean {
  try {
    Deno.writeTextFileSync(`${dir}/cgroup.kill`, "1\n");
    return true;
  } catch {
    return false;
  }
}

/**
 * Wait until the cgroup is empty, at most `timeoutMs` (Infinity = no
 * limit). Event-driven: an inotify watch on `cgroup.events` (the kernel
 * notifies on every change of `populated`), with a slow poll as a safety
 * net, and a fast poll where watching is not possible. `onTick` runs on
 * every poll (every 20 ms) so the caller can signal members that forked
 * meanwhile. Resolves true when empty, false at the deadline.
 */
export function waitCgroupEmpty(
  dir: string,
  timeoutMs: number,
  onTick?: () => void,
): Promise<boolean> {
  if (!cgroupPopulated(dir)) return Promise.resolve(true);
  let watcher: Deno.FsWatcher | undefined;
  try {
    watcher = Deno.watchFs(`${dir}/cgroup.events`, { recursive: false });
  } catch {
    watcher = undefined;
  }
  return new Promise((resolve) => {
    let finished = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (empty: boolean) => {
      if (finished) return;
      finished = true;
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      try {
        watcher?.close();
      } catch { /* already closed */ }
      resolve(empty);
    };
    const check = () => {
      if (!cgroupPopulated(dir)) finish(true);
    };
    const poll = setInterval(() => {
      onTick?.();
      check();
    }, watcher ? 20 : 2);
    if (Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => {
        check();
        finish(false);
      }, Math.max(0, timeoutMs));
    }
    if (watcher) {
      (async () => {
        try {
          for await (const _ of watcher) {
            check();
            if (finished) break;
          }
        } catch {
          // watcher closed
        }
      })();
    }
    check(); // it may have emptied before the watch was in place
  });
}

/**
 * Remove the cgroup directory once it is empty (and the shared `pidkit`
 * parent when no other tree uses it). Retries briefly: right after the last
 * member exits, `rmdir` can still see it (`EBUSY`). Returns true when the
 * directory is gone.
 */
export async function removeCgroup(dir: string): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (rmdirQuietly(dir)) {
      const parent = dir.slice(0, dir.lastIndexOf("/"));
      if (parent.endsWith(`/${CGROUP_PARENT}`)) rmdirQuietly(parent);
      return true;
    }
    if (cgroupPopulated(dir)) return false;
    await delay(2);
  }
  return false;
}
