/**
 * The one membership rule with real processes (the synthetic table is in
 * membership_test.ts): in the group tier, a descendant that cleared its
 * environment, left the session and was orphaned to the resident
 * supervisor is a member for every view: `list` counts it, `ps` shows it,
 * `stop` ends it. Run as root with `--tracking group`.
 */

import assert from "node:assert/strict";
import { alive, waitUntil } from "../_util/helpers.ts";
import { readPids } from "../_util/process_view.ts";
import { Services, uniqueName } from "../_util/service_dir.ts";

Deno.test({
  name: "group tier: list, ps and stop agree on an env -i setsid orphan of the supervisor",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using s = new Services();
    const name = uniqueName("orph");
    const escapee = s.dir.join("escapee.pid");
    const r = await s.cli([
      "start",
      name,
      "--tracking",
      "group",
      "--",
      "sh",
      "-c",
      `(env -i setsid sleep 600 & echo $! > ${escapee}); exec sleep 600`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(() => readPids(escapee).length === 1, { what: "the escapee's PID" });
    const orphan = readPids(escapee)[0];
    s.pid(orphan);
    const leader = JSON.parse((await s.cli(["status", name, "--json"])).stdout).pid as number;
    s.pid(leader);

    const ps = await s.cli(["ps", name, "--json"]);
    assert.equal(ps.code, 0, ps.stderr);
    const pids = (JSON.parse(ps.stdout).processes as { pid: number }[]).map((p) => p.pid);
    assert.deepEqual(pids.sort((a, b) => a - b), [leader, orphan].sort((a, b) => a - b), "ps");

    const list = await s.cli(["list", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const row = (JSON.parse(list.stdout).services as { name: string; processes: number }[])
      .find((x) => x.name === name);
    assert.equal(row?.processes, 2, "list counts the leader and the orphan");

    const stop = await s.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    await waitUntil(() => !alive(orphan), { what: "stop to end the orphan" });
    assert.equal(alive(leader), false);
  },
});
