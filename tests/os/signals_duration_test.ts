import assert from "node:assert/strict";
import { parseSignal, signalName, signalNumber } from "../../src/os/signals.ts";
import { formatDuration, parseDuration } from "../../src/os/duration.ts";
import { UsageError } from "../../src/os/errors.ts";

Deno.test("parseSignal accepts names with and without SIG, any case, and numbers", () => {
  assert.equal(parseSignal("TERM"), "SIGTERM");
  assert.equal(parseSignal("sigterm"), "SIGTERM");
  assert.equal(parseSignal("SIGKILL"), "SIGKILL");
  assert.equal(parseSignal("9"), "SIGKILL");
  assert.equal(parseSignal(1), "SIGHUP");
  assert.equal(parseSignal("usr1"), "SIGUSR1");
});

Deno.test("parseSignal rejects unknown signals with one line", () => {
  for (const bad of ["FOO", "SIGFOO", "999", "", "-9", "TERM; rm", "15x"]) {
    assert.throws(
      () => parseSignal(bad),
      (e: unknown) => e instanceof UsageError && !e.message.includes("\n"),
    );
  }
});

Deno.test("signal numbers round-trip", () => {
  assert.equal(signalNumber("SIGTERM"), 15);
  assert.equal(signalName(15), "SIGTERM");
  assert.equal(signalName(6), "SIGABRT");
  assert.equal(signalName(12345), undefined);
});

Deno.test("parseDuration", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("10s"), 10_000);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("1.5"), 1500);
  assert.equal(parseDuration("0"), 0);
  for (const bad of ["", "-1", "1x", "ms", "1 s", "1e3", "1.2.3"]) {
    assert.throws(() => parseDuration(bad), UsageError);
  }
});

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(35), "35 ms");
  assert.equal(formatDuration(2500), "2.5 s");
  assert.equal(formatDuration(192_000), "3m12s");
  assert.equal(formatDuration(2 * 3600_000 + 5 * 60_000), "2h05m");
  assert.equal(formatDuration(3 * 86_400_000 + 4 * 3600_000), "3d04h");
});
