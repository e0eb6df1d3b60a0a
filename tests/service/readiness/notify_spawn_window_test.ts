/**
 * A notify message sent while the spawn is still under way: the service
 * runs (and may say READY=1, as `systemd-notify` does within a few ms)
 * before the spawn has returned and the supervisor knows the new tree.
 * Read then, it was judged against no tree and dropped ("not a process
 * of"), and `start` waited out the whole ready timeout. It must wait in
 * the socket until the tree is attached.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FdPoller } from "../../../src/os/fd_poller.ts";
import { libc } from "../../../src/os/libc.ts";
import { ServiceNotify } from "../../../src/service/readiness/service_notify.ts";
import type { ServiceOptions } from "../../../src/service/model/service_record.ts";
import { spawnTree } from "../../../src/tree/spawn_tree.ts";
import { exists, FIXTURES, waitUntil } from "../../_util/helpers.ts";

Deno.test("ServiceNotify: READY=1 sent before the spawned tree is attached counts once it is", async () => {
  const lib = libc();
  const poller = FdPoller.create();
  if (lib === undefined || poller === undefined) return console.log("skipped: needs FFI on Linux");
  const dir = await Deno.makeTempDir({ prefix: "pidkit-nwin-" });
  const lines: string[] = [];
  const notify = await ServiceNotify.open({
    name: "win",
    dir,
    options: { readyNotify: true } as ServiceOptions,
    log: (text) => lines.push(text),
    save: () => Promise.resolve(),
    phase: () => "starting",
    enter: () => {},
    onWatchdog: () => {},
    onMainPid: () => {},
    poller,
  });
  const pipe = new Int32Array(2);
  assert.equal(lib.pipe2(pipe, 0o4000 | 0o2000000), 0); // O_NONBLOCK | O_CLOEXEC
  const { env } = await notify.prepareSpawn();
  const sent = `${dir}/sent`;
  // The leader itself sends (and stays): a member by /proc in either tier.
  const tree = await spawnTree(
    ["deno", "run", "-A", `${FIXTURES}/notify_sender.ts`, "ready", `stamp:${sent}`, "stay"],
    { env, stdin: "null", stdout: "null", stderr: "null", name: "win" },
  );
  try {
    await waitUntil(() => exists(sent), { timeoutMs: 30_000, what: "READY=1 to be sent" });
    // One turn of the poller after the datagram was queued: a poll that
    // sees this pipe readable sees the (older) datagram too, so a socket
    // still watched has been read by the time this handler runs.
    let turned = false;
    poller.watch(pipe[0], () => {
      lib.read(pipe[0], new Uint8Array(8), 8n);
      turned = true;
    });
    lib.write(pipe[1], new Uint8Array([1]), 1n);
    await waitUntil(() => turned, { what: "a turn of the poller" });
    assert.deepEqual(lines.filter((l) => /ignored/.test(l)), [], "the message was dropped");
    notify.attach(tree);
    let ready = false;
    void notify.conditions()[0].ready.then(() => ready = true);
    await waitUntil(() => ready, { timeoutMs: 10_000, what: "READY=1 to count" });
    assert.match(lines.join("\n"), /win is ready \(READY=1 from pid \d+\)/);
  } finally {
    poller.unwatch(pipe[0]);
    lib.close(pipe[0]);
    lib.close(pipe[1]);
    await tree.stop({ retry: "KILL/5" });
    await notify.close();
    await poller.close();
    await Deno.remove(dir, { recursive: true });
  }
});
