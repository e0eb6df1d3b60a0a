/**
 * A notify message whose sender is gone before the supervisor reads it: a
 * helper (systemd-notify, the test fixture) sends `READY=1`, exits and is
 * reaped by its shell, all while the supervisor is busy (a loaded
 * machine). /proc no longer knows the sender; in the cgroup tier the pidfd
 * the kernel attached to the datagram still says which cgroup it was in.
 * The supervisor is held still with SIGSTOP, so the order is certain.
 */
import assert from "node:assert/strict";
import { exists, FIXTURES, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { readServiceRecord } from "../../../src/service/model/service_record.ts";

const SENDER = ["deno", "run", "-A", `${FIXTURES}/notify_sender.ts`];

/** Why this cannot run here, if it cannot: root for the cgroup tier, Linux 6.16+ for pidfds of reaped senders. */
function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (the cgroup tier)";
  const [major, minor] = Deno.osRelease().split(/[.-]/).map(Number);
  if (major < 6 || (major === 6 && minor < 16)) {
    return `Linux ${Deno.osRelease()} gives no pidfd of a reaped sender (6.16+)`;
  }
  return undefined;
}

Deno.test("cgroup tier: READY=1 from a sender reaped before the supervisor read it still makes the service ready", async () => {
  const skip = skipReason();
  if (skip) return console.log(`skipped: reaped notify sender: ${skip}`);
  await using svc = new Services();
  const name = uniqueName("gone");
  const go = svc.dir.join(`${name}.go`);
  const sent = svc.dir.join(`${name}.sent`);
  const starting = svc.cli([
    "start",
    name,
    "--ready-notify",
    "--ready-timeout",
    "20s",
    "--",
    "sh",
    "-c",
    // `touch` runs once the sender has exited and the shell has reaped it.
    `${SENDER.join(" ")} await:${go} ready; touch ${sent}; exec sleep 60`,
  ]);
  // The state names the tree once the supervisor listens for its messages.
  let supervisor = 0;
  let tracking = "";
  await waitUntil(async () => {
    const s = await readServiceRecord(svc.dir.join(`${name}.json`)).catch(() => undefined);
    if (s?.tree === undefined) return false;
    svc.record(s);
    supervisor = s.supervisor.pid;
    tracking = s.tree.tracking;
    return true;
  }, { timeoutMs: 30_000, what: "the service's tree in its state" });
  Deno.kill(supervisor, "SIGSTOP");
  try {
    await Deno.writeTextFile(go, "");
    await waitUntil(() => exists(sent), { timeoutMs: 30_000, what: "the sender to be reaped" });
  } finally {
    Deno.kill(supervisor, "SIGCONT");
  }
  const r = await starting;
  const log = await Deno.readTextFile(svc.dir.join(`${name}.log`)).catch(() => "(no log)");
  if (tracking !== "cgroup") {
    await svc.cli(["stop", name]);
    return console.log(`skipped: reaped notify sender: the tree is tracked by ${tracking}`);
  }
  assert.equal(r.code, 0, `pidkit start: ${r.stderr}\nlog:\n${log}`);
  assert.match(log, /is ready \(READY=1 from pid \d+\)/);
  assert.doesNotMatch(log, /ignored a notify message/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
});
