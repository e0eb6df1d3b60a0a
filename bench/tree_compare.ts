/**
 * Side-by-side figures for stopping process trees: pidkit (both tiers)
 * against `kill -- -PGID` and Debian's `start-stop-daemon --stop --pidfile`
 * on the same kinds of tree. Run with:
 *
 *   deno run -A bench/tree_compare.ts [RUNS]
 *
 * Prints one Markdown table of medians over RUNS runs (default 5).
 *
 * @module
 */

import { attachTree, type Tracking } from "../tree.ts";
import { isProcessAlive } from "../src/os/proc.ts";
import {
  cgroupWorks,
  cleanup,
  median,
  pidkitTree,
  plainTree,
  recorded,
  type Shape,
  survivors,
} from "./tree_fixture.ts";

const RUNS = Number(Deno.args[0] ?? 5);
const N = 200;
const SSD = ["/usr/sbin/start-stop-daemon", "/sbin/start-stop-daemon"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const tiers: Tracking[] = (await cgroupWorks()) ? ["group", "cgroup"] : ["group"];
const dirs: string[] = [];
const rows: string[][] = [];

function row(what: string, tool: string, ms: number[], surv: number[], note = ""): void {
  rows.push([what, tool, median(ms).toFixed(1), String(median(surv)), note]);
  console.error(`  ${what} | ${tool}: ${median(ms).toFixed(1)} ms, ${median(surv)} survivors`);
}

/** Wait until none of `pids` is alive, at most `ms`; returns the time it took. */
async function untilDead(pids: number[], ms: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (pids.every((p) => !isProcessAlive(p, recorded.get(p)))) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
}

function allPids(pids: Map<string, number[]>): number[] {
  return [...pids].filter(([l]) => l !== "daemon-parent").flatMap(([, l]) => l);
}

async function pidkitStop(shape: Shape, n: number, tracking: Tracking, retry: string) {
  const { tree, pids, dir } = await pidkitTree(shape, n, tracking);
  dirs.push(dir);
  const report = await tree.stop({ retry });
  const left = survivors(pids);
  cleanup();
  await tree.done();
  return { report, left };
}

async function killPgid(shape: Shape, n: number, sig: string) {
  const { child, pids, dir } = await plainTree(shape, n);
  dirs.push(dir);
  const t0 = performance.now();
  await new Deno.Command("kill", { args: [`-${sig}`, "--", `-${child.pid}`] }).output();
  // kill returns at once: time until the group's processes are gone (2 s cap).
  await untilDead(allPids(pids), 2000);
  const ms = performance.now() - t0;
  const left = survivors(pids);
  cleanup();
  await child.status;
  return { ms, left };
}

async function ssdStop(shape: Shape, n: number, retry: string) {
  const { child, pids, dir } = await plainTree(shape, n);
  dirs.push(dir);
  const pidfile = `${dir}/leader.pid`;
  await Deno.writeTextFile(pidfile, `${child.pid}\n`, { mode: 0o644 });
  const t0 = performance.now();
  const out = await new Deno.Command(SSD!, {
    args: ["--stop", "--pidfile", pidfile, "--retry", retry, "--quiet"],
  }).output();
  const ms = performance.now() - t0;
  const left = survivors(pids);
  cleanup();
  await child.status;
  return { ms, left, code: out.code };
}

try {
  console.error(
    `tree_compare: ${RUNS} runs, tiers ${tiers.join(", ")}, start-stop-daemon ${SSD ?? "missing"}`,
  );

  // 1. 200 processes that obey TERM.
  const what1 = `${N} procs, TERM obeyed`;
  for (const t of tiers) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await pidkitStop("wide", N, t, "TERM/10/KILL/5");
      ms.push(r.report.durationMs);
      s.push(r.left.length);
    }
    row(what1, `pidkit stop (${t})`, ms, s, "stop() until every member is gone");
  }
  {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await killPgid("wide", N, "TERM");
      ms.push(r.ms);
      s.push(r.left.length);
    }
    row(what1, "kill -TERM -- -PGID", ms, s, "until all dead (polled 1 ms)");
  }
  if (SSD) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await ssdStop("wide", N, "TERM/10/KILL/5");
      ms.push(r.ms);
      s.push(r.left.length);
    }
    row(what1, "start-stop-daemon --pidfile", ms, s, "kills the PID in the file only");
  }

  // 2. 200 processes that ignore TERM: how long after the KILL deadline (1 s).
  const what2 = `${N} procs ignoring TERM, TERM/1/KILL/5`;
  for (const t of tiers) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await pidkitStop("wide-noterm", N, t, "TERM/1/KILL/5");
      ms.push(r.report.durationMs - 1000);
      s.push(r.left.length);
    }
    row(what2, `pidkit stop (${t})`, ms, s, "overshoot: duration - 1000 ms");
  }
  if (SSD) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await ssdStop("wide-noterm", N, "TERM/1/KILL/5");
      ms.push(r.ms - 1000);
      s.push(r.left.length);
    }
    row(what2, "start-stop-daemon --pidfile", ms, s, "overshoot: duration - 1000 ms");
  }

  // 3. The mixed 22-process tree (setsid child, double-forked daemon,
  //    TERM-ignoring child, env -i setsid escapee).
  const what3 = "mixed 22-proc tree";
  for (const t of tiers) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await pidkitStop("full", 14, t, "TERM/1/KILL/5");
      ms.push(r.report.durationMs);
      s.push(r.left.length);
    }
    row(
      what3,
      `pidkit stop (${t})`,
      ms,
      s,
      t === "group" ? "the env -i setsid escapee is found through the parent chain" : "",
    );
  }
  for (const sig of ["TERM", "KILL"]) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await killPgid("full", 14, sig);
      ms.push(r.ms);
      s.push(r.left.length);
    }
    row(what3, `kill -${sig} -- -PGID`, ms, s, "time includes the 2 s cap when some survive");
  }
  if (SSD) {
    const ms: number[] = [], s: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await ssdStop("full", 14, "TERM/1/KILL/5");
      ms.push(r.ms);
      s.push(r.left.length);
    }
    row(what3, "start-stop-daemon --pidfile", ms, s);
  }

  // 4. members() of 200 processes, and done() after the last member dies.
  for (const t of tiers) {
    const { tree, pids, dir } = await pidkitTree("wide", N, t);
    dirs.push(dir);
    const ms: number[] = [];
    let count = 0;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      count = tree.members().length;
      ms.push(performance.now() - t0);
    }
    row(`members() of ${count} procs`, `pidkit (${t})`, ms, [0], "20 calls");
    // fresh attach (cold caches), as the CLI does it
    const cold: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      attachTree(tree.ref).members();
      cold.push(performance.now() - t0);
    }
    row(`attachTree + members() of ${count}`, `pidkit (${t})`, cold, [0], "5 calls");

    // done(): kill all but one, then the last one at t0.
    const last = pids.get("child")!.at(-1)!;
    const lat: number[] = [];
    for (const pid of allPids(pids)) {
      if (pid !== last) Deno.kill(pid, "SIGKILL");
    }
    const done = tree.done().then(() => performance.now());
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    Deno.kill(last, "SIGKILL");
    lat.push((await done) - t0);
    // more samples on small trees
    for (let i = 0; i < RUNS - 1; i++) {
      const x = await pidkitTree("wide", 3, t);
      dirs.push(x.dir);
      const lastOne = x.pids.get("child")!.at(-1)!;
      for (const pid of allPids(x.pids)) if (pid !== lastOne) Deno.kill(pid, "SIGKILL");
      const d = x.tree.done().then(() => performance.now());
      await new Promise((r) => setTimeout(r, 300));
      const t1 = performance.now();
      Deno.kill(lastOne, "SIGKILL");
      lat.push((await d) - t1);
    }
    row("done() after the last member dies", `pidkit (${t})`, lat, [0], "SIGKILL to resolve");
  }
} finally {
  cleanup(dirs);
}

console.log(
  `\nProcess-tree stop, medians of ${RUNS} runs (${Deno.build.target}, load ${
    Deno.loadavg().join(" ")
  })\n`,
);
console.log("| scenario | tool | median ms | survivors | note |");
console.log("| --- | --- | ---: | ---: | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
