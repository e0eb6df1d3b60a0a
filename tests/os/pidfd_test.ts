/**
 * pidfd: a signal checked against a process's identity can never reach
 * another process that took its PID between the check and the signal.
 * The test makes that race happen on purpose: a hook run after the check
 * kills the checked process and starts a newcomer with the same PID
 * (/proc/sys/kernel/ns_last_pid, root only). Through the pidfd the newcomer
 * lives; with the documented kill(2) fallback it is hit.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  _forcePidfdFallbackForTesting,
  Pidfd,
  pidfdSupported,
  signalProcess,
} from "../../src/os/pidfd.ts";
import { stopRoots } from "../../src/tree/process_family.ts";
import { alive, Reaper } from "../_util/helpers.ts";
import { canReuse, raceRound } from "../_util/legacy_helpers.ts";

Deno.test("pidfd: a PID reused between the identity check and the signal is never hit", {
  ignore: !canReuse,
}, async () => {
  await using reaper = new Reaper();
  const newcomer = await raceRound(reaper, (t) => {
    assert.equal(signalProcess(t, "SIGTERM"), "gone");
  });
  assert.ok(newcomer, "could not make the kernel reuse a PID in 20 attempts");
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(newcomer.pid), "the newcomer with the reused PID was signalled");

  // The same race through a whole stop schedule (stop --pidfile of a daemon).
  const second = await raceRound(reaper, async (t) => {
    const report = await stopRoots([t], "TERM/2/KILL/2");
    assert.deepEqual(report.survivors, []);
  });
  assert.ok(second);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(alive(second.pid), "stopRoots signalled the newcomer");
});

Deno.test("pidfd fallback (kill(2), no pidfd): the same race hits the newcomer", {
  ignore: !canReuse,
}, async () => {
  await using reaper = new Reaper();
  _forcePidfdFallbackForTesting(true);
  try {
    // Judged only for the round where the newcomer really got the PID (in
    // another round a process elsewhere may have taken it, or nobody).
    let outcome = "";
    const newcomer = await raceRound(reaper, (t) => {
      outcome = signalProcess(t, "SIGKILL");
    });
    assert.ok(newcomer, "could not make the kernel reuse a PID in 20 attempts");
    assert.equal(outcome, "sent");
    const status = await newcomer.status;
    assert.equal(
      status.signal,
      "SIGKILL",
      "without a pidfd the newcomer is killed: the race is real",
    );
  } finally {
    _forcePidfdFallbackForTesting(false);
  }
});

Deno.test(
  "pidfd: open, signal, wait for exit, refuse once gone",
  { ignore: !pidfdSupported() },
  async () => {
    await using reaper = new Reaper();
    const child = reaper.spawn(["sleep", "1000"]);
    const fd = Pidfd.open(child.pid);
    assert.ok(fd instanceof Pidfd);
    try {
      assert.equal(fd.hasExited(), false);
      assert.equal(await fd.waitExit(20), false);
      assert.equal(fd.signal("SIGTERM"), "sent");
      assert.equal(await fd.waitExit(5000), true);
      assert.equal((await child.status).signal, "SIGTERM");
      assert.equal(fd.signal("SIGTERM"), "gone");
    } finally {
      fd.close();
    }
    const startTime = 1; // not this process's start time: never signalled
    const other = reaper.spawn(["sleep", "1000"]);
    assert.equal(signalProcess({ pid: other.pid, startTime }, "SIGKILL"), "gone");
    assert.ok(alive(other.pid));
  },
);

if (!canReuse) {
  console.log(
    "skipped: the PID reuse race needs root, pidfd support and /proc/sys/kernel/ns_last_pid",
  );
}
