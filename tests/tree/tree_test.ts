import assert from "node:assert/strict";
import {
  attachTree,
  findCgroup2,
  parseRetry,
  type ProcessTree,
  spawnTree,
  type Tracking,
} from "../../tree.ts";
import { PidkitError, TreeError, UsageError } from "../../tree.ts";
import { findSetpriv } from "../../src/tree/find_program.ts";
import { readProcStat } from "../../src/os/proc.ts";
import { behindOutputShim, isStartGate, spawnGated } from "../../src/tree/spawn_gated.ts";
import { alive, FIXTURES, type TempDir, tempDir, waitUntil } from "../_util/helpers.ts";
import { readableCopy } from "../_util/readable_copy.ts";

const TREE = `${FIXTURES}/tree.sh`;
const linux = Deno.build.os === "linux";

/** Every marker, cgroup and PID this file created: checked at the very end. */
const allMarkers = new Set<string>();
const allCgroups = new Set<string>();
const allPids = new Map<number, number>(); // pid -> start time

/**
 * The processes a test learnt about, killed on dispose by PID (and the
 * tree's process group), but only while each is still the process that was
 * recorded (same start time): a recycled PID is never signalled.
 */
class Recorded implements AsyncDisposable {
  readonly pids = new Map<number, number>();
  readonly groups = new Set<number>();

  pid(pid: number): void {
    const st = readProcStat(pid);
    if (st === undefined) return;
    this.pids.set(pid, st.startTime);
    allPids.set(pid, st.startTime);
  }

  tree(tree: ProcessTree): ProcessTree {
    this.groups.add(tree.pgid);
    this.pid(tree.pid);
    allMarkers.add(tree.ref.marker);
    if (tree.cgroupPath) allCgroups.add(tree.cgroupPath);
    return tree;
  }

  #same(pid: number, startTime: number): boolean {
    return readProcStat(pid)?.startTime === startTime;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const g of this.groups) {
      const inGroup = [...this.pids].some(([p, t]) =>
        this.#same(p, t) && readProcStat(p)?.pgid === g
      );
      if (inGroup) killQuietly(-g);
    }
    for (const [p, t] of this.pids) if (this.#same(p, t)) killQuietly(p);
    await waitUntil(() => [...this.pids.keys()].every((p) => !alive(p)), {
      what: "recorded processes to die",
    });
  }
}

function killQuietly(target: number): void {
  try {
    Deno.kill(target, "SIGKILL");
  } catch { /* gone */ }
}

/** Labels and PIDs the fixture wrote to `out`, once at least `lines` lines are there. */
async function fixturePids(
  out: string,
  lines: number,
  rec: Recorded,
): Promise<Map<string, number[]>> {
  let text = "";
  await waitUntil(() => {
    try {
      text = Deno.readTextFileSync(out);
    } catch {
      return false;
    }
    return text.split("\n").filter((l) => l !== "").length >= lines;
  }, { what: `${lines} fixture PIDs in ${out}` });
  const map = new Map<string, number[]>();
  for (const line of text.trim().split("\n")) {
    const [label, pid] = line.split(" ");
    rec.pid(Number(pid));
    map.set(label, [...(map.get(label) ?? []), Number(pid)]);
  }
  return map;
}

async function startFull(tracking: Tracking, dir: TempDir, rec: Recorded) {
  const out = dir.join("pids");
  const tree = rec.tree(
    await spawnTree(["sh", TREE, "full", out, "14"], {
      tracking,
      name: `full-${tracking}`,
      stdin: "null",
    }),
  );
  // 22 live processes + the short-lived daemon-parent line.
  const pids = await fixturePids(out, 23, rec);
  return { tree, pids };
}

// Which tiers can run here.
let cgroupReason: string | undefined;
if (!linux) cgroupReason = "not Linux";
else if (findCgroup2() === undefined) cgroupReason = "no cgroup2 filesystem mounted";
else {
  const probe = await spawnTree(["true"], { stdin: "null", name: "probe" });
  if (probe.tracking !== "cgroup") cgroupReason = "cgroup2 is not writable here";
  await probe.status;
  await probe.stop();
}
if (cgroupReason !== undefined) console.log(`tree_test: cgroup tests skipped: ${cgroupReason}`);
if (!linux) console.log("tree_test: process-tree tests skipped: not Linux");

