/**
 * `pidkit events [-f] [--json] [-n N] [NAME...]`: the lifecycle events the
 * run directory's supervisor recorded (every service's, or these NAMEs'),
 * the last N; with `-f`, then each new one as it is recorded, until SIGINT
 * (exit 0). The reading is readEvents's and followEvents's
 * (src/service/events/); this prints them, one line each.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import { followEvents } from "../service/events/follow_events.ts";
import { readEvents } from "../service/events/read_events.ts";
import type { ServiceEvent } from "../service/model/service_event.ts";
import { validateName } from "../service/model/run_dir.ts";
import { EXIT, paint, useColor } from "./io.ts";
import type { CommandInput } from "./spec.ts";
import { enterableRunDir } from "./run_dir_access.ts";

const encoder = new TextEncoder();

/** `pidkit events`. */
export async function run(input: CommandInput): Promise<number> {
  const last = parseCount(input.values.lines as string | undefined);
  const services = input.positionals;
  for (const name of services) validateName(name);
  const dir = enterableRunDir(input.values.dir as string | undefined);
  const json = input.values.json === true;
  const colour = !json && useColor();
  const line = (e: ServiceEvent) => json ? JSON.stringify(e) : describeEvent(e, colour);
  try {
    if (input.values.follow !== true) {
      const events = await readEvents({ dir, services, last });
      if (events.length > 0) write(events.map(line).join("\n") + "\n");
      return EXIT.ok;
    }
    const stop = new AbortController();
    Deno.addSignalListener("SIGINT", () => stop.abort());
    for await (const e of followEvents({ dir, services, last, signal: stop.signal })) {
      write(line(e) + "\n");
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return EXIT.ok; // `pidkit events | head`
    throw err;
  }
}

function write(text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

function parseCount(text: string | undefined): number {
  if (text === undefined) return 20;
  if (!/^\d{1,9}$/.test(text)) {
    throw new UsageError(`bad event count '${text}' for -n (use a number, e.g. -n 50)`);
  }
  return Number(text);
}

/** The colour of a kind's word on a terminal: good news green, trouble red, waiting yellow. */
const KIND_COLOUR: Partial<Record<ServiceEvent["kind"], Parameters<typeof paint>[1]>> = {
  ready: "green",
  started: "green",
  adopted: "green",
  up: "green",
  exited: "yellow",
  restarting: "yellow",
  stopping: "yellow",
  reloading: "yellow",
  failed: "red",
  watchdog: "red",
};

/**
 * One event as a line of text: `TIME NAME KIND details: why`, e.g.
 * `2026-12-07T20:15:09.450Z web exited pid 4242, code 1` or
 * `2026-12-07T20:15:12.000Z web failed: gave up after 5 restarts in a row`.
 */
function describeEvent(e: ServiceEvent, colour = false): string {
  const details: string[] = [];
  if (e.pid !== undefined) details.push(`pid ${e.pid}`);
  if (e.kind === "exited") {
    details.push(e.signal ? `signal ${e.signal}` : `code ${e.code ?? "?"}`);
  }
  if (e.delayMs !== undefined) details.push(`in ${formatMs(e.delayMs)}`);
  if (e.attempt !== undefined) details.push(`attempt ${e.attempt}${e.of ? ` of ${e.of}` : ""}`);
  if (e.statusText) details.push(`status: ${e.statusText}`);
  const hue = KIND_COLOUR[e.kind];
  const kind = colour && hue ? paint(e.kind, hue, true) : e.kind;
  const why = e.reason ? `: ${e.reason}` : "";
  return `${e.time} ${e.service} ${kind}${details.length ? ` ${details.join(", ")}` : ""}${why}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(1))}s`;
}
