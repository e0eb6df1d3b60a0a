/**
 * Wakes a reader when a file changes, by inotify (`Deno.watchFs`): on the
 * file itself while it exists (appends wake it; a new file renamed over
 * the path, as a rotation does, makes {@linkcode FileWakeup.arm} watch the
 * new one), else on its directory until the file appears there.
 *
 * A bounded fallback timer wakes the reader as well: every
 * {@linkcode SAFETY_MS} with a watch (a filesystem that does not report
 * changes through inotify, such as NFS, still gets followed), every
 * {@linkcode NO_WATCH_MS} without one (the directory does not exist yet, so
 * there is nothing to watch; or inotify is out of watches).
 *
 * @module
 */

/** With a watch: the longest a change can go unseen where inotify says nothing. */
export const SAFETY_MS = 2000;
/** Without a watch (no directory yet, no inotify): how often to look. */
export const NO_WATCH_MS = 250;

/** Wakes whoever waits on it when the file at `path` changes. */
export class FileWakeup {
  readonly path: string;
  readonly #dir: string;
  #watcher: Deno.FsWatcher | undefined;
  /** What is watched: the file's inode, `"dir"`, or nothing. */
  #watched: number | null | "dir" | undefined;
  #fired = false;
  #wake: (() => void) | undefined;

  constructor(path: string) {
    this.path = path;
    this.#dir = path.slice(0, path.lastIndexOf("/")) || "/";
  }

  /**
   * Watch what is at the path now (the file, else its directory). Call it
   * before reading the file: a change after that wakes the next
   * {@linkcode FileWakeup.wait}.
   */
  arm(): void {
    let key: number | null | "dir" | undefined;
    let target = this.path;
    try {
      key = Deno.statSync(this.path).ino;
    } catch {
      try {
        if (Deno.statSync(this.#dir).isDirectory) [key, target] = ["dir", this.#dir];
      } catch { /* nothing to watch yet */ }
    }
    if (this.#watcher !== undefined && key === this.#watched) return;
    this.#closeWatcher();
    this.#watched = key;
    if (key === undefined) return;
    try {
      this.#watcher = Deno.watchFs(target, { recursive: false });
    } catch {
      return; // out of inotify watches: the fallback timer
    }
    void this.#listen(this.#watcher, key === "dir");
  }

  async #listen(watcher: Deno.FsWatcher, inDir: boolean): Promise<void> {
    const name = this.path.slice(this.path.lastIndexOf("/"));
    try {
      for await (const event of watcher) {
        // A directory's watch reports every file of it (services' logs): only ours wakes.
        if (inDir && !event.paths.some((p) => p.endsWith(name))) continue;
        this.#fired = true;
        this.#wake?.();
      }
    } catch { /* closed */ }
  }

  /**
   * Until a change since the last wait (at once if there was one), the
   * fallback timer, or `signal`'s abort.
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (this.#fired || signal?.aborted) {
      this.#fired = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        this.#fired = false;
        resolve();
      };
      const timer = setTimeout(done, this.#watcher ? SAFETY_MS : NO_WATCH_MS);
      signal?.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
  }

  #closeWatcher(): void {
    try {
      this.#watcher?.close();
    } catch { /* closed */ }
    this.#watcher = undefined;
    this.#watched = undefined;
  }

  /** Stop watching (a waiter is woken). */
  close(): void {
    this.#closeWatcher();
    this.#wake?.();
  }
}
