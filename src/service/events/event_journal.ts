/**
 * The run directory's journal of lifecycle events: `DIR/events/events.jsonl`, one
 * JSON object per line
 * (`{"seq":12,"time":"2026-12-07T20:15:01.123Z","service":"web","kind":"exited","pid":42,"code":1,"signal":null}`),
 * rotated by size like the logs (`events.jsonl.1`, `.2`, ...; see
 * log_rotation.ts). `seq` increases by one per event across writers and
 * supervisors: each append takes the file's lock (`flock`), and a writer
 * that finds the file grown or replaced since its last append reads the
 * last `seq` back from it first, so a successor supervisor (or `pidkit up`)
 * goes on where the last writer stopped.
 *
 * Appending never blocks its caller: {@linkcode EventJournal.append} queues
 * the event and one writer empties the queue in batches.
 *
 * @module
 */

import { finishRotation, rotateLogFiles } from "../output/log_rotation.ts";
import type { ServiceEvent, ServiceEventSink } from "../model/service_event.ts";
import { eventsPath, lastEventSeq } from "./journal_files.ts";

/** The journal grows to this many bytes before it rotates. */
export const EVENTS_MAX_BYTES = 1 << 20;
/** Rotated journal files kept (`events.jsonl.1` to `.N`). */
export const EVENTS_KEEP = 3;
/** Events waiting for the writer beyond this many: the oldest are dropped (a stuck disk). */
export const EVENTS_QUEUE_MAX = 10_000;

/** Options of {@linkcode EventJournal.open}. */
export interface EventJournalOptions {
  /** Rotate past this many bytes (default {@linkcode EVENTS_MAX_BYTES}). */
  maxBytes?: number;
  /** Rotated files kept (default {@linkcode EVENTS_KEEP}). */
  keep?: number;
}

const encoder = new TextEncoder();
/** The journal's mode: like the logs, the owner writes and its group reads. */
const MODE = 0o640;
/** Its directory's: anyone may look in (the files say who may read them). */
const DIR_MODE = 0o755;

/**
 * Appends events to the journal of one run directory.
 *
 * @example
 * ```ts
 * import { EventJournal } from "./event_journal.ts";
 * const journal = EventJournal.open("/tmp/pidkit-example");
 * journal.append({ service: "web", kind: "started", pid: 4242 });
 * await journal.close(); // written
 * ```
 */
export class EventJournal {
  /** The journal file. */
  readonly path: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #queue: ServiceEvent[] = [];
  readonly #listeners = new Set<(event: ServiceEvent) => void>();
  #writing: Promise<void> | undefined;
  #file: Deno.FsFile | undefined;
  #ino: number | null = null;
  /** Where the file ended after our last append (-1: unknown, read the last seq back). */
  #end = -1;
  #seq = 0;
  #dropped = 0;
  #closed = false;

  private constructor(path: string, options: EventJournalOptions) {
    this.path = path;
    this.#maxBytes = options.maxBytes ?? EVENTS_MAX_BYTES;
    this.#keep = options.keep ?? EVENTS_KEEP;
  }

  /**
   * A journal for run directory `dir`. Opens nothing yet: the first append
   * does (a rotation a killed writer left half done is finished first).
   */
  static open(dir: string, options: EventJournalOptions = {}): EventJournal {
    return new EventJournal(eventsPath(dir), options);
  }

  /** {@linkcode EventJournal.append} as a {@linkcode ServiceEventSink}. */
  readonly sink: ServiceEventSink = (event) => this.append(event);

  /** Events lost so far: the queue overflowed or the file could not be written. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Tell `listener` of every event appended from now on, in this process,
   * as it is queued (without its `seq`, which the write assigns): the
   * supervisor's status page follows its own events this way, without a
   * file watch. A listener must not throw (a throw is ignored) nor block.
   * Returns the function that stops it.
   */
  subscribe(listener: (event: ServiceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Queue `event` (stamped now unless it has a time); never throws, never waits. */
  append(event: Omit<ServiceEvent, "time" | "seq"> & { time?: string }): void {
    if (this.#closed) return;
    const { time, ...rest } = event;
    const stamped = { time: time ?? new Date().toISOString(), ...rest } as ServiceEvent;
    this.#queue.push(stamped);
    for (const listener of this.#listeners) {
      try {
        listener(stamped);
      } catch { /* a listener's problem, not the journal's */ }
    }
    if (this.#queue.length > EVENTS_QUEUE_MAX) {
      this.#dropped += this.#queue.length - EVENTS_QUEUE_MAX;
      this.#queue.splice(0, this.#queue.length - EVENTS_QUEUE_MAX);
    }
    this.#writing ??= this.#drain().finally(() => this.#writing = undefined);
  }

  /** Resolves once every event appended so far is written (or dropped). */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Write what is queued, then close the file; later appends are ignored. */
  async close(): Promise<void> {
    await this.flushed();
    this.#closed = true;
    this.#closeFile();
  }

  async #drain(): Promise<void> {
    // Let the events of this turn join one batch (one lock, one write).
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        await this.#write(batch);
      } catch {
        this.#dropped += batch.length; // a full or read-only disk: supervision goes on
        this.#closeFile();
      }
    }
  }

