/**
 * Cron expressions: the syntax check names the field and the reason; the
 * ticks croner computes match the documented answers of another
 * implementation (the examples of Python croniter's README, kiorky/croniter,
 * "A simple example"), and the DST behaviour docs/policies.md describes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkCronExpression } from "../../../src/service/model/cron_expression.ts";
import { CronSchedule, firstTick } from "../../../src/service/policies/cron_schedule.ts";
import { UsageError } from "../../../src/os/errors.ts";
import { checkSchedules } from "../../../src/service/policies/service_policies.ts";

Deno.test("cron syntax: a bad expression is refused naming the field and why", () => {
  const table: [string, RegExp][] = [
    ["61 * * * *", /minute field '61': 61 is out of range 0-59/],
    ["* 24 * * *", /hour field '24': 24 is out of range 0-23/],
    ["* * 0 * *", /day-of-month field '0': 0 is out of range 1-31/],
    ["* * * 13 *", /month field '13': 13 is out of range 1-12/],
    ["* * * * 8", /day-of-week field '8': 8 is out of range 0-7/],
    ["*/0 * * * *", /minute field '\*\/0': step 0 is out of range 1-59/],
    ["5-1 * * * *", /minute field '5-1': range 5-1 goes backwards/],
    ["* * * JAN,FOO *", /month field 'JAN,FOO': 'FOO' is not a number, or a name JAN-DEC/],
    ["* * * * MON-FUN", /day-of-week field 'MON-FUN': 'FUN' is not a number/],
    ["1,,2 * * * *", /minute field '1,,2': an empty list item/],
    ["60 * * * * *", /second field '60': 60 is out of range 0-59/],
    ["* * *", /3 fields; use 5 .* or 6/],
    ["* * * * * * *", /7 fields/],
    ["@sometimes", /unknown shorthand/],
    ["1/2/3 * * * *", /more than one '\/'/],
  ];
  for (const [expr, why] of table) {
    assert.throws(
      () => checkCronExpression(expr, "--cron"),
      (err: Error) =>
        err instanceof UsageError && why.test(err.message) && !err.message.includes("\n"),
      expr,
    );
  }
});

Deno.test("cron syntax: good expressions pass (croner ticks them too), shorthands expand", async () => {
  assert.equal(checkCronExpression("@hourly", "--cron"), "0 * * * *");
  assert.equal(checkCronExpression("@DAILY", "--cron"), "0 0 * * *");
  for (
    const ok of [
      "*/5 * * * *",
      "0 9-17/2 * * MON-FRI",
      "0 0 1,15 * *",
      "0 0 L * *",
      "0 0 ? * sun",
      "*/2 * * * * *",
      "0 0 * jan-mar 0,7",
    ]
  ) {
    const expr = checkCronExpression(ok, "--cron");
    assert.ok(await firstTick(expr), `croner finds no tick of ${ok}`);
  }
});

/** The table of croniter's README (base 2010-01-25 04:46, naive: taken as UTC here). */
const CRONITER_README: { expr: string; next: string[]; note?: string }[] = [
  {
    expr: "*/5 * * * *",
    next: ["2010-01-25T04:50:00Z", "2010-01-25T04:55:00Z", "2010-01-25T05:00:00Z"],
  },
  {
    // Day of month OR day of week (croniter's default day_or=True, Vixie cron's rule).
    expr: "2 4 1 * wed",
    next: ["2010-01-27T04:02:00Z", "2010-02-01T04:02:00Z", "2010-02-03T04:02:00Z"],
  },
  {
    // The README's comments for this one say 01-26, 01-30, 02-02 (a Tuesday, a
    // Saturday, a Tuesday: off by one day); croniter itself returns these.
    expr: "2 4 * * mon,fri",
    next: ["2010-01-29T04:02:00Z", "2010-02-01T04:02:00Z", "2010-02-05T04:02:00Z"],
  },
];

Deno.test("cron ticks: croniter's documented next runs", async () => {
  const base = new Date("2010-01-25T04:46:00Z");
  for (const { expr, next } of CRONITER_README) {
    checkCronExpression(expr, "--cron");
    const s = await CronSchedule.open(expr, { tz: "UTC" });
    assert.deepEqual(
      s.nextTicks(3, base).map((d) => d.toISOString().replace(".000", "")),
      next,
      expr,
    );
  }
  // Seconds first; the next tick is strictly after the given time.
  const s = await CronSchedule.open("*/2 * * * * *", { tz: "UTC" });
  assert.equal(s.next(new Date("2010-01-25T04:46:00Z"))?.toISOString(), "2010-01-25T04:46:02.000Z");
});

Deno.test("cron ticks: a 02:30 schedule across both DST changes (Europe/Berlin)", async () => {
  const s = await CronSchedule.open("30 2 * * *", { tz: "Europe/Berlin" });
  // Clocks go forward at 02:00 on 2026-03-29: 02:30 does not exist; it runs at 03:00 CEST.
  assert.deepEqual(s.nextTicks(3, new Date("2026-03-27T12:00:00Z")).map((d) => d.toISOString()), [
    "2026-03-28T01:30:00.000Z", // 02:30 CET
    "2026-03-29T01:00:00.000Z", // 03:00 CEST: the first moment after the gap
    "2026-03-30T00:30:00.000Z", // 02:30 CEST
  ]);
  // Clocks go back at 03:00 on 2026-10-25: 02:30 happens twice; it runs once, the first time.
  assert.deepEqual(s.nextTicks(3, new Date("2026-10-23T12:00:00Z")).map((d) => d.toISOString()), [
    "2026-10-24T00:30:00.000Z", // 02:30 CEST
    "2026-10-25T00:30:00.000Z", // 02:30 CEST (not again at 02:30 CET, 01:30Z)
    "2026-10-26T01:30:00.000Z", // 02:30 CET
  ]);
});

Deno.test("cron ticks: an expression that never ticks is refused before anything starts", async () => {
  assert.equal(await firstTick("0 0 30 2 *"), undefined);
  await assert.rejects(
    () => checkSchedules({ cron: "0 0 30 2 *" }),
    (err: Error) => err instanceof UsageError && /options\.cron .*never ticks/.test(err.message),
  );
  await checkSchedules({ cronRestart: "0 3 * * *", tz: "Europe/Berlin" });
});
