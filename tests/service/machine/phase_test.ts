/**
 * The phase table of the per-service machine (src/service/machine/phase.ts):
 * pure, no process.
 */
import assert from "node:assert/strict";
import {
  INPUT_EVENT,
  isEnd,
  type MachineInput,
  type MachinePhase,
  nextPhase,
  TRANSITIONS,
} from "../../../src/service/machine/phase.ts";

const PHASES = Object.keys(TRANSITIONS) as MachinePhase[];
const LIVE: MachinePhase[] = [
  "starting",
  "running",
  "reloading",
  "stopping",
  "restarting",
  "scheduled",
];

Deno.test("phase: a first start goes starting -> running -> stopping -> stopped", () => {
  let phase: MachinePhase = "starting";
  for (
    const [input, want] of [
      ["spawn", "starting"],
      ["ready", "running"],
      ["stop", "stopping"],
      ["exit", "stopping"],
      ["stopped", "stopped"],
    ] as [MachineInput, MachinePhase][]
  ) {
    phase = nextPhase(phase, input)!;
    assert.equal(phase, want, `after ${input}`);
  }
});

Deno.test("phase: a crash and a restart go through restarting and starting again", () => {
  assert.equal(nextPhase("running", "exit"), "running");
  assert.equal(nextPhase("running", "restart"), "restarting");
  assert.equal(nextPhase("restarting", "spawn"), "starting");
  assert.equal(nextPhase("starting", "ready"), "running");
});

Deno.test("phase: a restart in place spawns from stopping", () => {
  assert.equal(nextPhase("running", "stop"), "stopping");
  assert.equal(nextPhase("stopping", "spawn"), "starting");
});

Deno.test("phase: reloading comes back to running on reloaded, not on a first ready", () => {
  assert.equal(nextPhase("running", "reload"), "reloading");
  assert.equal(nextPhase("reloading", "reloaded"), "running");
  // Said RELOADING=1 (or STOPPING=1) before it was ready: the ready wait keeps that phase.
  assert.equal(nextPhase("reloading", "ready"), "reloading");
  assert.equal(nextPhase("stopping", "ready"), "stopping");
});

Deno.test("phase: every live phase can end in each of the three ends", () => {
  for (const phase of LIVE) {
    assert.equal(nextPhase(phase, "give-up"), "failed", phase);
    assert.equal(nextPhase(phase, "end"), "exited", phase);
    assert.equal(nextPhase(phase, "stopped"), "stopped", phase);
  }
});

Deno.test("phase: the ends are ends: no input leaves them", () => {
  const inputs = Object.keys(INPUT_EVENT) as MachineInput[];
  for (const phase of PHASES) {
    assert.equal(isEnd(phase), ["exited", "failed", "stopped"].includes(phase), phase);
    if (!isEnd(phase)) continue;
    for (const input of inputs) {
      assert.equal(nextPhase(phase, input), undefined, `${phase} ${input}`);
    }
  }
});

Deno.test("phase: no process while restarting: nothing is ready, exits, reloads or is adopted", () => {
  for (const input of ["ready", "reloaded", "reload", "exit", "adopt", "watchdog"] as const) {
    assert.equal(nextPhase("restarting", input), undefined, input);
  }
});

Deno.test("phase: self-loops change nothing", () => {
  for (const phase of ["starting", "running", "reloading"] as const) {
    for (const input of ["exit", "adopt", "watchdog"] as const) {
      assert.equal(nextPhase(phase, input), phase, `${phase} ${input}`);
    }
  }
});

Deno.test("phase: each input names one event of the vocabulary", () => {
  assert.deepEqual(INPUT_EVENT, {
    spawn: "started",
    ready: "ready",
    reloaded: "ready",
    reload: "reloading",
    stop: "stopping",
    exit: "exited",
    restart: "restarting",
    "give-up": "failed",
    end: "stopped",
    stopped: "stopped",
    adopt: "adopted",
    watchdog: "watchdog",
    schedule: "scheduled",
  });
});

Deno.test("phase: the table covers every phase of the record", () => {
  assert.deepEqual(PHASES.sort(), [
    "exited",
    "failed",
    "reloading",
    "restarting",
    "running",
    "scheduled",
    "starting",
    "stopped",
    "stopping",
  ]);
});

Deno.test("phase: a --cron task waits scheduled between runs, and its tick spawns it", () => {
  assert.equal(nextPhase("starting", "schedule"), "scheduled"); // before its first tick
  assert.equal(nextPhase("running", "schedule"), "scheduled"); // its run ended
  assert.equal(nextPhase("scheduled", "spawn"), "starting");
  assert.equal(nextPhase("scheduled", "stopped"), "stopped");
  for (const input of ["ready", "exit", "restart", "schedule"] as const) {
    assert.equal(nextPhase("scheduled", input), undefined, input);
  }
});