  /** Append `batch` under the file's lock, rotating before a line that would pass the bound. */
  async #write(batch: ServiceEvent[]): Promise<void> {
    let next = 0;
    while (next < batch.length) {
      const file = await this.#lockCurrent();
      try {
        let size = (await file.stat()).size;
        if (size !== this.#end) {
          const last = await lastEventSeq(this.path, file);
          this.#seq = Math.max(last.seq, this.#seq);
          // A line left unfinished by a writer killed mid-write stays a line of its own.
          if (last.unfinished) size += file.writeSync(encoder.encode("\n"));
        }
        const lines: string[] = [];
        let bytes = 0;
        let rotate = false;
        for (; next < batch.length; next++) {
          const line = formatEvent({ ...batch[next], seq: this.#seq + lines.length + 1 });
          const length = encoder.encode(line).length;
          if (size + bytes > 0 && size + bytes + length > this.#maxBytes) {
            rotate = true;
            break;
          }
          lines.push(line);
          bytes += length;
        }
        if (lines.length > 0) {
          const data = encoder.encode(lines.join(""));
          let off = 0;
          while (off < data.length) off += await file.write(data.subarray(off));
          this.#seq += lines.length;
        }
        this.#end = size + bytes;
        if (rotate) {
          rotateLogFiles(this.path, this.#keep);
          this.#end = -2; // the next file: 0 bytes, if no one else wrote first
          this.#closeFile();
        }
      } finally {
        await file.unlock().catch(() => {});
      }
    }
  }

  /** The file at the path, open and locked (opened again when it was replaced or removed). */
  async #lockCurrent(): Promise<Deno.FsFile> {
    for (;;) {
      const fresh = this.#file === undefined;
      if (this.#file === undefined) {
        this.#file = await openJournal(this.path);
        this.#ino = (await this.#file.stat()).ino;
        if (this.#end === -2) this.#end = 0;
        else this.#end = -1;
      }
      const file = this.#file;
      await file.lock(true);
      let ino: number | null | undefined;
      try {
        ino = (await Deno.stat(this.path)).ino;
      } catch { /* removed: open it anew */ }
      let finished = false;
      if (ino === this.#ino && fresh) {
        // Under the lock: a rotation in progress holds it too, so only one left half done is seen.
        try {
          finished = finishRotation(this.path);
        } catch { /* cannot: append where the journal is */ }
      }
      if (ino === this.#ino && !finished) return file;
      await file.unlock().catch(() => {});
      this.#closeFile();
    }
  }

  #closeFile(): void {
    try {
      this.#file?.close();
    } catch { /* closed */ }
    this.#file = undefined;
  }
}

/** Open (create) the journal for appending and reading; its directory too when missing. */
async function openJournal(path: string): Promise<Deno.FsFile> {
  const options = { read: true, append: true, create: true, mode: MODE };
  try {
    return await Deno.open(path, options);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  // Not recursive: a run directory that is gone is not made here (its supervisor makes it again).
  try {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { mode: DIR_MODE });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  return await Deno.open(path, options);
}

/**
 * One journal line: the event as JSON, `seq`, `time`, `service` and `kind`
 * first, and a newline.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./event_journal.ts";
 * formatEvent({ seq: 1, time: "2026-01-01T00:00:00.000Z", service: "web", kind: "ready" });
 * // '{"seq":1,"time":"2026-01-01T00:00:00.000Z","service":"web","kind":"ready"}\n'
 * ```
 */
export function formatEvent(event: ServiceEvent): string {
  const { seq, time, service, kind, ...rest } = event;
  return JSON.stringify({ seq, time, service, kind, ...rest }) + "\n";
}
