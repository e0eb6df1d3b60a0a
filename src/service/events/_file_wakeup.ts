/**
 * Wakes a reader when a file changes, by inotify (`Deno.watchFs`) on the
 * directory that holds it: appends to it, and a new file renamed over it
 * (a rotation), wake the reader; changes to other files of the directory do
 * not. While that directory does not exist, its parent is watched until it
 * appears.
 *
 * Why the directory and not the file (runtime facts: "A watched file replaced
 * by a rename goes silent"): Deno 2.9 does not deliver the events
 * of a file that was renamed over a watched path, neither to the old watch
 * nor to a new `Deno.watchFs` of the same path in the same process (checked:
 * the new watcher stays silent), so a rotation would end the wake-ups. A
 * directory's watch sees every file of it: the journal has a directory of
 * its own (journal_files.ts), so services' logs do not wake its readers.
 *
 * A bounded fallback timer wakes the reader as well: every
 * {@linkcode SAFETY_MS} with a watch (a filesystem that does not report
 * changes through inotify, such as NFS, or a directory replaced under the
 * watch, which the same Deno limit leaves silent), every
 * {@linkcode NO_WATCH_MS} without one (nothing to watch yet, or inotify is
 * out of watches).
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
  readonly #parent: string;
  #watcher: Deno.FsWatcher | undefined;
  /** What is watched: `"dir"` (the file's directory) or `"parent"` (its parent), by inode. */
  #watched: string | undefined;
  #fired = false;
  #wake: (() => void) | undefined;

  constructor(path: string) {
    this.path = path;
    this.#dir = dirname(path);
    this.#parent = dirname(this.#dir);
  }

  /**
   * Watch the file's directory (else its parent). Call it before reading
   * the file: a change after that wakes the next {@linkcode FileWakeup.wait}.
   */
  arm(): void {
    let key: string | undefined;
    let target = this.#dir;
    for (const [where, path] of [["dir", this.#dir], ["parent", this.#parent]] as const) {
      try {
        const st = Deno.statSync(path);
        if (!st.isDirectory) continue;
        [key, target] = [`${where}:${st.ino}`, path];
        break;
      } catch { /* not there (yet) */ }
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
    // In the file's directory: the file (or a rotated one moved into place); in the parent: the directory.
    const name = target === this.#dir
      ? this.path.slice(this.#dir.length)
      : this.#dir.slice(target.length);
    void this.#listen(this.#watcher, name);
  }

  async #listen(watcher: Deno.FsWatcher, name: string): Promise<void> {
    try {
      for await (const event of watcher) {
        // Reads (ours too: each read of new lines is an access) change nothing.
        if (event.kind === "access" || !event.paths.some((p) => p.endsWith(name))) continue;
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

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}
