/**
 * Size-capped logs: the cut planner (no line split, bounded files), and
 * the real thing: a chatty service under `--log-max-size`, `logs -n`
 * across kept files, `logs -f` across a rotation, `restart` keeping the
 * limits.
 */
import assert from "node:assert/strict";
import { keptLogFiles, parseSize, planWrites } from "../../../src/service/output/log_rotation.ts";
import { CLI, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Run `planWrites` over `chunks` and return the files it would make. */
function simulate(chunks: string[], max: number): string[] {
  const files = [""];
  const at = { size: 0, lineLength: 0 };
  for (const c of chunks) {
    for (const step of planWrites(enc.encode(c), at, max)) {
      if (step.rotateBefore) files.push("");
      files[files.length - 1] += dec.decode(step.bytes);
    }
  }
  return files;
}

Deno.test("planWrites: lines are never split across files, files stay near the limit", () => {
  const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${"x".repeat(i % 37)}\n`);
  // Chunks cut at arbitrary places, as pipes deliver them.
  const text = lines.join("");
  const chunks: string[] = [];
  for (let i = 0; i < text.length;) {
    const n = 1 + ((i * 7919) % 97);
    chunks.push(text.slice(i, i + n));
    i += n;
  }
  const files = simulate(chunks, 1024);
  assert.ok(files.length > 5);
  assert.equal(files.join(""), text, "nothing lost or reordered");
  for (const f of files.slice(0, -1)) {
    assert.ok(f.endsWith("\n"), "a file ends at a line boundary");
    assert.ok(enc.encode(f).length <= 1024 + 60, `file of ${f.length} bytes`);
  }
});

Deno.test("planWrites: a line longer than the limit is split; a line ending in a later chunk stays whole", () => {
  const long = "y".repeat(3000) + "\n";
  const files = simulate([long], 1024);
  assert.equal(files.join(""), long);
  assert.ok(files.every((f) => f.length <= 1024));
  const partial = simulate(["a".repeat(1000), "b".repeat(20) + "\nnext\n"], 1024);
  assert.deepEqual(partial, ["a".repeat(1000) + "b".repeat(20) + "\n", "next\n"]);
});

Deno.test("parseSize: K/M/G suffixes; bad sizes are one-line usage errors", () => {
  assert.equal(parseSize("4096"), 4096);
  assert.equal(parseSize("10K"), 10240);
  assert.equal(parseSize("10M"), 10 * 1024 * 1024);
  assert.equal(parseSize("1g"), 1024 ** 3);
  assert.equal(parseSize("2MiB"), 2 * 1024 * 1024);
  for (const bad of ["10X", "", "M", "-1K", "1.5.5M", "100"]) {
    assert.throws(() => parseSize(bad), /options\.logMaxSize/, bad); // the CLI says --log-max-size
  }
});

Deno.test("--log-max-size/--log-keep: a chatty service's log rotates, whole lines only, N files kept; logs -n spans them; restart keeps the limits", async () => {
  await using svc = new Services();
  const name = uniqueName("rot");
  const state = await svc.start(name, ["--log-max-size", "8K", "--log-keep", "3"], [
    "sh",
    "-c",
    'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo "line $i padded to some length"; done; sleep 60',
  ]);
  assert.equal(state.options.logMaxBytes, 8192);
  assert.equal(state.options.logKeep, 3);
  const log = svc.dir.join(`${name}.log`);
  await waitUntil(async () => (await Deno.readTextFile(log)).includes("line 2000 "), {
    what: "the last line",
  });
  const kept = keptLogFiles(log);
  assert.deepEqual(kept, [1, 2, 3].map((n) => `${log}.${n}`));
  await assert.rejects(() => Deno.stat(`${log}.4`));
  let previous: number | undefined;
  for (const file of [...kept].reverse().concat(log)) {
    const text = await Deno.readTextFile(file);
    assert.ok((await Deno.stat(file)).size <= 8192 + 64, `${file} too big`);
    assert.ok(text.endsWith("\n"));
    for (const line of text.trimEnd().split("\n")) {
      if (line.startsWith("[pidkit]")) continue;
      const m = /^line (\d+) padded to some length$/.exec(line);
      assert.ok(m, `a split line in ${file}: ${JSON.stringify(line)}`);
      if (previous !== undefined) {
        assert.equal(Number(m[1]), previous + 1, "lines in order, none lost within kept files");
      }
      previous = Number(m[1]);
    }
  }
  assert.equal(previous, 2000);
  // logs -n reaches back into the kept files.
  const r = await svc.cli(["logs", name, "-n", "400"]);
  const shown = r.stdout.trimEnd().split("\n");
  assert.equal(shown.length, 400);
  assert.match(shown.at(-1)!, /^line 2000 /);
  const current = (await Deno.readTextFile(log)).trimEnd().split("\n").length;
  assert.ok(current < 400, "the current file alone has fewer lines");
  // restart replays the limits.
  assert.equal((await svc.cli(["restart", name])).code, 0);
  const after = await svc.state(name);
  assert.equal(after.options.logMaxBytes, 8192);
  assert.equal(after.options.logKeep, 3);
  assert.equal((await svc.cli(["stop", name])).code, 0);
});

Deno.test("logs -f follows the log across a rotation", async () => {
  await using svc = new Services();
  const name = uniqueName("follow");
  await svc.start(name, ["--log-max-size", "2K", "--log-keep", "1"], [
    "sh",
    "-c",
    'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "tick $i of a followed log"; sleep 0.005; done; sleep 60',
  ]);
  const follower = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "logs", name, "-f", "-n", "0"],
    env: { PIDKIT_DIR: svc.dir.path },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  svc.pid(follower.pid);
  let seen = "";
  const reader = follower.stdout.getReader();
  try {
    const deadline = Date.now() + 30_000;
    while (!seen.includes("tick 400 ") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += dec.decode(value);
    }
  } finally {
    follower.kill("SIGINT");
    await reader.cancel().catch(() => {});
    await follower.status;
  }
  assert.match(seen, /tick 400 /);
  const first = Number(/tick (\d+) /.exec(seen)![1]);
  const numbers = [...seen.matchAll(/tick (\d+) /g)].map((m) => Number(m[1]));
  assert.deepEqual(numbers, numbers.map((_, i) => first + i), "no gap across rotations");
  assert.ok(keptLogFiles(svc.dir.join(`${name}.log`)).length === 1, "it rotated");
  assert.ok(400 - first > 100, "followed across at least one rotation");
  assert.equal((await svc.cli(["stop", name])).code, 0);
});

Deno.test({
  name: "--log-max-size on a full disk: output is dropped, the service keeps running, stop works",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using svc = new Services();
    const disk = svc.dir.join("disk");
    await Deno.mkdir(disk);
    const mount = (...args: string[]) =>
      new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "null" })
        .outputSync().success;
    assert.ok(mount("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk));
    try {
      const name = uniqueName("full");
      const state = await svc.start(name, [
        "--log",
        `${disk}/svc.log`,
        "--log-max-size",
        "64K",
        "--log-keep",
        "20",
      ], [
        "sh",
        "-c",
        'i=0; while true; do i=$((i+1)); echo "line $i of a log that fills the disk"; done',
      ]);
      // 20 kept files of 64K cannot fit in 256K: the disk fills.
      await waitUntil(() => {
        let used = 0;
        for (const e of Deno.readDirSync(disk)) {
          // A file may be rotated away between the listing and the stat.
          try {
            used += Deno.statSync(`${disk}/${e.name}`).size;
          } catch (err) {
            if (!(err instanceof Deno.errors.NotFound)) throw err;
          }
        }
        return used > 200 * 1024;
      }, { timeoutMs: 20_000, what: "the disk to fill" });
      await new Promise((r) => setTimeout(r, 500));
      const now = await svc.state(name);
      assert.equal(now.tree?.pid, state.tree?.pid, "the service was not restarted");
      assert.equal((await svc.cli(["status", name])).code, 0);
      assert.equal((await svc.cli(["stop", name])).code, 0);
    } finally {
      mount("umount", disk) || mount("umount", "-l", disk);
    }
  },
});