const tiers: { tracking: Tracking; ignore: boolean }[] = [
  { tracking: "group", ignore: !linux },
  { tracking: "cgroup", ignore: cgroupReason !== undefined },
];

Deno.test("parseRetry: start-stop-daemon schedules", () => {
  assert.deepEqual(parseRetry("TERM/10/KILL/5"), [
    { signal: "SIGTERM" },
    { timeoutMs: 10_000 },
    { signal: "SIGKILL" },
    { timeoutMs: 5000 },
  ]);
  assert.deepEqual(parseRetry("30"), [
    { signal: "SIGTERM" },
    { timeoutMs: 30_000 },
    { signal: "SIGKILL" },
    { timeoutMs: 30_000 },
  ]);
  assert.deepEqual(parseRetry("-HUP/500ms/-9/1.5"), [
    { signal: "SIGHUP" },
    { timeoutMs: 500 },
    { signal: "SIGKILL" },
    { timeoutMs: 1500 },
  ]);
  assert.deepEqual(parseRetry("TERM/5/forever"), [
    { signal: "SIGTERM" },
    { timeoutMs: 5000 },
    { forever: true },
  ]);
  assert.deepEqual(parseRetry("usr1/forever/TERM/2").map((s) => Object.keys(s)[0]), [
    "signal",
    "forever",
    "signal",
    "timeoutMs",
  ]);
  for (
    const [bad, msg] of [
      ["", /empty/],
      ["TERM", /at least two items/],
      ["TERM//KILL", /empty item/],
      ["TERM/ten", /'ten' is neither a signal nor a timeout/],
      ["BOGUS/5", /'BOGUS' is neither/],
      ["TERM/5x", /bad timeout '5x'/],
      ["TERM/forever/5/forever", /more than once/],
      ["TERM/5/forever/KILL", /need a timeout/],
    ] as const
  ) {
    assert.throws(() => parseRetry(bad), (e: Error) => {
      assert.ok(e instanceof UsageError, `${bad}: ${e}`);
      assert.match(e.message, msg);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

for (const { tracking, ignore } of tiers) {
  Deno.test({
    name: `${tracking}: a 22-process tree is listed correctly and stopped with 0 survivors`,
    ignore,
    async fn() {
      await using dir = tempDir();
      await using rec = new Recorded();
      const { tree, pids } = await startFull(tracking, dir, rec);
      assert.equal(tree.tracking, tracking);
      const one = (label: string) => pids.get(label)![0];
      const leader = one("leader");
      assert.equal(tree.pid, leader);
      const expected = [
        leader,
        ...pids.get("child")!,
        one("chain1"),
        one("chain2"),
        one("chain3"),
        one("setsid"),
        one("daemon"),
        one("noterm"),
        // env -i + setsid: the cgroup holds it; the group tier follows the parent chain.
        one("escapee"),
      ];
      assert.ok(expected.length >= 20);

      const members = tree.members();
      const byPid = new Map(members.map((m) => [m.pid, m]));
      assert.deepEqual([...byPid.keys()].sort((a, b) => a - b), expected.sort((a, b) => a - b));
      // ppid / pgid / sid as the kernel has them
      assert.equal(byPid.get(one("chain2"))!.ppid, one("chain1"));
      assert.equal(byPid.get(one("chain3"))!.ppid, one("chain2"));
      assert.equal(byPid.get(one("chain1"))!.ppid, leader);
      assert.equal(byPid.get(one("chain3"))!.pgid, leader);
      assert.equal(byPid.get(one("setsid"))!.sid, one("setsid"));
      assert.equal(byPid.get(one("setsid"))!.pgid, one("setsid"));
      assert.notEqual(byPid.get(one("daemon"))!.ppid, leader); // orphaned by the double fork
      assert.equal(byPid.get(one("daemon"))!.sid, one("daemon"));
      for (const c of pids.get("child")!) {
        const m = byPid.get(c)!;
        assert.deepEqual([m.ppid, m.pgid, m.sid], [leader, leader, leader]);
        assert.equal(m.command, "sleep 300");
        assert.ok(m.rssBytes > 0);
      }

      const report = await tree.stop({ retry: "TERM/1/KILL/5" });
      assert.deepEqual(report.survivors, []);
      assert.deepEqual(report.signalsSent.map((s) => s.signal), ["SIGTERM", "SIGKILL"]);
      assert.equal(report.signalsSent[0].targets, expected.length);
      assert.equal(report.signalsSent[1].targets, 1); // only the TERM-ignoring child was left
      assert.equal(report.killed, expected.length);
      for (const pid of expected) assert.ok(!alive(pid), `${pid} survived`);
      assert.deepEqual(tree.members(), []);
      assert.equal((await tree.status).signal, "SIGTERM");
      if (tracking === "cgroup") {
        assert.throws(() => Deno.statSync(tree.cgroupPath!), Deno.errors.NotFound);
      }
    },
  });

  Deno.test({
    name: `${tracking}: stopping a tree whose leader exited still kills the rest`,
    ignore,
    async fn() {
      await using dir = tempDir();
      await using rec = new Recorded();
      const out = dir.join("pids");
      const tree = rec.tree(
        await spawnTree(["sh", TREE, "orphans", out, "4"], { tracking, stdin: "null" }),
      );
      const pids = await fixturePids(out, 4, rec);
      assert.equal((await tree.status).code, 0);
      const children = pids.get("child")!;
      assert.deepEqual(tree.members().map((m) => m.pid), children.sort((a, b) => a - b));
      // From another "process": the ref alone is enough.
      const attached = attachTree(JSON.parse(JSON.stringify(tree.ref)));
      assert.equal(attached.members().length, 3);
      const report = await attached.stop({ retry: "TERM/5/KILL/5" });
      assert.deepEqual(report.survivors, []);
      assert.equal(report.killed, 3);
      for (const pid of children) assert.ok(!alive(pid));
      await tree.done();
      if (tracking === "cgroup") {
        assert.throws(() => Deno.statSync(tree.cgroupPath!), Deno.errors.NotFound);
      }
    },
  });

  Deno.test({
    name: `${tracking}: signalling or stopping a gone tree is a no-op`,
    ignore,
    async fn() {
      await using rec = new Recorded();
      const tree = rec.tree(await spawnTree(["true"], { tracking, stdin: "null" }));
      assert.equal(tree.tracking, tracking);
      assert.deepEqual(await tree.status, { success: true, code: 0, signal: null });
      await tree.done();
      assert.equal(tree.signal("SIGTERM"), 0);
      const report = await tree.stop();
      assert.deepEqual(report.signalsSent, []);
      assert.deepEqual([report.killed, report.survivors], [0, []]);
      assert.ok(report.durationMs < 1000);
      assert.throws(() => attachTree(tree.ref), (e: Error) => {
        assert.ok(e instanceof TreeError && e instanceof PidkitError);
        assert.equal(e.reason, "gone");
        assert.match(e.message, /is gone/);
        return true;
      });
    },
  });

  Deno.test({
    name: `${tracking}: signal() reaches every member; done() resolves when the last one dies`,
    ignore,
    async fn() {
      await using dir = tempDir();
      await using rec = new Recorded();
      const out = dir.join("pids");
      const tree = rec.tree(
        await spawnTree(["sh", TREE, "wide", out, "5"], { tracking, stdin: "null" }),
      );
      await fixturePids(out, 5, rec);
      let resolved = false;
      const done = tree.done().then(() => resolved = true);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(resolved, false);
      assert.equal(tree.signal("SIGSTOP"), 5);
      await waitUntil(() => tree.members().every((m) => readProcStat(m.pid)?.state === "T"));
      assert.equal(tree.signal("SIGKILL"), 5);
      await done;
      assert.deepEqual(tree.members(), []);
      assert.equal((await tree.status).signal, "SIGKILL");
    },
  });

  Deno.test({
    name: `${tracking}: stdin/stdout pass through the start gate; argv stays exact`,
    ignore,
    async fn() {
      await using rec = new Recorded();
      const cat = rec.tree(
        await spawnTree(["cat"], { tracking, stdin: "piped", stdout: "piped", stderr: "null" }),
      );
      const w = cat.stdin!.getWriter();
      await w.write(new TextEncoder().encode("hello\nworld\n"));
      await w.close();
      assert.equal(await new Response(cat.stdout).text(), "hello\nworld\n");
      assert.equal((await cat.status).code, 0);

      const args = ["a b", "$HOME", "*", "", "-n", "'q'\"", "x\ny"];
      const echo = rec.tree(
        await spawnTree(["sh", "-c", 'printf "[%s]" "$0" "$@"', ...args], {
          tracking,
          stdin: "null",
          stdout: "piped",
          env: { EXTRA: "1" },
        }),
      );
      assert.equal(
        await new Response(echo.stdout).text(),
        args.map((a) => `[${a}]`).join(""), // $0 is the first argument after the script
      );
      await echo.status;
    },
  });

  Deno.test({
    name: `${tracking}: behind the output shim, output goes to its file and argv stays exact ` +
      "(gated: the gate's own shell opens it, one shell instead of two)",
    ignore,
    async fn() {
      await using rec = new Recorded();
      await using dir = await tempDir();
      const out = dir.join("out");
      const args = ["a b", "$HOME", "*", "", "-n", "'q'\"", "x\ny"];
      const shell = ["sh", "-c", 'printf "[%s]" "$0" "$@"; echo; echo err >&2', ...args];
      const tree = rec.tree(
        await spawnTree(behindOutputShim(out, shell), { tracking, stdin: "null" }),
      );
      assert.equal((await tree.status).code, 0);
      assert.equal(await Deno.readTextFile(out), `${args.map((a) => `[${a}]`).join("")}\nerr\n`);
    },
  });

  Deno.test({
    name: `${tracking}: a missing or non-executable program is a clear error`,
    ignore,
    async fn() {
      await using dir = tempDir();
      const plain = dir.join("plain.txt");
      Deno.writeTextFileSync(plain, "echo should not run\n");
      Deno.chmodSync(plain, 0o644);
      for (
        const [cmd, msg] of [
          ["pidkit-no-such-program", /cannot start pidkit-no-such-program: command not found/],
          [plain, /cannot start \/.*\/plain\.txt: not executable/],
          ["./nope", /cannot start \.\/nope: no such file/],
        ]
      ) {
        await assert.rejects(() => spawnTree([cmd as string], { tracking }), (e: Error) => {
          assert.ok(e instanceof TreeError, String(e));
          assert.equal(e.reason, "spawn-failed");
          assert.match(e.message, msg as RegExp);
          return true;
        });
      }
    },
  });
}

Deno.test({
  name: "cgroup: the escapee (env -i setsid) is caught; the cgroup is ours and removed",
  ignore: cgroupReason !== undefined,
  async fn() {
    await using dir = tempDir();
    await using rec = new Recorded();
    const { tree, pids } = await startFull("cgroup", dir, rec);
    const escapee = pids.get("escapee")![0];
    const cg = tree.cgroupPath!;
    assert.match(cg, /\/pidkit\/full-cgroup-[0-9a-f]{12}$/);
    const procs = Deno.readTextFileSync(`${cg}/cgroup.procs`).trim().split("\n").map(Number);
    assert.ok(procs.includes(escapee));
    assert.ok(!Deno.readTextFileSync(`/proc/${escapee}/environ`).includes("PIDKIT_SERVICE"));
    const report = await tree.stop({ retry: "KILL/5" });
    assert.deepEqual(report.survivors, []);
    assert.ok(!alive(escapee));
    assert.throws(() => Deno.statSync(cg), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "attachTree refuses a reused PID and attaches to a live tree",
  ignore: !linux,
  async fn() {
    await using dir = tempDir();
    await using rec = new Recorded();
    const out = dir.join("pids");
    const tree = rec.tree(
      await spawnTree(["sh", TREE, "wide", out, "3"], { tracking: "group", stdin: "null" }),
    );
    await fixturePids(out, 3, rec);
    const ok = attachTree(tree.ref);
    assert.equal(ok.members().length, 3);
    // The same PID with another start time: what a recycled PID looks like.
    const reused = {
      ...tree.ref,
      startTime: tree.ref.startTime - 1,
      marker: "reused:00ff00ff00ff",
    };
    assert.throws(() => attachTree(reused), (e: Error) => {
      assert.ok(e instanceof TreeError);
      assert.equal(e.reason, "gone");
      assert.match(e.message, /now belongs to another process/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
    assert.throws(
      () => attachTree({ ...tree.ref, marker: "bad marker" }),
      (e: Error) => e instanceof TreeError && e.reason === "bad-ref",
    );
    assert.deepEqual((await ok.stop({ retry: "TERM/5/KILL/5" })).survivors, []);
    assert.equal((await ok.status).code, null); // attached: exit status unknown
    assert.equal((await tree.status).signal, "SIGTERM");
  },
});

Deno.test({
  name: "tracking 'cgroup' without a usable cgroup2 is an error; 'auto' falls back to group",
  ignore: !linux || Deno.uid() !== 0,
  async fn() {
    // As an unprivileged user the cgroup2 hierarchy is not writable.
    await using dir = tempDir();
    Deno.chmodSync(dir.path, 0o755);
    const script = dir.join("probe.ts");
    // A clone under a 0700 directory: uid 65534 runs copies it can read.
    const from = readableCopy(dir.path);
    Deno.writeTextFileSync(
      script,
      `import { spawnTree } from ${JSON.stringify(`file://${from.root}/tree.ts`)};
const auto = await spawnTree(["true"], { stdin: "null" });
await auto.status;
let forced = "ok";
try { await spawnTree(["true"], { tracking: "cgroup", stdin: "null" }); } catch (e) { forced = String(e) + " reason=" + e.reason; }
console.log(JSON.stringify({ auto: auto.tracking, forced }));`,
    );
    Deno.chmodSync(script, 0o644);
    const r = await new Deno.Command(from.deno, {
      args: ["run", "-A", "--quiet", "--no-lock", script],
      uid: 65534,
      gid: 65534,
      cwd: dir.path,
      env: { DENO_DIR: dir.join("deno"), HOME: dir.path },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    const stderr = new TextDecoder().decode(r.stderr);
    if (/Permission denied|NotCapable|EACCES/.test(stderr) && !stdout) {
      console.log(`skipped: cannot run Deno as uid 65534 here: ${stderr.split("\n")[0]}`);
      return;
    }
    const res = JSON.parse(stdout);
    assert.equal(res.auto, "group");
    assert.match(res.forced, /^TreeError: cgroup tracking unavailable \(.*\); run as root/);
    assert.match(res.forced, / reason=no-cgroup$/);
  },
});

Deno.test({
  name: "this file leaves no process, marker or cgroup behind",
  ignore: !linux,
  fn() {
    for (const [pid, startTime] of allPids) {
      const st = readProcStat(pid);
      assert.ok(
        st === undefined || st.startTime !== startTime || st.state === "Z",
        `pid ${pid} is still running`,
      );
    }
    for (const name of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(name.name)) continue;
      let env = "";
      try {
        env = Deno.readTextFileSync(`/proc/${name.name}/environ`);
      } catch {
        continue;
      }
      for (const m of allMarkers) {
        const st = readProcStat(Number(name.name));
        if (st?.state === "Z") continue;
        assert.ok(!env.includes(`PIDKIT_SERVICE=${m}\0`), `pid ${name.name} carries ${m}`);
      }
    }
    for (const cg of allCgroups) {
      assert.throws(() => Deno.statSync(cg), Deno.errors.NotFound, `${cg} was left behind`);
    }
  },
});

Deno.test("spawnTree groups: set through setpriv as root, in both tiers; refused without uid", async () => {
  await assert.rejects(
    () => spawnTree(["true"], { groups: [4], stdin: "null" }),
    (err: Error) => err instanceof UsageError && /groups need uid and gid/.test(err.message),
  );
  if (Deno.uid() !== 0 || findSetpriv() === undefined) {
    console.log("skipped: supplementary groups need root and setpriv(1)");
    return;
  }
  for (const tracking of ["group", "auto"] as const) {
    const tree = await spawnTree(["sleep", "30"], {
      uid: 65534,
      gid: 65534,
      groups: [65534, 4, 27],
      tracking,
      stdin: "null",
      name: "groups",
    });
    try {
      const comm = () => Deno.readTextFileSync(`/proc/${tree.pid}/comm`).trim();
      await waitUntil(() => comm() === "sleep", { what: "setpriv to exec the command" });
      const status = await Deno.readTextFile(`/proc/${tree.pid}/status`);
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
      assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
      assert.deepEqual(/^Groups:\s*(.*)$/m.exec(status)![1].trim().split(/\s+/).map(Number), [
        4,
        27,
        65534,
      ]);
    } finally {
      await tree.stop();
    }
    assert.ok(!alive(tree.pid));
  }
});

Deno.test("stop continues stopped members after TERM, so one that handles TERM exits now, not at KILL", async () => {
  for (const tracking of ["group", "auto"] as const) {
    // The leader handles TERM; SIGSTOPped, it would keep TERM pending until KILL.
    const tree = await spawnTree(
      ["sh", "-c", 'trap "exit 0" TERM; sleep 1000 & wait'],
      { tracking, stdin: "null", name: "stopped" },
    );
    try {
      await waitUntil(() => tree.members().length === 2, { what: "leader and sleep" });
      Deno.kill(tree.pid, "SIGSTOP");
      await waitUntil(() => readProcStat(tree.pid)?.state === "T", { what: "leader stopped" });
      const report = await tree.stop({ retry: "TERM/5/KILL/2" });
      assert.deepEqual(report.signalsSent.map((s) => s.signal), ["SIGTERM"], tracking);
      assert.deepEqual(report.survivors, []);
      assert.ok(report.durationMs < 4000, `${tracking}: took ${report.durationMs} ms`);
      assert.equal((await tree.status).code, 0, "the trap ran: exit 0, not killed");
    } finally {
      await tree.stop({ retry: "KILL/2" });
    }
  }
});

Deno.test({
  name:
    "isStartGate: a leader waiting at its gate is one, with or without the output shim folded in",
  ignore: !linux,
  async fn() {
    await using dir = await tempDir();
    for (const command of [["true"], behindOutputShim(dir.join("out"), ["true"])]) {
      let waiting = false;
      const child = await spawnGated(
        command,
        { stdin: "null", stdout: "null", stderr: "null" },
        (pid) => {
          // The spawner waits here (synchronously) while the leader sits at its gate.
          const deadline = Date.now() + 30_000;
          while (!(waiting = isStartGate(pid)) && Date.now() < deadline) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          }
        },
      );
      assert.ok(waiting, `${command.join(" ")}: the leader was never seen at its gate`);
      assert.equal((await child.status).code, 0);
      assert.equal(isStartGate(child.pid), false);
    }
  },
});

Deno.test({
  name: "spawnGated: a leader whose gate FIFO is removed before the verdict (its TMPDIR removed " +
    "under the spawner) is ended, not left waiting for ever; the spawn fails",
  ignore: !linux,
  async fn() {
    let leader = 0;
    try {
      await assert.rejects(
        spawnGated(["true"], { stdin: "null", stdout: "null", stderr: "null" }, (pid) => {
          leader = pid;
          // Until the leader waits in open(2) for the writer, then its FIFO goes.
          const deadline = Date.now() + 30_000;
          while (wchan(pid) !== "wait_for_partner" && Date.now() < deadline) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          }
          const fifo = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[4];
          Deno.removeSync(fifo.slice(0, fifo.lastIndexOf("/")), { recursive: true });
        }),
        TreeError,
      );
      assert.ok(leader > 0);
      assert.equal(alive(leader), false, "the leader still waits at its removed gate");
    } finally {
      if (leader > 0 && alive(leader)) Deno.kill(leader, "SIGKILL");
    }
  },
});

/** What a process waits in (`wait_for_partner`: opening a FIFO), "" when unknown. */
function wchan(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/wchan`);
  } catch {
    return "";
  }
}
