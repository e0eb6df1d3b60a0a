/**
 * Service output through a FIFO the service opened read-write: the writer
 * survives its reader's death (no SIGPIPE), nothing is lost, a new reader
 * reads on where the last one stopped, and a full buffer blocks the writer
 * instead of killing it.
 */
import assert from "node:assert/strict";
import { FdPoller } from "../../../src/os/fd_poller.ts";
import { OUTPUT_PIPE_SIZE, OutputFifo } from "../../../src/service/output/output_fifo.ts";
import { LogSink } from "../../../src/service/output/log_sink.ts";
import { keptLogFiles } from "../../../src/service/output/log_rotation.ts";
import { alive, Reaper, tempDir, waitUntil } from "../../_util/helpers.ts";
import { childrenOf } from "../../_util/process_view.ts";

const linux = Deno.build.os === "linux";

/** Collects what a reader hands over, as text. */
function collector() {
  const decoder = new TextDecoder();
  const state = { text: "" };
  return { state, onOutput: (b: Uint8Array) => void (state.text += decoder.decode(b)) };
}

/** Whether `root` or a child of it waits in a write to a full pipe (or has written `size` bytes: the buffer). */
function blockedOnFullPipe(root: number, size: number): boolean {
  return [root, ...childrenOf(root)].some((pid) => {
    try {
      if (/pipe_write$/.test(Deno.readTextFileSync(`/proc/${pid}/wchan`))) return true;
      const wchar = /^wchar: (\d+)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/io`))?.[1];
      return Number(wchar ?? 0) >= size;
    } catch {
      return false; // gone, or not ours to read
    }
  });
}

function ticks(text: string): number[] {
  return [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
}

Deno.test({
  name: "output FIFO: the writer outlives its reader; a new reader reads on without a gap",
  ignore: !linux,
  async fn() {
    await using dir = tempDir();
    await using reaper = new Reaper();
    const poller = FdPoller.create()!;
    try {
      const path = dir.join("chat.out");
      const first = collector();
      const out = await OutputFifo.open(path, { poller, onOutput: first.onOutput });
      assert.ok(out.bufferSize >= 65536);
      if (Deno.uid() === 0) assert.equal(out.bufferSize, OUTPUT_PIPE_SIZE);
      const child = reaper.spawn(
        out.wrap(["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.01; done"]),
        { stdout: "null", stderr: "null" },
      );
      reaper.group(child.pid);
      await waitUntil(() => ticks(first.state.text).length >= 5, { what: "the first ticks" });
      out.close(); // the supervisor dies: nobody reads
      const seenByFirst = ticks(first.state.text);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(alive(child.pid), "the writer died when its reader went away");

      const second = collector();
      const again = await OutputFifo.open(path, { poller, onOutput: second.onOutput });
      await waitUntil(() => ticks(second.state.text).length >= 5, {
        what: "ticks for the new reader",
      });
      // The second reader continues exactly where the first stopped (maybe
      // inside a line): together they hold every tick once, in order.
      const all = ticks(first.state.text + second.state.text);
      assert.deepEqual(all, all.map((_, i) => i + 1));
      assert.ok(all.length > seenByFirst.length);
      await again.remove();
      assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
    } finally {
      await poller.close();
    }
  },
});

Deno.test({
  name: "output FIFO: beyond the buffer the writer blocks, and finishes once read again",
  ignore: !linux,
  async fn() {
    await using dir = tempDir();
    await using reaper = new Reaper();
    const poller = FdPoller.create()!;
    try {
      const path = dir.join("flood.out");
      let bytes = 0;
      const out = await OutputFifo.open(path, {
        poller,
        onOutput: (b) => void (bytes += b.length),
      });
      const size = out.bufferSize;
      out.close(); // no reader from the start
      const child = reaper.spawn(
        out.wrap(["sh", "-c", `head -c ${size * 3} /dev/zero; echo done`]),
        { stdout: "null", stderr: "null" },
      );
      reaper.group(child.pid);
      // The buffer full (however late the writer started), then a while blocked.
      await waitUntil(() => blockedOnFullPipe(child.pid, size), {
        what: "the writer to fill the buffer",
        timeoutMs: 30_000,
      });
      await new Promise((r) => setTimeout(r, 700));
      assert.ok(alive(child.pid), "the writer died instead of blocking");
      const again = await OutputFifo.open(path, {
        poller,
        onOutput: (b) => void (bytes += b.length),
      });
      const status = await child.status;
      assert.equal(status.code, 0, "the writer finished once read again");
      await waitUntil(() => bytes >= size * 3 + 5, { what: "every byte read" });
      assert.equal(bytes, size * 3 + 5);
      await again.remove();
    } finally {
      await poller.close();
    }
  },
});

Deno.test({
  name: "output FIFO: a file, a symlink or a directory at the path is refused and left alone",
  ignore: !linux,
  async fn() {
    await using dir = tempDir();
    const poller = FdPoller.create()!;
    try {
      const file = dir.join("file.out");
      Deno.writeTextFileSync(file, "precious\n");
      const link = dir.join("link.out");
      Deno.symlinkSync(file, link);
      const sub = dir.join("dir.out");
      Deno.mkdirSync(sub);
      for (
        const [path, why] of [[file, /not a FIFO/], [link, /symbolic link/], [sub, /not a FIFO/]]
      ) {
        await assert.rejects(
          () => OutputFifo.open(path as string, { poller, onOutput: () => {} }),
          why as RegExp,
        );
      }
      assert.equal(Deno.readTextFileSync(file), "precious\n");
      assert.ok(Deno.lstatSync(link).isSymlink);
    } finally {
      await poller.close();
    }
  },
});

Deno.test({
  name: "output FIFO into a log: every piece is spliced (written and taken in one call), once",
  ignore: !linux,
  async fn() {
    await using dir = tempDir();
    await using reaper = new Reaper();
    const poller = FdPoller.create()!;
    const log = dir.join("moved.log");
    const sink = await LogSink.open(log, { rotation: { maxBytes: 16 * 1024, keep: 100 } });
    let writtenFromCopy = 0;
    try {
      const path = dir.join("moved.out");
      const out = await OutputFifo.open(path, {
        poller,
        // What is written from the copy is reported to `taken` (a window
        // a SIGKILL could fall into); what is moved never is.
        onOutput: (bytes, taken, move) =>
          sink.write(bytes, (n) => {
            writtenFromCopy += n;
            taken(n);
          }, move),
      });
      const child = reaper.spawn(out.wrap(["seq", "1", "20000"]), {
        stdout: "null",
        stderr: "null",
      });
      assert.equal((await child.status).code, 0);
      const all = () =>
        [...keptLogFiles(log).reverse(), log].map((f) => Deno.readTextFileSync(f)).join("");
      await waitUntil(() => all().endsWith("\n20000\n"), { what: "every line in the log" });
      await out.remove();
      const lines = all().trimEnd().split("\n").map(Number);
      assert.deepEqual(lines, lines.map((_, i) => i + 1), "each line once, in order");
      assert.equal(lines.length, 20000);
      assert.ok(keptLogFiles(log).length >= 5, "rotated on the way");
      assert.equal(writtenFromCopy, 0, "every byte was moved by splice(2)");
    } finally {
      await sink.close();
      await poller.close();
    }
  },
});
