/**
 * `isTreeMember`, the per-process rule that decides whose sd_notify
 * messages are believed: in the group tier it follows the parent chain, so
 * a descendant that cleared its environment and left the session (what
 * nginx-style daemons do) still speaks for its service, while a stranger
 * that started later does not.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnTree } from "../../src/tree/spawn_tree.ts";
import { isTreeMember } from "../../src/tree/tree_member.ts";
import { readProcStat } from "../../src/os/proc.ts";
import { ownChild } from "../../src/os/orphan_reaper.ts";
import { killQuietly, waitUntil } from "../_util/helpers.ts";
import { childrenOf } from "../_util/process_view.ts";

Deno.test("isTreeMember (group tier): an env -i setsid descendant is a member, a stranger is not", async () => {
  const tree = await spawnTree(
    ["sh", "-c", "setsid env -i /bin/sh -c 'exec sleep 30' & wait"],
    { tracking: "group", stdin: "null", stdout: "null", stderr: "null", name: "member" },
  );
  const stranger = new Deno.Command("sleep", { args: ["30"], stdin: "null" }).spawn();
  ownChild(stranger); // as a supervisor registers every child it spawns
  try {
    let escapee = 0;
    await waitUntil(() => {
      escapee = childrenOf(tree.pid).find((pid) => {
        const st = readProcStat(pid);
        return st !== undefined && st.sid !== tree.ref.sid && st.comm === "sleep";
      }) ?? 0;
      return escapee !== 0;
    }, { what: "the escapee" });
    assert.notEqual(readProcStat(escapee)?.pgid, tree.ref.pgid, "it left the group");
    assert.equal(isTreeMember(tree.ref, escapee), true, "found through its parent");
    assert.equal(isTreeMember(tree.ref, tree.pid), true, "the leader");
    assert.equal(isTreeMember(tree.ref, stranger.pid), false, "a stranger started later");
    assert.equal(isTreeMember(tree.ref, 1), false, "init");
  } finally {
    killQuietly(stranger.pid);
    await stranger.status;
    await tree.stop({ retry: "KILL/5" });
  }
});
