/**
 * How soon `pidkit events -f` prints an event.
 *
 * 1. Appends: the time from the journal's append (`EventJournal.append`,
 *    what the supervisor's sink calls) until the event's line arrives on
 *    the stdout of a `pidkit events -f --json` process: the queue and the
 *    write, the inotify wake-up, the read and the print. Events are
 *    appended one at a time, `--gap` ms apart, and the journal is small
 *    enough (`--max-bytes`) to rotate during the run.
 * 2. Real services (`--services N` cycles, default 10; 0 skips): a service
 *    started and stopped through the CLI, and for each of its events the
 *    time from the event's `time` (stamped by the supervisor as the
 *    transition happens, ms resolution) until its line arrives.
 *
 * Run: `deno run -A bench/events_latency.ts [--runs 200] [--gap 20] [--services 10]`
 * Target (issue 20): each event within 50 ms.
 */
import { parseArgs } from "node:util";
import { EventJournal } from "../src/service/events/event_journal.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "200" },
    gap: { type: "string", default: "20" },
    "max-bytes": { type: "string", default: "8192" },
    services: { type: "string", default: "10" },
  },
});
const cli = new URL("../cli.ts", import.meta.url).pathname;

/** A `pidkit events -f --json -n 0` process and its lines, each stamped as it arrives. */
class Follower {
  readonly child: Deno.ChildProcess;
  readonly #arrived: { event: Record<string, unknown>; at: number }[] = [];
  #wake: (() => void) | undefined;
  readonly #reading: Promise<void>;

  constructor(dir: string) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", cli, "events", "-f", "--json", "-n", "0", "--dir", dir],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#reading = this.#read();
  }

  /** Read all the time (not only when asked): a line's arrival is when it is read. */
  async #read(): Promise<void> {
    let rest = "";
    for await (const text of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      const at = Date.now();
      rest += text;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.#arrived.push({ event: JSON.parse(rest.slice(0, nl)), at });
        rest = rest.slice(nl + 1);
      }
      this.#wake?.();
    }
  }

  async next(): Promise<{ event: Record<string, unknown>; at: number }> {
    while (this.#arrived.length === 0) await new Promise<void>((r) => this.#wake = r);
    return this.#arrived.shift()!;
  }

  /** Until it follows: it prints an event appended after it started. */
  async following(journal: EventJournal): Promise<void> {
    const probe = setInterval(() => journal.append({ service: "probe", kind: "policy" }), 50);
    await this.next();
    clearInterval(probe);
    await journal.flushed();
    await new Promise((r) => setTimeout(r, 200));
    this.#arrived.length = 0;
  }

  async close(): Promise<void> {
    this.child.kill("SIGINT");
    await this.child.status;
    await this.#reading.catch(() => {});
  }
}

function summary(what: string, samples: number[]): string {
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return `${what}: ${samples.length} events: median ${at(0.5).toFixed(2)} ms, ` +
    `p95 ${at(0.95).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, ` +
    `max ${samples.at(-1)!.toFixed(2)} ms; within 50 ms: ${
      samples.filter((s) => s <= 50).length
    }/${samples.length}`;
}

async function appends(runs: number, gap: number, maxBytes: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-events-bench-" });
  const journal = EventJournal.open(dir, { maxBytes, keep: 3 });
  const follower = new Follower(dir);
  const samples: number[] = [];
  try {
    await follower.following(journal);
    for (let i = 0; i < runs; i++) {
      const t0 = Date.now();
      journal.append({ service: "bench", kind: "restarting", attempt: i + 1, delayMs: 0, of: 0 });
      let got;
      while ((got = await follower.next()).event.attempt !== i + 1) { /* an earlier one */ }
      samples.push(got.at - t0);
      await new Promise((r) => setTimeout(r, gap));
    }
  } finally {
    await follower.close();
    await journal.close();
    await Deno.remove(dir, { recursive: true });
  }
  return samples;
}

async function services(cycles: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-events-bench-" });
  const journal = EventJournal.open(dir);
  const follower = new Follower(dir);
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", cli, ...args],
      env: { PIDKIT_DIR: dir },
      stdout: "null",
      stderr: "inherit",
    }).output();
  const samples: number[] = [];
  let supervisor: number | undefined;
  try {
    await follower.following(journal);
    await journal.close();
    for (let i = 0; i < cycles; i++) {
      const name = `svc${i}`;
      await run("start", name, "--", "sleep", "1000");
      supervisor ??= Number((await Deno.readTextFile(`${dir}/supervisor.lock`)).trim());
      await run("stop", name);
      for (;;) {
        const { event, at } = await follower.next();
        if (event.service !== name) continue;
        samples.push(at - Date.parse(event.time as string));
        if (event.kind === "stopped") break;
      }
    }
  } finally {
    await follower.close();
    if (supervisor) {
      try {
        Deno.kill(supervisor, "SIGTERM"); // stops what is left, then exits
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 500));
    await Deno.remove(dir, { recursive: true });
  }
  return samples;
}

console.log(
  summary(
    "appends (append to printed line)",
    await appends(Number(values.runs), Number(values.gap), Number(values["max-bytes"])),
  ),
);
if (Number(values.services) > 0) {
  const real = await services(Number(values.services));
  console.log(summary("real services (event time to printed line, ms resolution)", real));
}
