/**
 * `--watch PATH` (development): restart the service when a file under a
 * watched path changes, through inotify (`src/os/inotify.ts`: not
 * `Deno.watchFs`, whose watcher can hang on a FIFO). Changes are
 * gathered for `--watch-delay` (default 200 ms) after the last one, so an
 * editor's save (a temporary file written, then renamed over the file)
 * restarts the service once, not once per event.
 *
 * A watched directory is watched recursively (one inotify watch per
 * directory, ignored directories not at all, new ones as they come); a
 * watched file is watched through its directory (a rename over it replaces
 * its inode, which a watch on the file itself would lose). Paths with a
 * `.git` or `node_modules` segment are ignored, and so are those matching a
 * `--watch-ignore` glob: a glob without `/` matches any one segment
 * (`*.log`, `dist`), one with `/` the path relative to the watched
 * directory (`src/gen/**`); `*` and `?` stay within a segment, `**` spans
 * segments.
 *
 * @module
 */

import type { PolicyTarget, ServicePolicy } from "../model/policy.ts";
import type { FdPoller } from "../../os/fd_poller.ts";
import { Inotify, type InotifyChange } from "../../os/inotify.ts";

/** How long a change waits for a service being (re)started to run before it is dropped. */
const NOT_RUNNING_PATIENCE_MS = 10_000;

/** Segments whose changes never restart a service. */
const ALWAYS_IGNORED = new Set([".git", "node_modules"]);

/** What a {@linkcode WatchPolicy} watches. */
export interface WatchPolicyOptions {
  /** Absolute paths (files or directories). */
  paths: string[];
  /** `--watch-ignore` globs. */
  ignore?: string[];
  /** Quiet time before the restart, ms. */
  delayMs: number;
  /** The supervisor's poll loop, which reads the inotify descriptor. */
  poller: FdPoller;
}

/**
 * A glob as a RegExp over a `/`-separated path: `*` and `?` within a
 * segment, `**` across segments.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "./watch_policy.ts";
 * console.log(globToRegExp("src/**\/*.ts").test("src/a/b.ts")); // true
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      // `**/` is zero or more whole segments; a trailing `**` anything.
      if (glob[i + 2] === "/") {
        re += "(?:[^/]*/)*";
        i += 2;
      } else {
        re += ".*";
        i++;
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Whether a change of `path` (absolute) under watched `root` is ignored.
 *
 * @example
 * ```ts
 * import { ignoredChange } from "./watch_policy.ts";
 * console.log(ignoredChange("/app/.git/index", "/app", [])); // true
 * console.log(ignoredChange("/app/out.log", "/app", ["*.log"])); // true
 * ```
 */
export function ignoredChange(path: string, root: string, ignore: string[]): boolean {
  const rel = path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
  const segments = rel.split("/");
  if (segments.some((s) => ALWAYS_IGNORED.has(s))) return true;
  return ignore.some((glob) => {
    const re = globToRegExp(glob);
    return glob.includes("/") ? re.test(rel) : segments.some((s) => re.test(s));
  });
}

/**
 * The file watch of one service.
 *
 * @example
 * ```ts
 * import { WatchPolicy } from "./watch_policy.ts";
 * import { FdPoller } from "../../os/fd_poller.ts";
 * import type { PolicyTarget } from "../model/policy.ts";
 * declare const target: PolicyTarget;
 * const poller = FdPoller.create()!;
 * const policy = new WatchPolicy(target, { paths: ["/srv/app/src"], delayMs: 200, poller });
 * policy.start();
 * policy.close();
 * ```
 */
export class WatchPolicy implements ServicePolicy {
  readonly name = "watch" as const;
  readonly #target: PolicyTarget;
  readonly #opts: WatchPolicyOptions;
  #inotify?: Inotify;
  #timer?: ReturnType<typeof setTimeout>;
  /** The changed paths gathered since the last restart. */
  readonly #changed = new Set<string>();
  /** Watched directories: the root each was found under, or the one file watched in it. */
  readonly #roots = new Map<string, { root: string; only?: string }>();
  #closed = false;
  /** Delays waited for the service to run again (see {@linkcode NOT_RUNNING_PATIENCE_MS}). */
  #waited = 0;

  constructor(target: PolicyTarget, options: WatchPolicyOptions) {
    this.#target = target;
    this.#opts = options;
  }

  start(): void {
    this.#inotify = Inotify.open(this.#opts.poller, (c) => this.#onChange(c));
    if (this.#inotify === undefined) {
      this.#target.log(`cannot watch files for ${this.#target.name}: inotify is not available`);
      return;
    }
    for (const path of this.#opts.paths) {
      let isDir: boolean;
      try {
        isDir = Deno.statSync(path).isDirectory;
      } catch (err) {
        this.#target.log(`cannot watch ${path}: ${(err as Error).message}`);
        continue;
      }
      if (isDir) this.#addTree(path, path);
      else this.#addDir(path.replace(/\/[^/]+$/, "") || "/", { root: path, only: path });
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#inotify?.close();
  }

  #addDir(dir: string, where: { root: string; only?: string }): void {
    if (this.#roots.has(dir)) return;
    if (!this.#inotify!.add(dir)) {
      this.#target.log(`cannot watch ${dir} (inotify limit, or gone)`);
      return;
    }
    this.#roots.set(dir, where);
  }

  /** `dir` and every directory under it that is not ignored. */
  #addTree(dir: string, root: string): void {
    if (dir !== root && ignoredChange(dir, root, this.#opts.ignore ?? [])) return;
    this.#addDir(dir, { root });
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return; // gone meanwhile
    }
    for (const e of entries) {
      if (e.isDirectory) this.#addTree(`${dir}/${e.name}`, root);
    }
  }

  #onChange(change: InotifyChange): void {
    if (this.#closed) return;
    if (change.overflow) {
      this.#changed.add("(many files: the kernel's event queue overflowed)");
      return this.#settle();
    }
    const dir = change.path.replace(/\/[^/]+$/, "");
    const where = this.#roots.get(dir);
    if (where === undefined) return;
    if (where.only !== undefined) {
      if (change.path !== where.only) return;
    } else {
      if (ignoredChange(change.path, where.root, this.#opts.ignore ?? [])) return;
      // A directory made (or moved in) under a watched one is watched too.
      if (change.isDir && change.created) this.#addTree(change.path, where.root);
    }
    this.#changed.add(change.path);
    this.#settle();
  }

  /** Restart once no change came for the delay. */
  #settle(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#closed) return;
      const changed = [...this.#changed];
      this.#changed.clear();
      const more = changed.length > 1 ? ` (and ${changed.length - 1} more)` : "";
      // The last one: after an editor's rename, the file it saved.
      const reason = `${changed.at(-1)} changed${more}`;
      const t = this.#target;
      if (t.running()) {
        this.#waited = 0;
        return t.restart({ policy: "watch", reason });
      }
      // Being restarted (or started) right now: its new instance may have
      // read the files before this change; restart it once it runs. Given
      // up after a while (stopped, crashed, waiting for a schedule).
      if (++this.#waited * this.#opts.delayMs < NOT_RUNNING_PATIENCE_MS) {
        for (const path of changed) this.#changed.add(path);
        return this.#settle();
      }
      this.#waited = 0;
      t.log(`${reason}: ${t.name} is not running; nothing to restart`);
    }, this.#opts.delayMs);
  }
}
