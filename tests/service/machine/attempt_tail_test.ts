/**
 * A failed start's log tail begins at this attempt's `started` line: the
 * last one of its instance, capped at the line count; all of the last
 * lines when the line is not among them.
 */
import assert from "node:assert/strict";
import {
  attemptTail,
  isStartedLine,
  startedLine,
} from "../../../src/service/machine/attempt_tail.ts";
import { tempDir } from "../../_util/helpers.ts";

const at = (text: string) => `[pidkit] 2026-12-08T00:00:00.000Z ${text}`;

Deno.test("attemptTail: from the last started line of that PID on, at most n lines", async () => {
  using dir = tempDir();
  const log = `${dir.path}/web.log`;
  await Deno.writeTextFile(
    log,
    [
      at(startedLine("web", 10, ["sh", "-c", "x"])),
      "boom",
      at("web (pid 10) exited with code 3"),
      at(startedLine("web", 11, ["sh", "-c", "x"])),
      "boom",
      at("web (pid 11) exited with code 3"),
      "",
    ].join("\n"),
  );
  assert.deepEqual(await attemptTail(log, "web", 11, 10), [
    at("started web (pid 11): sh -c x"),
    "boom",
    at("web (pid 11) exited with code 3"),
  ]);
  assert.deepEqual(await attemptTail(log, "web", 11, 2), [
    "boom",
    at("web (pid 11) exited with code 3"),
  ]);
  // its started line is gone (rotated): the last lines as they are
  assert.equal((await attemptTail(log, "web", 99, 10)).length, 6);
  // another service's PID never cuts
  assert.equal((await attemptTail(log, "webx", 11, 10)).length, 6);
  assert.ok(isStartedLine(at("started web (pid 11): x"), "web", 11));
  assert.ok(!isStartedLine("started web (pid 11): x", "web", 11), "the service's own output");
  assert.ok(!isStartedLine(at("started web (pid 110): x"), "web", 11));
});
