/**
 * The one readiness wait (src/service/machine/ready_wait.ts): conditions
 * in, ready | timeout | exited | stopped out. Conditions that say
 * themselves when they hold are plain promises here: no process.
 */
import assert from "node:assert/strict";
import { awaitReadiness } from "../../../src/service/machine/ready_wait.ts";

const never = new Promise<void>(() => {});

function condition(what: string) {
  let hold!: () => void;
  const ready = new Promise<void>((r) => hold = r);
  return { what, ready, hold };
}

Deno.test("ready wait: ready once every condition holds", async () => {
  const a = condition("a missing");
  const b = condition("b missing");
  const result = awaitReadiness({
    check: { conditions: [a, b] },
    timeoutMs: 60_000,
    exited: never,
    interrupted: never,
    stopping: () => false,
  });
  a.hold();
  setTimeout(b.hold, 20);
  assert.deepEqual(await result, { outcome: "ready" });
});

Deno.test("ready wait: timeout says what was missing and the limit", async () => {
  const a = condition("no READY=1");
  const b = condition("no newline on fd 3");
  b.hold();
  const result = await awaitReadiness({
    check: { conditions: [a, b] },
    timeoutMs: 50,
    exited: never,
    interrupted: never,
    stopping: () => false,
  });
  assert.deepEqual(result, { outcome: "timeout", timeoutMs: 50, unmet: ["no READY=1"] });
});

Deno.test("ready wait: the time already spent counts against the timeout", async () => {
  const started = Date.now();
  const result = await awaitReadiness({
    check: { conditions: [condition("never")] },
    timeoutMs: 60_000,
    spentMs: 60_000 - 30,
    exited: never,
    interrupted: never,
    stopping: () => false,
  });
  assert.equal(result.outcome, "timeout");
  assert.ok(Date.now() - started < 10_000, "timed from the instance's start, not from now");
});

Deno.test("ready wait: an extended deadline (EXTEND_TIMEOUT_USEC=) is waited for", async () => {
  const a = condition("never");
  const until = Date.now() + 150;
  setTimeout(a.hold, 100);
  const result = await awaitReadiness({
    check: { conditions: [a] },
    timeoutMs: 10,
    extendedUntil: () => until,
    exited: never,
    interrupted: never,
    stopping: () => false,
  });
  assert.deepEqual(result, { outcome: "ready" });
});

Deno.test("ready wait: an exit ends the wait as exited", async () => {
  const result = await awaitReadiness({
    check: { conditions: [condition("never")] },
    timeoutMs: 60_000,
    exited: Promise.resolve(),
    interrupted: never,
    stopping: () => false,
  });
  assert.deepEqual(result, { outcome: "exited" });
});

Deno.test("ready wait: a stop wins over anything, even a held condition", async () => {
  let stopping = false;
  let interrupt!: () => void;
  const interrupted = new Promise<void>((r) => interrupt = r);
  const a = condition("never");
  const result = awaitReadiness({
    check: { conditions: [a] },
    timeoutMs: 60_000,
    exited: never,
    interrupted,
    stopping: () => stopping,
  });
  stopping = true;
  interrupt();
  a.hold();
  assert.deepEqual(await result, { outcome: "stopped" });
});

Deno.test("ready wait: a lone afterMs is ready after it, and never times out", async () => {
  const started = Date.now();
  const result = await awaitReadiness({
    check: { afterMs: 60 },
    timeoutMs: 1,
    exited: never,
    interrupted: never,
    stopping: () => false,
  });
  assert.deepEqual(result, { outcome: "ready" });
  assert.ok(Date.now() - started >= 55);
});
