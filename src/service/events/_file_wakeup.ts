/**
 * Wakes a reader when a file changes, by inotify (`Deno.watchFs`) on the
 * directory that holds it: appends to it, and a new file renamed over it
 * (a rotation), wake the reader; changes to other files of the directory do
 * not. While that directory does not exist, nothing is watched: the reader
 * looks every {@linkcode NO_WATCH_MS} until it appears.
 *
 * Why the directory and not the file (runtime facts: "A watched file replaced
 * by a rename goes silent"): Deno 2.9 does not deliver the events
 * of a file that was renamed over a watched path, neither to the old watch
 * nor to a new `Deno.watchFs` of the same path in the same process (checked:
 * the new watcher stays silent), so a rotation would end the wake-ups. A
 * directory's watch sees every file of it: the journal has a directory of
 * its own (journal_files.ts), so services' logs do not wake its readers.
 *
 * Why never the directory's parent, the run directory (runtime facts: "A
 * watched directory with a FIFO in it can stop the event loop"): Deno's
 * watcher thread opens each file an event names, and blocks in the open of a
 * FIFO nobody writes to (a service's `NAME.out` as its supervisor closes
 * it); closing that watcher then blocks the event loop until someone opens
 * the FIFO, which may be never. The journal's directory holds no FIFO.
 *
 * A bounded fallback timer wakes the reader as well: every
 * {@linkcode SAFETY_MS} with a watch (a filesystem that does not report
 * changes through inotify, such as NFS, or a directory replaced under the
 * watch, which the same Deno limit leaves silent), every
 * {@linkcode NO_WATCH_MS} without one (no directory yet, or inotify is out
 * of watches).
 *
 * @module
 */

/** With a watch: the longest a change can go unseen where inotify says nothing. */
export const SAFETY_MS = 2000;
/**
 * Without a watch (no directory yet, no inotify): how often to look. Short:
 * the first events of a journal that appears are delivered within it.
 */
export const NO_WATCH_MS = 50;

/** Wakes whoever waits on it when the file at `path` changes. */
export class FileWakeup {
  readonly path: string;
  readonly #dir: string;
  #watcher: Deno.FsWatcher | undefined;
  /** The inode of the watched directory (a directory made again is watched again). */
  #watched: number | undefined;
  #fired = false;
  #wake: (() => void) | undefined;

  constructor(path: string) {
    this.path = path;
    this.#dir = dirname(path);
  }

  /**
   * Watch the file's directory, if it exists. Call it before reading the
   * file: a change after that wakes the next {@linkcode FileWakeup.wait}.
   */
  arm(): void {
    let ino: number | undefined;
    try {
      const st = Deno.statSync(this.#dir);
      if (st.isDirectory) ino = st.ino ?? undefined;
    } catch { /* not there (yet) */ }
    if (this.#watcher !== undefined && ino === this.#watched) return;
    this.#closeWatcher();
    if (ino === undefined) return;
    try {
      this.#watcher = Deno.watchFs(this.#dir, { recursive: false });
    } catch {
      return; // out of inotify watches: the fallback timer
    }
    this.#watched = ino;
    // The file, or a rotated one moved into place.
    void this.#listen(this.#watcher, this.path.slice(this.#dir.length));
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
