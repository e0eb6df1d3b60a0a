/** What follows an exit (src/service/machine/restart_plan.ts): pure, no process. */
import assert from "node:assert/strict";
import { planAfterExit } from "../../../src/service/machine/restart_plan.ts";
import {
  BACKOFF_RESET_MS,
  MAX_RESTART_DELAY_MS,
  restartDelay,
} from "../../../src/service/model/restart_policy.ts";

const base = {
  policy: "on-failure" as const,
  failed: true,
  inARow: 0,
  uptimeMs: 10,
  maxRestarts: 10,
  firstDelayMs: 100,
};

Deno.test("restart plan: the policy decides whether an exit is restarted", () => {
  assert.deepEqual(planAfterExit({ ...base, policy: "no" }), { action: "end" });
  assert.deepEqual(planAfterExit({ ...base, failed: false }), { action: "end" });
  assert.equal(planAfterExit({ ...base, policy: "always", failed: false }).action, "restart");
  assert.equal(planAfterExit(base).action, "restart");
});

Deno.test("restart plan: the back-off doubles from the first delay, up to the cap", () => {
  const delays = [0, 1, 2, 3, 4].map((inARow) => planAfterExit({ ...base, inARow }));
  assert.deepEqual(delays.map((p) => p.action === "restart" ? p.delayMs : -1), [
    100,
    200,
    400,
    800,
    1600,
  ]);
  assert.deepEqual(delays.map((p) => p.action === "restart" ? p.attempt : -1), [1, 2, 3, 4, 5]);
  const late = planAfterExit({ ...base, inARow: 9, maxRestarts: 100 });
  assert.deepEqual(late, {
    action: "restart",
    attempt: 10,
    of: 100,
    delayMs: MAX_RESTART_DELAY_MS,
  });
});

Deno.test("restart plan: restartDelay never goes below the first delay, even past the cap", () => {
  assert.equal(restartDelay(1, 45_000), 45_000);
  assert.equal(restartDelay(3, 45_000), 45_000);
  assert.equal(restartDelay(1, 0), 0);
});

Deno.test("restart plan: gives up after maxRestarts in a row", () => {
  assert.deepEqual(planAfterExit({ ...base, inARow: 10 }), { action: "give-up", inARow: 10 });
  assert.deepEqual(planAfterExit({ ...base, maxRestarts: 0 }), { action: "give-up", inARow: 0 });
});

Deno.test("restart plan: an instance that stayed up long enough starts the count again", () => {
  const plan = planAfterExit({ ...base, inARow: 10, uptimeMs: BACKOFF_RESET_MS });
  assert.deepEqual(plan, { action: "restart", attempt: 1, of: 10, delayMs: 100 });
  const short = planAfterExit({ ...base, inARow: 3, uptimeMs: BACKOFF_RESET_MS - 1 });
  assert.equal(short.action === "restart" && short.attempt, 4);
});
