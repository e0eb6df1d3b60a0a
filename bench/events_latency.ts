/**
 * How soon `pidkit events -f` prints an event: the time from the journal's
 * append (`EventJournal.append`, what the supervisor calls) until the
 * event's line arrives on the stdout of a `pidkit events -f --json`
 * process. That covers the queue and write, the inotify wake-up, the read
 * and the print. Events are appended one at a time, `--gap` ms apart, and
 * the journal is small enough (`--max-bytes`) to rotate during the run.
 *
 * Run: `deno run -A bench/events_latency.ts [--runs 200] [--gap 20]`
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
  },
});
const runs = Number(values.runs);
const gap = Number(values.gap);
const dir = Deno.makeTempDirSync({ prefix: "pidkit-events-bench-" });
const cli = new URL("../cli.ts", import.meta.url).pathname;
const journal = EventJournal.open(dir, { maxBytes: Number(values["max-bytes"]), keep: 3 });
journal.append({ service: "bench", kind: "started", pid: 0 });
await journal.flushed();

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "--quiet", cli, "events", "-f", "--json", "-n", "0", "--dir", dir],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let buffered = "";
async function nextLine(): Promise<string> {
  for (;;) {
    const nl = buffered.indexOf("\n");
    if (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      return line;
    }
    const { value, done } = await lines.read();
    if (done) throw new Error("pidkit events -f ended");
    buffered += value;
  }
}

// The follower is running once it prints an event appended after it started.
const ready = setInterval(() => journal.append({ service: "bench", kind: "ready" }), 50);
await nextLine();
clearInterval(ready);
await journal.flushed();
await new Promise((r) => setTimeout(r, 200));
buffered = "";

const samples: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    journal.append({ service: "bench", kind: "restarting", attempt: i + 1, delayMs: 0, of: 0 });
    for (;;) {
      const e = JSON.parse(await nextLine());
      if (e.attempt === i + 1) break;
    }
    samples.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, gap));
  }
} finally {
  child.kill("SIGINT");
  await lines.cancel().catch(() => {});
  await child.status;
  await journal.close();
  Deno.removeSync(dir, { recursive: true });
}
samples.sort((a, b) => a - b);
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
console.log(
  `pidkit events -f: ${runs} events, append to printed line: ` +
    `median ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms, p99 ${
      at(0.99).toFixed(2)
    } ms, ` +
    `max ${samples.at(-1)!.toFixed(2)} ms; within 50 ms: ${
      samples.filter((s) => s <= 50).length
    }/${runs}`,
);
