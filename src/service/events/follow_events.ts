/**
 * Following the run directory's journal of lifecycle events as it grows
 * (`pidkit events -f`; the status page subscribes to the journal inside the
 * supervisor instead): each event as soon as it is
 * written, woken by inotify (see _file_wakeup.ts), across rotation and
 * across supervisors (the journal is a file: a supervisor's successor
 * appends to it and goes on with its `seq`).
 *
 * @module
 */

import { LogFollower } from "../output/log_reader.ts";
import { resolveRunDir } from "../model/run_dir.ts";
import { FileWakeup } from "./_file_wakeup.ts";
import { eventsPath, openJournalFiles, parseEventLine, readAll } from "./journal_files.ts";
import { type ReadEventsOptions, selectEvents } from "./read_events.ts";
import type { ServiceEvent } from "../model/service_event.ts";

const decoder = new TextDecoder();

/** Options of {@linkcode followEvents}. */
export interface FollowEventsOptions extends ReadEventsOptions {
  /**
   * Kept events to deliver first: the last N (after the `services`
   * filter). Default 0: only what is written from now on. With `after`,
   * every kept event after that `seq` instead (to resume where a reader
   * stopped).
   */
  last?: number;
  /** Ends the iteration (the iterator returns). */
  signal?: AbortSignal;
  /**
   * Called once, with the journal's path, when following begins and the
   * journal does not exist yet: it has been looked for and the follower
   * now waits for it. A journal made after the call is read from its
   * first event. (To say "waiting for ..." to a user, or for a test to
   * make the journal only then.)
   */
  onWaiting?: (path: string) => void;
}

/**
 * The lifecycle events of a run directory's services as they are
 * recorded: started, ready, exited, restarting, failed, stopped, adopted,
 * and the rest of {@linkcode ServiceEvent}'s kinds. Each is delivered
 * within a few milliseconds of being written (an inotify watch on the
 * journal, no polling), in `seq` order, and none is missed across the
 * journal's rotation, nor when the supervisor dies and a successor takes
 * the directory over (the successor's events follow with the next `seq`).
 * It goes on until `signal` aborts or the loop is left; a journal that
 * does not exist yet is waited for (`onWaiting` says when).
 *
 * @example Print every event of `web` as it happens, for a second
 * ```ts
 * import { followEvents } from "@pidkit/pidkit/service";
 *
 * const signal = AbortSignal.timeout(1000);
 * for await (const e of followEvents({ dir: "/tmp/pidkit-example", services: ["web"], signal })) {
 *   console.log(e.seq, e.time, e.service, e.kind, e.code ?? "", e.reason ?? "");
 * }
 * ```
 *
 * @example Say so when there is no journal yet
 * ```ts
 * import { followEvents } from "@pidkit/pidkit/service";
 *
 * const signal = AbortSignal.timeout(1000);
 * const onWaiting = (path: string) => console.error(`waiting for ${path}`);
 * for await (const e of followEvents({ dir: "/tmp/pidkit-example-new", signal, onWaiting })) {
 *   console.log(e.seq, e.service, e.kind);
 * }
 * ```
 */
export async function* followEvents(
  options: FollowEventsOptions = {},
): AsyncGenerator<ServiceEvent, void, undefined> {
  const path = eventsPath(resolveRunDir({ dir: options.dir }));
  const wakeup = new FileWakeup(path);
  wakeup.arm();
  const { kept, follower, found } = await startFollowing(path, options);
  try {
    if (!found) options.onWaiting?.(path);
    yield* kept;
    while (!options.signal?.aborted) {
      wakeup.arm(); // before reading: a write after this wakes the wait below
      for (const line of await follower.poll()) {
        const event = parseEventLine(decoder.decode(line.bytes));
        if (event && wanted(event, options)) yield event;
      }
      await wakeup.wait(options.signal);
    }
  } finally {
    wakeup.close();
    follower.close();
  }
}

/**
 * The kept events asked for, and a follower that starts right after them:
 * on the current file where the read stopped (a rotation meanwhile is the
 * follower's to catch up with), or at the start of the file that appears
 * (`found` false: there was none).
 */
async function startFollowing(
  path: string,
  options: FollowEventsOptions,
): Promise<{ kept: ServiceEvent[]; follower: LogFollower; found: boolean }> {
  const files = await openJournalFiles(path);
  const kept: ServiceEvent[] = [];
  let current: { file: Deno.FsFile; position: number } | undefined;
  try {
    for (const { file, path: name } of files) {
      const bytes = await readAll(file);
      // Up to the last whole line: the follower hands out the rest as it is finished.
      const end = bytes.lastIndexOf(10) + 1;
      kept.push(...selectEvents(decoder.decode(bytes.subarray(0, end)), options));
      if (name === path) current = { file, position: end };
    }
  } catch (err) {
    for (const { file } of files) file.close();
    throw err;
  }
  for (const { file } of files) if (file !== current?.file) file.close();
  const follower = current
    ? new LogFollower(path, current.file, current.position)
    : new LogFollower(path);
  const last = options.after !== undefined ? kept.length : (options.last ?? 0);
  return { kept: kept.slice(Math.max(0, kept.length - last)), follower, found: !!current };
}

function wanted(event: ServiceEvent, options: FollowEventsOptions): boolean {
  if (options.services?.length && !options.services.includes(event.service)) return false;
  return options.after === undefined || (event.seq ?? 0) > options.after;
}
