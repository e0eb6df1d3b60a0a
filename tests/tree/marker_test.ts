import assert from "node:assert/strict";
import {
  cgroupLeaf,
  formatMarker,
  isTreeCgroup,
  isValidName,
  isValidNonce,
  makeNonce,
  markerEntry,
  markerIn,
  nameFromProgram,
  parseMarker,
} from "../../src/tree/marker.ts";
import { validateName } from "../../src/service/model/run_dir.ts";
import { delay } from "../../src/os/delay.ts";

Deno.test("marker: one name rule for trees and services", () => {
  for (const ok of ["a", "web-1", "A.b_c", "x".repeat(64), "..."]) {
    assert.ok(isValidName(ok), ok);
    assert.equal(validateName(ok), ok);
  }
  for (const bad of ["", ".", "..", "a/b", "x".repeat(65), "a b", "a:b"]) {
    assert.ok(!isValidName(bad), bad);
    assert.throws(() => validateName(bad));
  }
  assert.equal(nameFromProgram("/usr/bin/python3.12"), "python3.12");
  assert.equal(nameFromProgram("./my app"), "my_app");
  assert.equal(nameFromProgram(".."), "_");
  assert.ok(isValidName(nameFromProgram("/x/".concat("\u00e9".repeat(80)))));
});

Deno.test("marker: format, parse, environment entry and cgroup leaf agree", () => {
  const nonce = makeNonce();
  assert.ok(isValidNonce(nonce), nonce);
  assert.notEqual(makeNonce(), nonce);
  const marker = formatMarker("web", nonce);
  assert.deepEqual(parseMarker(marker), { name: "web", nonce });
  assert.equal(markerEntry(marker), `PIDKIT_SERVICE=web:${nonce}`);
  assert.equal(markerIn(["A=1", markerEntry(marker), "B=2"]), marker);
  assert.equal(markerIn(["A=1"]), undefined);
  assert.equal(cgroupLeaf(marker), `web-${nonce}`);
  assert.ok(isTreeCgroup(`/sys/fs/cgroup/x/pidkit/web-${nonce}`, marker));
  assert.ok(!isTreeCgroup(`/sys/fs/cgroup/x/web-${nonce}`, marker));
  for (const bad of ["web", "web:", "web:1f", "web:XYZ12345", "a b:12345678", "..:12345678"]) {
    assert.equal(parseMarker(bad), undefined, bad);
  }
  assert.ok(!isValidNonce("1234567"));
  assert.ok(isValidNonce("12345678"));
  assert.ok(!isValidNonce("0".repeat(33)));
});

Deno.test("delay resolves after the time, rejects at once on abort", async () => {
  const t0 = performance.now();
  await delay(20);
  assert.ok(performance.now() - t0 >= 15);
  const ctl = new AbortController();
  const pending = delay(60_000, { signal: ctl.signal });
  ctl.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  await assert.rejects(delay(10, { signal: AbortSignal.abort(new Error("before")) }), /before/);
});
