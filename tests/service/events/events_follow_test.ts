/**
 * Events of real services: `pidkit events -f` sees what the run
 * directory's supervisor records as it happens (start, ready, stop, a crash
 * loop, a log rotated by size), and goes on across a supervisor killed with
 * SIGKILL and its successor, missing nothing; `pidkit run` records its
 * service's events in the same journal.
 */
import assert from "node:assert/strict";
import { CLI, Reaper } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import type { ServiceEvent } from "../../../src/service/model/service_event.ts";

/** A `pidkit events -f --json` process and the events it has printed so far. */
class Follower implements AsyncDisposable {
  readonly events: ServiceEvent[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #reaper = new Reaper();
  readonly #reading: Promise<void>;

  constructor(dir: string, args: string[] = []) {
    this.#child = this.#reaper.spawn(
      [Deno.execPath(), "run", "-A", "--quiet", CLI, "events", "-f", "--json", ...args],
      { env: { PIDKIT_DIR: dir }, stdout: "piped" },
    );
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += text;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.events.push(JSON.parse(rest.slice(0, nl)));
        rest = rest.slice(nl + 1);
      }
    }
  }

  /** Until an event matches (generous deadline: the machine is loaded). */
  async until(what: string, match: (e: ServiceEvent) => boolean): Promise<ServiceEvent> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const hit = this.events.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no ${what} event; seen: ${JSON.stringify(this.events)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Whether it follows already: it prints an event appended after it started. */
  kinds(service: string): string[] {
    return this.events.filter((e) => e.service === service).map((e) => e.kind);
  }

  /** Whether it listens for SIGINT yet (it does from just before it starts following). */
  listening(): boolean {
    const status = Deno.readTextFileSync(`/proc/${this.#child.pid}/status`);
    const caught = status.match(/^SigCgt:\s*([0-9a-f]+)$/m)?.[1] ?? "0";
    return (BigInt(`0x${caught}`) & 2n) !== 0n; // bit 1: SIGINT
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#child.kill("SIGINT"); // exits 0 on SIGINT
    // Bounded: a follower whose event loop is stuck must fail the test, not hang it.
    const stuck = setTimeout(() => this.#child.kill("SIGKILL"), 20_000);
    const status = await this.#child.status;
    clearTimeout(stuck);
    await this.#reading.catch(() => {});
    await this.#reaper[Symbol.asyncDispose]();
    assert.equal(status.code, 0, "pidkit events -f exits 0 on SIGINT (within 20 s)");
  }
}

/** Wait until `pidkit events -f` has its watch in place: it sees a journal line written now. */
async function following(s: Services, f: Follower): Promise<void> {
  const { EventJournal } = await import("../../../src/service/events/event_journal.ts");
  const probe = uniqueName("probe");
  const journal = EventJournal.open(s.dir.path);
  const deadline = Date.now() + 30_000;
  while (!f.events.some((e) => e.service === probe)) {
    journal.append({ service: probe, kind: "policy", reason: "test probe" });
    await journal.flushed();
    if (Date.now() > deadline) throw new Error("pidkit events -f never followed");
    await new Promise((r) => setTimeout(r, 100));
  }
  await journal.close();
}

/** Every event the follower printed is the journal's, in order, none missing from its first on. */
async function assertNothingMissed(s: Services, f: Follower): Promise<void> {
  const shown = await s.cli(["events", "--json", "-n", "100000"]);
  assert.equal(shown.code, 0, shown.stderr);
  const journal = shown.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as ServiceEvent);
  const first = f.events[0].seq!;
  const expected = journal.filter((e) => e.seq! >= first).map((e) => e.seq);
  assert.deepEqual(f.events.map((e) => e.seq).slice(0, expected.length), expected);
  const seqs = f.events.map((e) => e.seq!);
  assert.deepEqual(seqs, seqs.map((_, i) => first + i), "seq goes up by one, no gap");
}

Deno.test("pidkit events -f: each event of a real service, in order (start, ready, stop)", async () => {
  await using s = new Services();
  await using f = new Follower(s.dir.path, ["-n", "0"]);
  await following(s, f);
  const name = uniqueName("web");
  const t0 = Date.now();
  const rec = await s.start(name, [], ["sleep", "1000"]);
  const ready = await f.until("ready", (e) => e.service === name && e.kind === "ready");
  // The figure is measured in bench/events_latency.ts; here only that it came while start ran.
  assert.ok(Date.parse(ready.time) >= t0 - 1000);
  assert.equal(ready.pid, rec.tree?.pid);
  const stop = await s.cli(["stop", name]);
  assert.equal(stop.code, 0, stop.stderr);
  await f.until("stopped", (e) => e.service === name && e.kind === "stopped");
  assert.deepEqual(f.kinds(name), ["started", "ready", "stopping", "exited", "stopped"]);
  const exited = f.events.find((e) => e.service === name && e.kind === "exited")!;
  assert.equal(exited.signal, "SIGTERM");
  await assertNothingMissed(s, f);
});

