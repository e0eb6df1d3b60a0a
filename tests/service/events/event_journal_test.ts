/**
 * The journal of lifecycle events: append, read back, rotation, `seq`
 * continuing across writers, and following it (new events, rotation, a
 * writer that gives way to another).
 */
import assert from "node:assert/strict";
import { EventJournal } from "../../../src/service/events/event_journal.ts";
import { eventsPath, parseEventLine } from "../../../src/service/events/journal_files.ts";
import { readEvents } from "../../../src/service/events/read_events.ts";
import { followEvents } from "../../../src/service/events/follow_events.ts";
import type { ServiceEvent } from "../../../src/service/model/service_event.ts";
import { exists, tempDir, waitUntil } from "../../_util/helpers.ts";

async function lines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
}

Deno.test("journal: one JSON object per line, seq from 1, readEvents filters by service and last", async () => {
  using dir = tempDir();
  const journal = EventJournal.open(dir.path);
  journal.append({ service: "web", kind: "started", pid: 10 });
  journal.append({ service: "db", kind: "ready", pid: 11 });
  journal.sink({ service: "web", kind: "exited", pid: 10, code: null, signal: "SIGKILL" });
  await journal.close();
  const text = await lines(eventsPath(dir.path));
  assert.equal(text.length, 3);
  assert.match(
    text[0],
    /^\{"seq":1,"time":"\d{4}-\d\d-\d\dT[^"]+Z","service":"web","kind":"started","pid":10\}$/,
  );
  assert.deepEqual(text.map((l) => parseEventLine(l)?.seq), [1, 2, 3]);
  const all = await readEvents({ dir: dir.path });
  assert.deepEqual(all.map((e) => `${e.seq} ${e.service} ${e.kind}`), [
    "1 web started",
    "2 db ready",
    "3 web exited",
  ]);
  assert.equal(all[2].signal, "SIGKILL");
  assert.equal(all[2].code, null);
  const web = await readEvents({ dir: dir.path, services: ["web"], last: 1 });
  assert.deepEqual(web.map((e) => e.seq), [3]);
  assert.deepEqual(await readEvents({ dir: dir.path, after: 2 }).then((e) => e.map((x) => x.seq)), [
    3,
  ]);
  assert.deepEqual(await readEvents({ dir: `${dir.path}/none` }), []);
});

Deno.test("journal: a successor writer goes on with seq; a line a killed writer left unfinished is passed over", async () => {
  using dir = tempDir();
  const first = EventJournal.open(dir.path);
  for (let i = 0; i < 5; i++) first.append({ service: "a", kind: "started", pid: i + 1 });
  await first.close();
  // A writer killed in the middle of a line.
  await Deno.writeTextFile(eventsPath(dir.path), '{"seq":6,"time":"2026-', { append: true });
  const second = EventJournal.open(dir.path);
  second.append({ service: "a", kind: "adopted", pid: 5 });
  await second.close();
  const events = await readEvents({ dir: dir.path });
  assert.deepEqual(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(events[5].kind, "adopted");
  // Two writers at once (the supervisor and `pidkit up`, say): no seq twice, none skipped.
  const x = EventJournal.open(dir.path);
  const y = EventJournal.open(dir.path);
  for (let i = 0; i < 50; i++) {
    x.append({ service: "x", kind: "ready" });
    y.append({ service: "y", kind: "ready" });
    if (i % 7 === 0) await Promise.all([x.flushed(), y.flushed()]);
  }
  await Promise.all([x.close(), y.close()]);
  const seqs = (await readEvents({ dir: dir.path })).map((e) => e.seq);
  assert.deepEqual(seqs, Array.from({ length: 106 }, (_, i) => i + 1));
});

Deno.test("journal: rotates by size, keeps N files, seq goes on; readEvents reads the rotated files oldest first", async () => {
  using dir = tempDir();
  const journal = EventJournal.open(dir.path, { maxBytes: 2048, keep: 2 });
  for (let i = 0; i < 100; i++) {
    journal.append({ service: "web", kind: "restarting", delayMs: 100, attempt: i + 1, of: 0 });
    if (i % 10 === 0) await journal.flushed();
  }
  await journal.close();
  const path = eventsPath(dir.path);
  for (const p of [path, `${path}.1`, `${path}.2`]) {
    assert.ok((await Deno.stat(p)).size <= 2048, `${p} is within the bound`);
    for (const l of await lines(p)) assert.ok(parseEventLine(l), `whole lines only in ${p}`);
  }
  await assert.rejects(() => Deno.stat(`${path}.3`), Deno.errors.NotFound);
  const seqs = (await readEvents({ dir: dir.path })).map((e) => e.seq!);
  assert.equal(seqs.at(-1), 100);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => 101 - seqs.length + i));
  // After rotation, a new writer continues from the last seq (the current file may be new).
  const next = EventJournal.open(dir.path, { maxBytes: 2048, keep: 2 });
  next.append({ service: "web", kind: "stopped" });
  await next.close();
  assert.equal((await readEvents({ dir: dir.path, last: 1 }))[0].seq, 101);
});

