/** A stop schedule's total (scheduleMs) and what a waiting command allows a stop (stopAllowanceMs): no process needed. */
import assert from "node:assert/strict";
import { DEFAULT_RETRY, parseRetry, scheduleMs } from "../../../src/tree/stop_schedule.ts";
import { stopAllowanceMs } from "../../../src/service/actions/start_service.ts";

Deno.test("scheduleMs: the sum of the timeouts; Infinity for forever", () => {
  assert.equal(scheduleMs(parseRetry(DEFAULT_RETRY)), 15_000);
  assert.equal(scheduleMs(parseRetry("30")), 60_000);
  assert.equal(scheduleMs(parseRetry("HUP/1/forever/TERM/5")), Infinity);
  assert.equal(stopAllowanceMs(parseRetry("TERM/2/KILL/1")), 3_000);
  assert.equal(stopAllowanceMs(parseRetry("HUP/1/forever/TERM/5")), 60_000);
});