Deno.test("pidkit events -f goes on across a supervisor killed with SIGKILL and its successor", async () => {
  await using s = new Services();
  await using f = new Follower(s.dir.path, ["-n", "0"]);
  await following(s, f);
  const a = uniqueName("a");
  const b = uniqueName("b");
  await s.start(a, [], ["sleep", "1000"]);
  await f.until("a ready", (e) => e.service === a && e.kind === "ready");
  const first = s.supervisorPid()!;
  s.pid(first);
  Deno.kill(first, "SIGKILL");
  // The next command launches a successor, which adopts a and starts b.
  await s.start(b, [], ["sleep", "1001"]);
  assert.notEqual(s.supervisorPid(), first);
  await f.until("a adopted", (e) => e.service === a && e.kind === "adopted");
  await f.until("b ready", (e) => e.service === b && e.kind === "ready");
  for (const name of [a, b]) {
    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
  }
  await f.until("a stopped", (e) => e.service === a && e.kind === "stopped");
  await f.until("b stopped", (e) => e.service === b && e.kind === "stopped");
  assert.deepEqual(f.kinds(a), ["started", "ready", "adopted", "stopping", "exited", "stopped"]);
  assert.deepEqual(f.kinds(b), ["started", "ready", "stopping", "exited", "stopped"]);
  await assertNothingMissed(s, f);
});

Deno.test("events of a crash loop (exited, restarting, failed) and of a log rotated by size", async () => {
  await using s = new Services();
  await using f = new Follower(s.dir.path, ["-n", "0"]);
  await following(s, f);
  const crash = uniqueName("crash");
  await s.start(crash, [
    "--restart",
    "on-failure",
    "--max-restarts",
    "1",
    "--restart-delay",
    "50ms",
  ], [
    "sh",
    "-c",
    "sleep 0.3; exit 3",
  ]);
  const failed = await f.until("failed", (e) => e.service === crash && e.kind === "failed");
  assert.match(failed.reason ?? "", /restart/);
  assert.deepEqual(f.kinds(crash), [
    "started",
    "ready",
    "exited",
    "restarting",
    "started",
    "ready",
    "exited",
    "failed",
  ]);
  const exits = f.events.filter((e) => e.service === crash && e.kind === "exited");
  assert.ok(exits.every((e) => e.code === 3 && e.signal === null), JSON.stringify(exits));
  const restarting = f.events.find((e) => e.service === crash && e.kind === "restarting")!;
  assert.deepEqual([restarting.attempt, restarting.of, restarting.delayMs], [1, 1, 50]);

  const logger = uniqueName("logger");
  const script = "i=0; while [ $i -lt 100 ]; do echo line-$i-of-some-length-to-fill-the-log; " +
    "i=$((i+1)); done; exec sleep 1000";
  await s.start(logger, ["--log-max-size", "1K", "--log-keep", "2"], ["sh", "-c", script]);
  await f.until("log-rotated", (e) => e.service === logger && e.kind === "log-rotated");
  await s.cli(["stop", logger]);
  await assertNothingMissed(s, f);
});

Deno.test("pidkit run records its service's events in the run directory's journal", async () => {
  await using s = new Services();
  const name = uniqueName("fg");
  const r = await s.cli(["run", name, "--", "sh", "-c", "sleep 0.2; exit 4"]);
  assert.equal(r.code, 4, r.stderr);
  const shown = await s.cli(["events", name, "--json"]);
  assert.equal(shown.code, 0, shown.stderr);
  const events = shown.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as ServiceEvent);
  const kinds = events.map((e) => e.kind);
  assert.deepEqual(kinds.slice(0, 1), ["started"], kinds.join(" "));
  const exited = events.find((e) => e.kind === "exited");
  assert.equal(exited?.code, 4, kinds.join(" "));
});

Deno.test("pidkit events -f without a journal yet: FIFOs made, written, closed and removed in the run directory hold nothing up", async () => {
  // A run directory kept by a supervisor that writes no journal (0.2), or not yet: its services'
  // output FIFOs come and go there. Deno's watcher thread blocks in the open of such a FIFO once
  // nobody holds it, and closing that watcher blocks the event loop (docs/runtime_facts.md).
  await using s = new Services();
  await using f = new Follower(s.dir.path);
  const deadline = Date.now() + 30_000;
  while (!f.listening()) {
    if (Date.now() > deadline) throw new Error("pidkit events -f never started following");
    await new Promise((r) => setTimeout(r, 10));
  }
  const tick = new TextEncoder().encode("tick\n");
  for (let i = 0; i < 20; i++) {
    const path = s.dir.join(`churn-${i}.out`);
    assert.ok((await new Deno.Command("mkfifo", { args: [path] }).output()).success);
    const fifo = await Deno.open(path, { read: true, write: true }); // as a supervisor holds it
    for (let j = 0; j < 20; j++) await fifo.write(tick);
    fifo.close();
    await Deno.remove(path);
  }
  await following(s, f); // the journal appears: followed at once
});
