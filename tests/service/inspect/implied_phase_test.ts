/**
 * The phase a record and a probe imply (src/service/inspect/implied_phase.ts):
 * pure, no process, no file.
 */
import assert from "node:assert/strict";
import { heldPhase, lostFilePhase } from "../../../src/service/inspect/implied_phase.ts";
import type { SupervisorPhase } from "../../../src/service/model/service_record.ts";

const RECORDED: SupervisorPhase[] = [
  "starting",
  "running",
  "reloading",
  "restarting",
  "stopping",
  "stopped",
  "exited",
  "failed",
  "scheduled",
];

Deno.test("implied phase: held by the recorded supervisor: the record's live phase", () => {
  const got = RECORDED.map((recorded) => heldPhase({ recorded, current: true, stopper: false }));
  assert.deepEqual(got, [
    "starting",
    "running",
    "reloading",
    "restarting",
    "stopping",
    // A record that says it ended while its supervisor holds the lock: the lock decides.
    "running",
    "running",
    "running",
    "scheduled",
  ]);
});

Deno.test("implied phase: held by another process: a new supervisor, or a stop command", () => {
  for (const recorded of RECORDED) {
    assert.equal(heldPhase({ recorded, current: false, stopper: false }), "starting", recorded);
    assert.equal(heldPhase({ recorded, current: false, stopper: true }), "stopping", recorded);
    assert.equal(heldPhase({ recorded, current: true, stopper: true }), "stopping", recorded);
  }
  // No record at all (a PID file held by a program of its own): it runs.
  assert.equal(heldPhase({ current: false, stopper: false }), "running");
});

Deno.test("implied phase: a lost PID file whose supervisor still runs", () => {
  assert.deepEqual(RECORDED.map(lostFilePhase), [
    "starting",
    "running",
    "running",
    "starting",
    "stopping",
    "running",
    "running",
    "running",
    "running",
  ]);
});
