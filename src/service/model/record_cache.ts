/**
 * Service records kept between looks: `pidkit top` looks at every record of
 * the run directory each second, the HTTP server at every scrape, and most
 * do not change between looks.
 *
 * @module
 */

import { readServiceRecordSync, type ServiceRecord } from "./service_record.ts";

/** What a cached record was read from: a record is rewritten by rename, so a new write is a new inode. */
interface Cached {
  ino: number | null;
  mtimeMs: number;
  size: number;
  record: ServiceRecord | undefined;
}

/**
 * State files read once and read again only when their inode, modification
 * time or size changed (the supervisor writes them atomically, by rename).
 * Same contract as `readServiceRecordSync`: `undefined` for a missing file,
 * `PidFileError` for one that cannot be read or is not a record (not cached).
 *
 * @example
 * ```ts
 * import { RecordCache } from "./record_cache.ts";
 * const records = new RecordCache();
 * console.log(records.read("/run/pidkit/web.json")?.phase); // reads the file
 * console.log(records.read("/run/pidkit/web.json")?.phase); // a stat, no read
 * ```
 */
export class RecordCache {
  readonly #entries = new Map<string, Cached>();
  #seen = new Set<string>();

  /** The record at `path`, read again only when the file changed. */
  read(path: string): ServiceRecord | undefined {
    this.#seen.add(path);
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(path);
    } catch {
      // Missing, or an error the reader words: let it.
      this.#entries.delete(path);
      return readServiceRecordSync(path);
    }
    const mtimeMs = st.mtime?.getTime() ?? -1;
    const hit = this.#entries.get(path);
    if (hit && hit.ino === st.ino && hit.mtimeMs === mtimeMs && hit.size === st.size) {
      return hit.record;
    }
    this.#entries.delete(path);
    const record = readServiceRecordSync(path);
    this.#entries.set(path, { ino: st.ino, mtimeMs, size: st.size, record });
    return record;
  }

  /** Forget the records not read since the last call (services that are gone). */
  prune(): void {
    for (const path of this.#entries.keys()) {
      if (!this.#seen.has(path)) this.#entries.delete(path);
    }
    this.#seen = new Set();
  }
}
