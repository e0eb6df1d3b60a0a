/**
 * Process-tree benchmarks for `deno bench -A bench/tree_bench.ts`:
 * members() of a 200-process tree, stop() of a 200-process tree that obeys
 * TERM (timed from stop() to its resolution only), and the overshoot after
 * the KILL deadline for a tree that ignores TERM. Both tiers where cgroup2
 * is writable. The side-by-side with kill and start-stop-daemon is
 * bench/tree_compare.ts.
 *
 * @module
 */

import type { Tracking } from "../tree.ts";
import { cgroupWorks, cleanup, pidkitTree } from "./tree_fixture.ts";

const N = 200;
const tiers: Tracking[] = (await cgroupWorks()) ? ["group", "cgroup"] : ["group"];
const dirs: string[] = [];
globalThis.addEventListener("unload", () => cleanup(dirs));

for (const tracking of tiers) {
  const wide = await pidkitTree("wide", N, tracking);
  dirs.push(wide.dir);
  let stopped = false;
  Deno.bench({
    name: `members() of ${N} processes (${tracking})`,
    group: "members",
    n: 50,
    fn() {
      if (stopped) return;
      const n = wide.tree.members().length;
      if (n !== N) throw new Error(`expected ${N} members, got ${n}`);
    },
  });
  Deno.bench({
    name: `stop() of ${N} processes obeying TERM (${tracking})`,
    group: "stop",
    n: 5,
    warmup: 1,
    async fn(b) {
      if (!stopped) {
        // the members() tree is done with: stop it first, untimed
        stopped = true;
        await wide.tree.stop({ retry: "KILL/5" });
      }
      const { tree, dir } = await pidkitTree("wide", N, tracking);
      dirs.push(dir);
      b.start();
      const report = await tree.stop({ retry: "TERM/10/KILL/5" });
      b.end();
      if (report.survivors.length > 0) throw new Error(`${report.survivors.length} survivors`);
      cleanup();
    },
  });
  Deno.bench({
    // The KILL deadline is 200 ms after stop() starts: the overshoot is time/iter - 200 ms.
    name: `stop() of ${N} processes ignoring TERM, TERM/0.2/KILL/5 (${tracking})`,
    group: "overshoot",
    n: 3,
    warmup: 1,
    async fn(b) {
      const { tree, dir } = await pidkitTree("wide-noterm", N, tracking);
      dirs.push(dir);
      b.start();
      const report = await tree.stop({ retry: "TERM/0.2/KILL/5" });
      b.end();
      if (report.survivors.length > 0) throw new Error(`${report.survivors.length} survivors`);
      cleanup();
    },
  });
}
