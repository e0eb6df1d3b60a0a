/**
 * Shared by the process-tree benchmarks: build fixture trees (with pidkit
 * or plainly), record every PID they print, and end whatever is left by
 * PID (only while it is still the recorded process).
 *
 * @module
 */

import { type ProcessTree, spawnTree, type Tracking } from "../tree.ts";
import { isProcessAlive, readProcStat } from "../src/os/proc.ts";

const TREE = new URL("../tests/fixtures/tree.sh", import.meta.url).pathname;

/** Fixture modes of tests/fixtures/tree.sh. */
export type Shape = "wide" | "wide-noterm" | "full";

/** Every process a benchmark learnt about: pid -> start time. */
export const recorded: Map<number, number> = new Map();

/** Lines a shape prints before it is complete. */
function linesFor(shape: Shape, n: number): number {
  return shape === "full" ? n + 9 : n;
}

/** Wait for the fixture's PID file to have `lines` lines; record them. */
async function collect(out: string, lines: number): Promise<Map<string, number[]>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let text = "";
    try {
      text = await Deno.readTextFile(out);
    } catch { /* not yet */ }
    const all = text.split("\n").filter((l) => l !== "");
    if (all.length >= lines) {
      const map = new Map<string, number[]>();
      for (const line of all) {
        const [label, p] = line.split(" ");
        const pid = Number(p);
        const st = readProcStat(pid);
        if (st) recorded.set(pid, st.startTime);
        map.set(label, [...(map.get(label) ?? []), pid]);
      }
      return map;
    }
    if (Date.now() > deadline) throw new Error(`fixture did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A tree started by pidkit, with the PIDs its fixture printed. */
export async function pidkitTree(
  shape: Shape,
  n: number,
  tracking: Tracking,
): Promise<{ tree: ProcessTree; pids: Map<string, number[]>; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-bench-" });
  const out = `${dir}/pids`;
  const tree = await spawnTree(["sh", TREE, shape, out, String(n)], {
    tracking,
    stdin: "null",
    name: `bench-${shape}`,
  });
  if (tree.tracking !== tracking) throw new Error(`wanted ${tracking}, got ${tree.tracking}`);
  const pids = await collect(out, linesFor(shape, n));
  return { tree, pids, dir };
}

/** The same tree started plainly (for the peers): detached, its own group. */
export async function plainTree(
  shape: Shape,
  n: number,
): Promise<{ child: Deno.ChildProcess; pids: Map<string, number[]>; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-bench-" });
  const out = `${dir}/pids`;
  const child = new Deno.Command("sh", {
    args: [TREE, shape, out, String(n)],
    detached: true,
    stdin: "null",
  }).spawn();
  const pids = await collect(out, linesFor(shape, n));
  return { child, pids, dir };
}

/** Recorded PIDs of `pids` that are still alive (zombies are dead). */
export function survivors(pids: Map<string, number[]>): number[] {
  const out: number[] = [];
  for (const [label, list] of pids) {
    if (label === "daemon-parent") continue;
    for (const pid of list) if (isProcessAlive(pid, recorded.get(pid))) out.push(pid);
  }
  return out;
}

/** SIGKILL every recorded process still alive, remove temp dirs. */
export function cleanup(dirs: string[] = []): void {
  for (const [pid, startTime] of recorded) {
    if (isProcessAlive(pid, startTime)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
  for (const d of dirs) Deno.removeSync(d, { recursive: true });
}

/** The median of some numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Whether this machine can run cgroup tracking. */
export async function cgroupWorks(): Promise<boolean> {
  try {
    const t = await spawnTree(["true"], { tracking: "cgroup", stdin: "null", name: "probe" });
    await t.status;
    await t.stop();
    return true;
  } catch {
    return false;
  }
}
