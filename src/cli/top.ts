/**
 * `pidkit top [--dir DIR] [--interval D]`: a live view of the run
 * directory's services, redrawn every interval (1 s), with keys: `q`
 * quits, `s` cycles the sort, arrows move the selection, `l` shows the
 * selected service's last log lines. The terminal is put back however it
 * ends (q, Ctrl-C, SIGINT, SIGTERM, SIGHUP or a closed terminal, an
 * error). Not a terminal: one snapshot, printed as `list` prints it.
 *
 * The data is TopSampler's (src/service/top/); the screen is a pure
 * function of it (top/frame.ts); this wires them to the terminal.
 *
 * @module
 */

import { parseDuration } from "../os/duration.ts";
import { UsageError } from "../os/errors.ts";
import { serviceLogs } from "../service/output/service_logs.ts";
import { type TopSample, TopSampler, type TopService } from "../service/top/top_sampler.ts";
import { EXIT, useColor } from "./io.ts";
import { run as runList } from "./list.ts";
import type { CommandInput } from "./spec.ts";
import { moveSelection, nextSort, renderFrame, type SortKey, sortServices } from "./top/frame.ts";
import { decodeKeys, type TopKey } from "./top/keys.ts";
import { Screen } from "./top/screen.ts";

/** The shortest --interval: a frame costs a look at every service. */
const MIN_INTERVAL_MS = 100;

/** `pidkit top`. */
export async function run(input: CommandInput): Promise<number> {
  const dir = input.values.dir as string | undefined;
  const intervalMs = parseInterval(input.values.interval as string | undefined);
  if (!Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) {
    return await runList({ ...input, values: { dir } });
  }
  const sampler = new TopSampler({ dir });
  const first = await sampler.sample(); // a bad run dir is one line, before the screen changes
  const top = new Top(sampler, first, intervalMs);
  return await top.run();
}

function parseInterval(text: string | undefined): number {
  if (text === undefined) return 1000;
  const ms = parseDuration(text);
  if (ms < MIN_INTERVAL_MS) {
    throw new UsageError(`bad --interval '${text}' (at least ${MIN_INTERVAL_MS}ms)`);
  }
  return ms;
}

/** Exit statuses of signals that end top: SIGINT is a quit, as Ctrl-C is. */
const SIGNAL_EXIT: [Deno.Signal, number][] = [
  ["SIGINT", EXIT.ok],
  ["SIGTERM", 128 + 15],
  ["SIGHUP", 128 + 1],
];

/** One run of top on the terminal. */
class Top {
  readonly #sampler: TopSampler;
  readonly #intervalMs: number;
  readonly #screen = new Screen();
  readonly #color = useColor();
  #sample: TopSample;
  #sort: SortKey = "name";
  #selected: string | undefined;
  #logs: { name: string; lines: string[] } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sampling = false;
  #finish: (code: number) => void = () => {};
  #page = 1;
  /** Quit, a signal, a closed terminal or an error: nothing is drawn any more. */
  #ended = false;
  #failure: unknown;

  constructor(sampler: TopSampler, first: TopSample, intervalMs: number) {
    this.#sampler = sampler;
    this.#sample = first;
    this.#intervalMs = intervalMs;
  }

  async run(): Promise<number> {
    const done = new Promise<number>((resolve) =>
      this.#finish = (code) => {
        this.#ended = true;
        resolve(code);
      }
    );
    const restore = () => this.#screen.restore();
    // Deno.exit from anywhere (an error's exit path) runs unload handlers.
    globalThis.addEventListener("unload", restore);
    const listeners: [Deno.Signal, () => void][] = SIGNAL_EXIT.map(([sig, code]) => [
      sig,
      () => this.#finish(code),
    ]);
    listeners.push(["SIGWINCH", () => this.#draw()]);
    for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
    try {
      this.#screen.enter();
      this.#draw();
      this.#schedule();
      this.#readKeys().catch(() => this.#finish(128 + 1));
      const code = await done;
      if (this.#failure !== undefined) throw this.#failure;
      return code;
    } finally {
      clearTimeout(this.#timer);
      restore();
      for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
      globalThis.removeEventListener("unload", restore);
    }
  }

  /** Keys until the terminal closes (EOF or an error: a hang-up). */
  async #readKeys(): Promise<void> {
    const buf = new Uint8Array(256);
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) {
        this.#finish(128 + 1);
        return;
      }
      for (const key of decodeKeys(buf.subarray(0, n))) this.#key(key);
    }
  }

  #key(key: TopKey): void {
    switch (key) {
      case "quit":
        this.#finish(EXIT.ok);
        return;
      case "sort":
        this.#sort = nextSort(this.#sort);
        break;
      case "logs":
        this.#toggleLogs();
        break;
      case "escape":
        this.#logs = undefined;
        break;
      case "redraw":
        break;
      default:
        this.#selected = moveSelection(this.#sorted(), this.#selected, key, this.#page);
    }
    this.#draw();
  }

  #toggleLogs(): void {
    if (this.#logs !== undefined || this.#selected === undefined) {
      this.#logs = undefined;
      return;
    }
    this.#logs = { name: this.#selected, lines: [] };
    this.#readLogs().then(() => this.#draw());
  }

  /** The open pane's service's last lines (as many as the screen has rows), or why there are none. */
  async #readLogs(): Promise<void> {
    const pane = this.#logs;
    if (pane === undefined) return;
    const lines: string[] = [];
    try {
      const items = serviceLogs(pane.name, {
        dir: this.#sampler.dir,
        lines: this.#screen.size().rows,
      });
      for await (const item of items) lines.push(item.type === "line" ? item.text : item.message);
    } catch (err) {
      lines.push((err as Error).message);
    }
    if (this.#logs === pane) pane.lines = lines;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#tick(), this.#intervalMs);
  }

  async #tick(): Promise<void> {
    if (this.#sampling || this.#ended) return;
    this.#sampling = true;
    const started = performance.now();
    try {
      this.#sample = await this.#sampler.sample();
      await this.#readLogs();
      this.#draw();
    } catch (err) {
      this.#finishWith(err);
      return;
    } finally {
      this.#sampling = false;
    }
    const spent = performance.now() - started;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, this.#intervalMs - spent));
  }

  /** An error while running: the screen is put back and `run` rethrows it. */
  #finishWith(err: unknown): void {
    this.#screen.restore();
    this.#failure = err;
    this.#finish(EXIT.failure);
  }

  #sorted(): TopService[] {
    return sortServices(this.#sample.services, this.#sort);
  }

  #draw(): void {
    if (this.#ended) return;
    const sorted = this.#sorted();
    if (!sorted.some((s) => s.name === this.#selected)) this.#selected = sorted[0]?.name;
    const { columns, rows } = this.#screen.size();
    this.#page = Math.max(1, rows - 4);
    const lines = renderFrame({
      sample: this.#sample,
      sorted,
      sort: this.#sort,
      selected: this.#selected,
      logs: this.#logs,
      clock: new Date().toTimeString().slice(0, 8),
      color: this.#color,
      columns,
      rows,
    });
    if (!this.#screen.draw(lines)) this.#finish(128 + 1); // the terminal is gone
  }
}
