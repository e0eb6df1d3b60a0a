/**
 * The control protocol's framing (src/service/control/wire.ts), without a
 * process: envelopes, acknowledgements, answers and refusals carry the
 * version; a bare request is version 0; a newer one is refused by code.
 */

import assert from "node:assert/strict";
import {
  ackLine,
  answerLine,
  errorLine,
  parseAck,
  parseRequestLine,
  PROTOCOL_VERSION,
  requestLine,
} from "../../../src/service/control/wire.ts";

Deno.test("wire: a request travels in a versioned envelope and comes out as it went in", () => {
  const request = { op: "stop", name: "web", requestedBy: 42, retry: "TERM/1/KILL/1" };
  const line = requestLine(request);
  assert.deepEqual(JSON.parse(line), { v: PROTOCOL_VERSION, request });
  assert.deepEqual(parseRequestLine(line), { v: PROTOCOL_VERSION, request });
  // What a 0.2 supervisor reads of it: no op at the top level (so it does nothing).
  assert.equal(JSON.parse(line).op, undefined);
});

Deno.test("wire: a bare request is version 0; bad and newer ones are refused by code", () => {
  assert.deepEqual(parseRequestLine('{"op":"hello"}'), { v: 0, request: { op: "hello" } });
  const code = (line: string) => {
    const got = parseRequestLine(line);
    return "code" in got ? got.code : undefined;
  };
  assert.equal(code("not json"), "bad-request");
  assert.equal(code("[1]"), "bad-request");
  assert.equal(code('{"v":"1","request":{}}'), "bad-request");
  assert.equal(code('{"v":0,"request":{}}'), "bad-request");
  assert.equal(code('{"v":1}'), "bad-request");
  assert.equal(code(`{"v":${PROTOCOL_VERSION + 1},"request":{"op":"hello"}}`), "version");
});

Deno.test("wire: acknowledgements and answers carry the version; a version-0 client gets the bare ack", () => {
  assert.deepEqual(parseAck(ackLine({ retry: "KILL/1" }).trim()), {
    v: PROTOCOL_VERSION,
    retry: "KILL/1",
  });
  assert.equal(ackLine({ retry: "KILL/1" }, 0), '{"accepted":true}\n');
  assert.deepEqual(parseAck('{"accepted":true}'), {});
  assert.equal(parseAck('{"held":true,"v":1}'), undefined);
  assert.deepEqual(JSON.parse(answerLine({ held: false })), { held: false, v: PROTOCOL_VERSION });
  assert.deepEqual(JSON.parse(errorLine("unknown-op", "unknown request")), {
    ok: false,
    code: "unknown-op",
    error: "unknown request",
    v: PROTOCOL_VERSION,
  });
});
