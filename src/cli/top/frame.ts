/**
 * `pidkit top`'s screen as pure functions of data: the sort orders, moving
 * the selection, and one frame rendered to lines of a given width and
 * height. Nothing here reads a file or the terminal.
 *
 * @module
 */

import type { TopSample, TopService } from "../../service/top/top_sampler.ts";
import { formatDuration } from "../../os/duration.ts";
import { formatBytes } from "../../os/byte_size.ts";
import type { TopKey } from "./keys.ts";

/**
 * What the table is sorted by (`s` cycles through them in this order).
 *
 * @example
 * ```ts
 * import type { SortKey } from "./frame.ts";
 * const first: SortKey = "name";
 * ```
 */
export type SortKey = "name" | "cpu" | "memory" | "restarts";

/** The sort orders, in the order `s` goes through them. */
export const SORT_KEYS: readonly SortKey[] = ["name", "cpu", "memory", "restarts"];

/**
 * The sort after `key` (`s`).
 *
 * @example
 * ```ts
 * import { nextSort } from "./frame.ts";
 * nextSort("restarts"); // "name"
 * ```
 */
export function nextSort(key: SortKey): SortKey {
  return SORT_KEYS[(SORT_KEYS.indexOf(key) + 1) % SORT_KEYS.length];
}

/**
 * The services in the order `key` says: by name; or busiest first (CPU,
 * memory, restarts, each highest first, unknown values last), ties by name.
 * Returns a new array.
 *
 * @example
 * ```ts
 * import { sortServices } from "./frame.ts";
 * import type { TopService } from "../../service/top/top_sampler.ts";
 * const services: TopService[] = [];
 * console.log(sortServices(services, "cpu").map((s) => s.name));
 * ```
 */
export function sortServices(services: readonly TopService[], key: SortKey): TopService[] {
  const value = (s: TopService): number =>
    key === "cpu"
      ? s.cpuPercent ?? -1
      : key === "memory"
      ? (s.processes > 0 ? s.memoryBytes : -1)
      : s.restarts ?? -1;
  const byName = (a: TopService, b: TopService) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  if (key === "name") return services.toSorted(byName);
  return services.toSorted((a, b) => value(b) - value(a) || byName(a, b));
}

/**
 * The selection after a movement key, by name so that it stays on its
 * service when the order changes: `up`/`down` one row, `page-up`/`page-down`
 * by `page` rows, `home`/`end`; no selection (or one whose service is gone)
 * starts at the first row. Other keys keep it.
 *
 * @example
 * ```ts
 * import { moveSelection } from "./frame.ts";
 * import type { TopService } from "../../service/top/top_sampler.ts";
 * const rows = [{ name: "a" }, { name: "b" }] as TopService[];
 * moveSelection(rows, "a", "down", 10); // "b"
 * ```
 */
export function moveSelection(
  sorted: readonly TopService[],
  selected: string | undefined,
  key: TopKey,
  page: number,
): string | undefined {
  if (sorted.length === 0) return undefined;
  const at = sorted.findIndex((s) => s.name === selected);
  const steps: Partial<Record<TopKey, number>> = {
    "up": -1,
    "down": 1,
    "page-up": -Math.max(1, page),
    "page-down": Math.max(1, page),
    "home": -sorted.length,
    "end": sorted.length,
  };
  const step = steps[key];
  if (at < 0) return sorted[0].name;
  if (step === undefined) return selected;
  return sorted[Math.max(0, Math.min(sorted.length - 1, at + step))].name;
}

/**
 * Everything one frame shows.
 *
 * @example
 * ```ts
 * import type { TopFrame } from "./frame.ts";
 * const size: Pick<TopFrame, "columns" | "rows"> = { columns: 80, rows: 24 };
 * ```
 */
export interface TopFrame {
  /** The look to show. */
  sample: TopSample;
  /** Its services in display order ({@linkcode sortServices}). */
  sorted: readonly TopService[];
  /** The order they are in. */
  sort: SortKey;
  /** The selected service's name. */
  selected?: string;
  /** The log pane (`l`): the selected service's last lines, or why there are none. */
  logs?: { name: string; lines: readonly string[] };
  /** The time of day to show, e.g. `20:14:03`. */
  clock: string;
  /** ANSI colours and reverse video. */
  color: boolean;
  /** Terminal width. */
  columns: number;
  /** Terminal height. */
  rows: number;
}

/** A piece of a line and how to paint it. */
interface Span {
  text: string;
  style?: string;
}

/** The table's columns: heading, width (0: the name's), right-aligned. */
const COLUMNS: [string, number, boolean][] = [
  ["NAME", 0, false],
  ["STATE", 10, false],
  ["READY", 5, false],
  ["PID", 7, true],
  ["PROCS", 5, true],
  ["CPU%", 6, true],
  ["MEM", 9, true],
  ["RESTARTS", 8, true],
  ["UPTIME", 7, true],
  ["STATUS", 0, false],
];

/** The widest NAME column; longer names are cut. */
const NAME_MAX = 32;