Deno.test("followEvents: kept events, then each new one in order, across rotation and a change of writer", async () => {
  using dir = tempDir();
  const first = EventJournal.open(dir.path, { maxBytes: 1024, keep: 3 });
  first.append({ service: "web", kind: "started", pid: 1 });
  first.append({ service: "db", kind: "started", pid: 2 });
  await first.flushed();
  const controller = new AbortController();
  const seen: ServiceEvent[] = [];
  const reading = (async () => {
    for await (
      const e of followEvents({
        dir: dir.path,
        services: ["web"],
        last: 5,
        signal: controller.signal,
      })
    ) {
      seen.push(e);
    }
  })();
  const until = async (n: number) => {
    const deadline = Date.now() + 20_000;
    while (seen.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(
      seen.length >= n,
      `${seen.length} of ${n} events followed: ${seen.map((e) => e.seq)}`,
    );
  };
  await until(1);
  // Enough to rotate several times (each line is ~100 bytes, the bound 1 KiB),
  // at a pace the follower keeps up with (one that falls behind by more than
  // the kept files loses what was dropped, as `tail -F` does).
  for (let i = 0; i < 40; i++) {
    first.append({ service: "web", kind: "restarting", attempt: i + 1, delayMs: 0, of: 0 });
    first.append({ service: "db", kind: "ready" });
    if (i % 5 === 4) {
      await first.flushed();
      await until(i + 2);
    }
  }
  await first.close();
  // The next writer (a successor supervisor) goes on where the first stopped.
  const second = EventJournal.open(dir.path, { maxBytes: 1024, keep: 3 });
  second.append({ service: "web", kind: "adopted", pid: 1 });
  await second.close();
  await until(42);
  controller.abort();
  await reading;
  assert.deepEqual(seen.map((e) => e.kind), [
    "started",
    ...Array(40).fill("restarting"),
    "adopted",
  ]);
  assert.deepEqual(
    seen.slice(1, 41).map((e) => e.attempt),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  const seqs = seen.map((e) => e.seq!);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "in seq order");
  assert.equal(seqs.at(-1), 83);
});

Deno.test("followEvents: a journal that does not exist yet is waited for; after= resumes", async () => {
  using dir = tempDir();
  const controller = new AbortController();
  const seen: number[] = [];
  // The journal is made only once the follower has looked and found none
  // (a fixed wait would turn into the "journal exists" case under load).
  let waiting: string | undefined;
  const onWaiting = (path: string) => waiting = path;
  const reading = (async () => {
    for await (const e of followEvents({ dir: dir.path, signal: controller.signal, onWaiting })) {
      seen.push(e.seq!);
    }
  })();
  await waitUntil(() => waiting !== undefined, { timeoutMs: 20_000, what: "the follower to look" });
  assert.equal(waiting, eventsPath(dir.path));
  assert.ok(!exists(eventsPath(dir.path)));
  const journal = EventJournal.open(dir.path);
  journal.append({ service: "web", kind: "started" });
  journal.append({ service: "web", kind: "ready" });
  await journal.close();
  const deadline = Date.now() + 20_000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  controller.abort();
  await reading;
  assert.deepEqual(seen, [1, 2]);
  const resumed: number[] = [];
  const stop = new AbortController();
  for await (const e of followEvents({ dir: dir.path, after: 1, signal: stop.signal })) {
    resumed.push(e.seq!);
    stop.abort();
  }
  assert.deepEqual(resumed, [2]);
});
