/**
 * `ProcSnapshot` (what `list` and `ps` show) finds the same members as the
 * tree itself, in both tiers: a cgroup tree from its `cgroup.procs` alone
 * (no scan of every process in `/proc`), a process-group tree from the scan,
 * taken only when first needed.
 */
import assert from "node:assert/strict";
import { spawnTree, type Tracking } from "../../../tree.ts";
import { ProcSnapshot } from "../../../src/service/inspect/proc_snapshot.ts";
import { alive, waitUntil } from "../../_util/helpers.ts";

const linux = Deno.build.os === "linux";

/** Why the cgroup tier cannot be tested here, or undefined when it can. */
async function cgroupUnavailable(): Promise<string | undefined> {
  if (!linux) return "not Linux";
  const probe = await spawnTree(["true"], { stdin: "null", name: "snapprobe" });
  await probe.status;
  await probe.stop();
  return probe.tracking === "cgroup" ? undefined : "cgroup2 is not writable here";
}

const noCgroup = await cgroupUnavailable();
if (noCgroup) console.log(`proc_snapshot_test: cgroup tier skipped: ${noCgroup}`);

for (const tracking of ["group", "cgroup"] as Tracking[]) {
  Deno.test({
    name: `ProcSnapshot (${tracking} tier): a tree's members as the tree lists them`,
    ignore: !linux || (tracking === "cgroup" && noCgroup !== undefined),
    async fn() {
      // A leader and two children, all in the tree.
      const tree = await spawnTree(["sh", "-c", "sleep 300 & sleep 300 & wait"], {
        tracking,
        stdin: "null",
        name: `snap-${tracking}`,
      });
      const pids = () => tree.members().map((m) => m.pid).sort((a, b) => a - b);
      try {
        await waitUntil(() => pids().length === 3, { what: "the tree's three processes" });
        const snap = new ProcSnapshot();
        const members = snap.members(tree.ref);
        assert.deepEqual(members.map((m) => m.pid), pids());
        assert.ok(members.every((m) => m.ageSeconds >= 0 && m.cpuPercent >= 0));
        // The full scan, taken now if not before, agrees.
        for (const pid of pids()) assert.equal(snap.procs.get(pid)?.pid, pid);
      } finally {
        const all = pids();
        await tree.stop({ retry: "KILL/10" });
        await waitUntil(() => all.every((p) => !alive(p)), { what: "the tree to die" });
      }
    },
  });
}
