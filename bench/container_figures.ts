/**
 * Figures for containers and PID namespaces (issue 11):
 *
 * 1. orphan reaping latency: an orphan exits -> the subreaper has reaped it
 *    (`OrphanReaper`, on SIGCHLD), median over N orphans, one at a time;
 * 2. the mixed 22-process tree (tests/fixtures/tree.sh full) stopped in the
 *    group tier: survivors (the env -i setsid escapee used to be one), also
 *    with this process a subreaper adopting the tree's orphans;
 * 3. the exit status of PID 1 of a PID namespace on TERM, INT and HUP: a
 *    Deno program holding a PidFile, and `pidkit run` (root and unshare(1)
 *    needed; skipped with a reason otherwise).
 *
 *   deno run -A bench/container_figures.ts [N_ORPHANS] [TREE_RUNS]
 *
 * @module
 */

import { becomeSubreaper, OrphanReaper, ownChild } from "../src/os/orphan_reaper.ts";
import { spawnTree } from "../tree.ts";
import { cleanup, median, pidkitTree, survivors } from "./tree_fixture.ts";

const ORPHANS = Number(Deno.args[0] ?? 100);
const TREE_RUNS = Number(Deno.args[1] ?? 5);
const ROOT = new URL("../", import.meta.url).pathname;

// 1. Reaping latency.
const why = becomeSubreaper();
if (why) {
  console.log(`reaping latency: skipped (${why})`);
} else {
  const reapedAt = new Map<number, number>();
  const reaper = new OrphanReaper({
    onReaped: (r) => reapedAt.set(r.pid, performance.timeOrigin + performance.now()),
  });
  const started = reaper.start();
  if (started) console.log(`reaping latency: skipped (${started})`);
  const dir = Deno.makeTempDirSync({ prefix: "pidkit-bench-reap-" });
  const latencies: number[] = [];
  for (let i = 0; !started && i < ORPHANS; i++) {
    const out = `${dir}/o${i}`;
    // The orphan writes the time (ns) and exits right after: `date` is its last act.
    const sh = new Deno.Command("sh", {
      args: [
        "-c",
        `(sleep 0.02; exec date +%s%N > "$1") & echo $!`,
        "sh",
        out,
      ],
      stdout: "piped",
      detached: true, // like a service tree: its orphans are not in our session
    }).spawn();
    ownChild(sh);
    const pid = Number(new TextDecoder().decode((await sh.output()).stdout).trim());
    const deadline = Date.now() + 5000;
    while (!reapedAt.has(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    const exitedMs = Number(Deno.readTextFileSync(out).trim()) / 1e6;
    if (reapedAt.has(pid)) latencies.push(reapedAt.get(pid)! - exitedMs);
  }
  reaper.stop();
  Deno.removeSync(dir, { recursive: true });
  if (latencies.length > 0) {
    const s = [...latencies].sort((a, b) => a - b);
    console.log(
      `reaping latency over ${latencies.length} orphans (exit -> reaped): median ${
        median(latencies).toFixed(2)
      } ms, p90 ${s[Math.floor(s.length * 0.9)].toFixed(2)} ms, max ${s.at(-1)!.toFixed(2)} ms`,
    );
  }
}

// 2. The mixed tree in the group tier.
for (const adopt of [false, true]) {
  const left: number[] = [];
  const dirs: string[] = [];
  for (let i = 0; i < TREE_RUNS; i++) {
    let tree, pids, dir;
    if (!adopt) ({ tree, pids, dir } = await pidkitTree("full", 14, "group"));
    else ({ tree, pids, dir } = await adoptedTree());
    dirs.push(dir);
    await tree.stop({ retry: "TERM/1/KILL/5" });
    left.push(survivors(pids).length);
  }
  cleanup(dirs);
  console.log(
    `mixed 22-process tree, group tier${adopt ? ", this process a subreaper" : ""}: ` +
      `survivors per run ${JSON.stringify(left)}`,
  );
}

/** The mixed tree started with adoptOrphans (this process is already a subreaper). */
async function adoptedTree() {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-bench-" });
  const out = `${dir}/pids`;
  const tree = await spawnTree(["sh", `${ROOT}tests/fixtures/tree.sh`, "full", out, "14"], {
    tracking: "group",
    stdin: "null",
    name: "bench-full",
    adoptOrphans: true,
  });
  // Reuse the fixture's PID recording: wait for all 23 lines (22 + daemon-parent).
  const deadline = Date.now() + 30_000;
  let pids = new Map<string, number[]>();
  for (;;) {
    const lines = await Deno.readTextFile(out).then(
      (text) => text.split("\n").filter(Boolean),
      () => [] as string[],
    );
    if (lines.length >= 23 || Date.now() > deadline) {
      pids = new Map();
      for (const line of lines) {
        const [label, p] = line.split(" ");
        pids.set(label, [...(pids.get(label) ?? []), Number(p)]);
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const { recorded } = await import("./tree_fixture.ts");
  const { readProcStat } = await import("../src/os/proc.ts");
  for (const list of pids.values()) {
    for (const pid of list) {
      const st = readProcStat(pid);
      if (st) recorded.set(pid, st.startTime);
    }
  }
  return { tree, pids, dir };
}

// 3. PID 1 exit statuses.
const unshare = Deno.uid() === 0
  ? await new Deno.Command("unshare", { args: ["--pid", "--fork", "--mount-proc", "true"] })
    .output().then((o) => o.success, () => false)
  : false;
if (!unshare) {
  console.log("PID 1 exit status: skipped (needs root and unshare --pid --fork --mount-proc)");
} else {
  const tmp = Deno.makeTempDirSync({ prefix: "pidkit-bench-pid1-" });
  const holder = `${ROOT}tests/fixtures/pid_holder.ts`;
  const programs: [string, (sig: string) => string[]][] = [
    ["PidFile holder", (sig) => [holder, `${tmp}/${sig}.pid`]],
    ["pidkit run", (sig) => [
      `${ROOT}cli.ts`,
      "run",
      `app-${sig}`,
      "--dir",
      `${tmp}/run`,
      "--",
      "sleep",
      "600",
    ]],
  ];
  for (const [what, argv] of programs) {
    const codes: string[] = [];
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as Deno.Signal[]) {
      const child = new Deno.Command("unshare", {
        args: [
          "--pid",
          "--fork",
          "--mount-proc",
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          ...argv(sig),
        ],
        stdout: "null",
      }).spawn();
      await new Promise((r) => setTimeout(r, 1500)); // started and listening
      const init = Number(
        Deno.readTextFileSync(`/proc/${child.pid}/task/${child.pid}/children`).trim().split(" ")[0],
      );
      Deno.kill(init, sig);
      const status = await child.status;
      codes.push(`${sig.slice(3)} ${status.code}${status.signal ? ` (${status.signal})` : ""}`);
    }
    console.log(`PID 1 exit status, ${what}: ${codes.join(", ")}`);
  }
  Deno.removeSync(tmp, { recursive: true });
}
