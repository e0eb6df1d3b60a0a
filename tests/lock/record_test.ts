import assert from "node:assert/strict";
import { formatPidRecord, parsePidRecord } from "../../src/lock/record.ts";
import { PidFileError, UsageError } from "../../mod.ts";
import { buildRecord, decodePidRecord, MAX_PID } from "../../src/lock/record.ts";

function badContent(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PidFileError, `expected PidFileError, got ${err}`);
    assert.equal(err.reason, "bad-content");
    return err.message;
  }
  assert.fail("expected bad-content");
}

Deno.test("parsePidRecord: plain PIDs with trailing whitespace", () => {
  assert.deepEqual(parsePidRecord("1234\n"), { pid: 1234, format: "plain" });
  assert.deepEqual(parsePidRecord("1234"), { pid: 1234, format: "plain" });
  assert.deepEqual(parsePidRecord("1234 \t\r\n\n"), { pid: 1234, format: "plain" });
  assert.deepEqual(parsePidRecord(`${MAX_PID}\n`), { pid: MAX_PID, format: "plain" });
});

Deno.test("parsePidRecord: rejects what is not a PID", () => {
  for (
    const text of [
      "",
      "\n",
      "0\n",
      "-5\n",
      "+5\n",
      "12.5\n",
      "1e3\n",
      " 12\n",
      "12 13\n",
      "0x10\n",
      `${MAX_PID + 1}\n`,
      "99999999999999999999\n",
      "abc\n",
      "12\nabc\n",
    ]
  ) {
    const message = badContent(() => parsePidRecord(text, "/run/x.pid"));
    assert.match(
      message,
      /^\/run\/x\.pid is not a PID file \(.+\); remove it if no process holds it$/,
    );
  }
  assert.match(badContent(() => parsePidRecord("\0\x01\x02garbage")), /binary data/);
  assert.match(badContent(() => parsePidRecord("1".repeat(70_000))), /more than 65536 bytes/);
  assert.match(
    badContent(() => decodePidRecord(new Uint8Array([0xff, 0xfe, 0x31]), "f")),
    /binary data/,
  );
  assert.match(badContent(() => decodePidRecord(new Uint8Array(70_000).fill(0x31))), /65536/);
});

Deno.test("parsePidRecord: json records", () => {
  const text = JSON.stringify({
    pid: 42,
    ppid: 1,
    startTime: 123,
    bootId: "b",
    pidNamespace: 4026531836,
    hostname: "h",
    argv: ["deno", "run"],
    createdAt: "2024-01-01T00:00:00.000Z",
    port: 8080,
  });
  const r = parsePidRecord(text + "\n  ");
  assert.equal(r.format, "json");
  assert.equal(r.pid, 42);
  assert.equal(r.startTime, 123);
  assert.equal(r.port, 8080);
  assert.deepEqual(parsePidRecord(formatPidRecord(r)), r);
  for (
    const bad of [
      "{",
      "[1]",
      "{}",
      '{"pid":0}',
      '{"pid":-1}',
      '{"pid":1.5}',
      '{"pid":"12"}',
      '{"pid":12,"startTime":"x"}',
      '{"pid":12,"argv":[1]}',
      '{"pid":12,"bootId":5}',
    ]
  ) {
    badContent(() => parsePidRecord(bad));
  }
});

Deno.test("formatPidRecord and buildRecord", () => {
  assert.equal(formatPidRecord({ pid: 7, format: "plain", startTime: 5 }), "7\n");
  const r = buildRecord({ pid: Deno.pid, format: "json", data: { role: "test" } });
  assert.equal(r.pid, Deno.pid);
  assert.equal(r.ppid, Deno.ppid);
  assert.equal(typeof r.startTime, "number");
  assert.match(r.bootId ?? "", /^[0-9a-f-]{36}$/);
  assert.ok(Array.isArray(r.argv));
  assert.equal(r.role, "test");
  const line = formatPidRecord(r);
  assert.ok(line.endsWith("}\n"));
  assert.equal(JSON.parse(line).format, undefined);
  assert.throws(() => buildRecord({ pid: 1, format: "json", data: { startTime: 1 } }), UsageError);
});
