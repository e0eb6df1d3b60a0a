/**
 * Reading the run directory's journal of lifecycle events after the fact
 * (`pidkit events` without `-f`): every kept file, oldest first, a line at
 * a time; lines that are not events (a writer killed mid-line) are passed
 * over.
 *
 * @module
 */

import { resolveRunDir } from "../model/run_dir.ts";
import type { ServiceEvent } from "../model/service_event.ts";
import { eventsPath, openJournalFiles, parseEventLine, readAll } from "./journal_files.ts";

const decoder = new TextDecoder();

/** Options of {@linkcode readEvents}. */
export interface ReadEventsOptions {
  /** The run directory (default: as every command resolves it, see `resolveRunDir`). */
  dir?: string;
  /** Only these services' events (default: every service's). */
  services?: string[];
  /** Only the last N (after the `services` filter); default: all kept. */
  last?: number;
  /** Only events whose `seq` is greater than this. */
  after?: number;
}

/**
 * The events kept in the journal of a run directory, oldest first: the
 * rotated files (`events.jsonl.N` ... `.1`) and the current one. A journal
 * that does not exist (no supervisor ever ran there) has none.
 *
 * @example
 * ```ts
 * import { readEvents } from "@pidkit/pidkit/service";
 * for (const e of await readEvents({ dir: "/tmp/pidkit-example", services: ["web"], last: 20 })) {
 *   console.log(e.seq, e.time, e.service, e.kind);
 * }
 * ```
 */
export async function readEvents(options: ReadEventsOptions = {}): Promise<ServiceEvent[]> {
  const path = eventsPath(resolveRunDir({ dir: options.dir }));
  const files = await openJournalFiles(path);
  const out: ServiceEvent[] = [];
  try {
    for (const { file } of files) {
      const text = decoder.decode(await readAll(file));
      out.push(...selectEvents(text, options));
    }
  } finally {
    for (const { file } of files) file.close();
  }
  return options.last === undefined ? out : out.slice(Math.max(0, out.length - options.last));
}

/**
 * The events of journal text `text` that `options` asks for (its `last` aside).
 *
 * @example
 * ```ts
 * import { selectEvents } from "./read_events.ts";
 * const text = '{"seq":1,"time":"2026-01-01T00:00:00.000Z","service":"web","kind":"ready"}\n';
 * console.log(selectEvents(text, { services: ["web"] }).length); // 1
 * ```
 */
export function selectEvents(
  text: string,
  options: Pick<ReadEventsOptions, "services" | "after">,
): ServiceEvent[] {
  const want = options.services?.length ? new Set(options.services) : undefined;
  const out: ServiceEvent[] = [];
  for (const line of text.split("\n")) {
    const event = parseEventLine(line);
    if (event === undefined) continue;
    if (want && !want.has(event.service)) continue;
    if (options.after !== undefined && (event.seq ?? 0) <= options.after) continue;
    out.push(event);
  }
  return out;
}
