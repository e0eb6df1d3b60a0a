/**
 * The host the run directory's resident supervisor (dir_supervisor.ts)
 * gives every per-service machine it holds: its one poll loop and
 * subreaper, the marker scan it made as it started, its journal, and the
 * event journal (DIR/events/events.jsonl) as the machines' event sink. Starts
 * are reported once ready; orphans are adopted.
 *
 * @module
 */

import type { FdPoller } from "../../os/fd_poller.ts";
import type { Adoption } from "../../os/orphan_reaper.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import type { ServiceEventSink } from "../model/service_event.ts";
import { scanMarkedTrees } from "../inspect/marked_trees.ts";
import { NO_EVENTS, type SupervisionHost } from "../machine/host.ts";

/** What the resident supervisor lends its machines. */
export interface DirHostParts {
  /** The run directory. */
  readonly dir: string;
  /** Its poll loop (made before any machine). */
  readonly poller?: FdPoller;
  /** Its subreaper. */
  readonly adoption: Adoption;
  /** The trees of the directory found by their markers as it started. */
  readonly marked: Map<string, TreeRef[]>;
  /** The event journal, whose `sink` the machines' events go to. */
  readonly events?: { sink: ServiceEventSink };
  /** Make the run directory again when it was removed. */
  ensureDir(): void;
  /** A line in its journal. */
  note(text: string): Promise<void>;
}

/**
 * The resident supervisor's host of machines.
 *
 * @example
 * ```ts
 * import { dirHost } from "./dir_host.ts";
 * const host = dirHost({
 *   dir: "/tmp/pidkit-example",
 *   adoption: {},
 *   marked: new Map(),
 *   ensureDir: () => {},
 *   note: () => Promise.resolve(),
 * });
 * console.log(host.kind); // "dir"
 * ```
 */
export function dirHost(d: DirHostParts): SupervisionHost {
  return {
    kind: "dir",
    poller: d.poller,
    reaper: d.adoption,
    events: d.events?.sink ?? NO_EVENTS, // the event journal, DIR/events/events.jsonl
    reportsAtSpawn: false,
    adoptsOrphans: true,
    pidFileCheckMs: 1000, // 200 services: 200 stats a second
    markedTrees: (name, fresh) => (fresh ? scanMarkedTrees(d.dir, name) : d.marked).get(name) ?? [],
    ensureDir: () => d.ensureDir(),
    note: (text) => void d.note(text),
  };
}