/**
 * One frame: exactly `rows` lines (fewer only when `rows` is under 1), none
 * wider than `columns` visible characters. A title line (run directory,
 * counts, sort, clock), the column headings, a window of the table that
 * keeps the selection in view (marked `>` and, with colour, in reverse
 * video), the log pane when open (the lower half), and a key help line.
 *
 * @example
 * ```ts
 * import { renderFrame } from "./frame.ts";
 * const lines = renderFrame({
 *   sample: { dir: "/run/pidkit", uptimeSeconds: 100, services: [], stoppedSupervisors: [] },
 *   sorted: [],
 *   sort: "name",
 *   clock: "20:14:03",
 *   color: false,
 *   columns: 80,
 *   rows: 24,
 * });
 * console.log(lines.join("\n"));
 * ```
 */
export function renderFrame(frame: TopFrame): string[] {
  const { sample, sorted, columns, color } = frame;
  const rows = Math.max(0, Math.floor(frame.rows));
  const width = Math.max(1, Math.floor(columns));
  const line = (spans: Span[]) => fit(spans, width, color);
  const running = sorted.filter((s) => s.pid !== null).length;
  const count = sorted.length === 1 ? "1 service" : `${sorted.length} services`;
  const title = line([
    { text: "pidkit top", style: "1" },
    {
      text: `  ${sample.dir}  ${count}, ${running} running  sort: ${frame.sort}  ${frame.clock}`,
    },
  ]);
  const nameWidth = Math.min(NAME_MAX, Math.max(4, ...sorted.map((s) => s.name.length)));
  const head = line([{ text: `  ${cells(COLUMNS.map((c) => c[0]), nameWidth)}`, style: "7" }]);
  const stopped = sample.stoppedSupervisors.length > 0
    ? `  supervisor ${sample.stoppedSupervisors.join(", ")} stopped (kill -CONT resumes)`
    : "";
  const help = line([
    { text: "q quit  s sort  up/down select  l logs" + (frame.logs ? " (l/Esc close)" : "") },
    { text: stopped, style: "31" },
  ]);
  const body = Math.max(0, rows - 3);
  const logHeight = frame.logs ? Math.min(body, Math.max(2, Math.floor(body / 2))) : 0;
  const tableHeight = body - logHeight;
  const out = [title, head].slice(0, rows);
  const at = Math.max(0, sorted.findIndex((s) => s.name === frame.selected));
  const first = Math.max(0, Math.min(at - tableHeight + 1, sorted.length - tableHeight));
  for (let i = 0; i < tableHeight; i++) {
    const s = sorted[first + i];
    out.push(s === undefined ? "" : line(serviceSpans(s, s.name === frame.selected, nameWidth)));
  }
  if (frame.logs && logHeight > 0) {
    out.push(
      line([{ text: `-- ${frame.logs.name}: last log lines `.padEnd(width, "-"), style: "2" }]),
    );
    const shown = frame.logs.lines.slice(-(logHeight - 1));
    for (let i = 0; i < logHeight - 1; i++) out.push(line([{ text: clean(shown[i] ?? "") }]));
  }
  if (rows >= 3) out.push(help);
  return out.slice(0, rows);
}

/** The spans of one service's row. */
function serviceSpans(s: TopService, selected: boolean, nameWidth: number): Span[] {
  const dash = "-";
  const up = s.pid !== null;
  const values = [
    s.name.length > nameWidth ? s.name.slice(0, nameWidth) : s.name,
    s.state,
    s.ready === null ? dash : s.ready ? "yes" : "no",
    s.pid?.toString() ?? dash,
    up ? String(s.processes) : dash,
    s.cpuPercent === null ? dash : s.cpuPercent.toFixed(1),
    up && s.processes > 0 ? formatBytes(s.memoryBytes) : dash,
    s.restarts?.toString() ?? dash,
    s.uptimeMs === null ? dash : formatDuration(s.uptimeMs),
    clean(s.statusText ?? ""),
  ];
  const text = cells(values, nameWidth);
  const mark = selected ? "> " : "  ";
  if (selected) return [{ text: mark + text, style: "7" }];
  // The state word in its colour: it starts after the name column.
  const stateAt = nameWidth + 2;
  return [
    { text: mark + text.slice(0, stateAt) },
    { text: text.slice(stateAt, stateAt + s.state.length), style: stateStyle(s.state) },
    { text: text.slice(stateAt + s.state.length) },
  ];
}

/** Lay out `values` in {@linkcode COLUMNS}, two spaces apart; the last is not padded. */
function cells(values: string[], nameWidth: number): string {
  return values.map((v, i) => {
    if (i === values.length - 1) return v;
    const [, w, right] = COLUMNS[i];
    const size = i === 0 ? nameWidth : w;
    return right ? v.padStart(size) : v.padEnd(size);
  }).join("  ").trimEnd();
}

/** The colour of a state word (as `list` paints it). */
function stateStyle(state: string): string {
  switch (state) {
    case "running":
      return "32";
    case "starting":
    case "stopping":
    case "reloading":
    case "restarting":
      return "33";
    case "stopped":
      return "2";
    default:
      return "31";
  }
}

/** Control characters (a log line's tabs, escapes) made harmless and one column wide. */
function clean(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\t/g, " ").replace(/[\x00-\x1f\x7f]/g, "?");
}

/** Spans cut to `width` visible characters, painted when `color`. */
function fit(spans: Span[], width: number, color: boolean): string {
  let room = width;
  let out = "";
  for (const span of spans) {
    if (room <= 0) break;
    const text = span.text.length > room ? span.text.slice(0, room) : span.text;
    room -= text.length;
    if (text === "") continue;
    out += color && span.style ? `\x1b[${span.style}m${text}\x1b[0m` : text;
  }
  return out;
}
