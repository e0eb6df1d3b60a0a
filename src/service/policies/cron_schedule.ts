/**
 * The ticks of a cron expression (see `cron_expression.ts` for the
 * syntax), computed by croner, which is loaded here on first use only.
 *
 * Time zones and DST (croner's behaviour, checked by
 * tests/service/policies/cron_schedule_test.ts): local time by default, or
 * the IANA zone of `--tz`. A time that does not exist on the day the clocks
 * go forward (02:30 in most of Europe on the last Sunday of March) runs at
 * the first moment that exists after the gap (03:00 local); a time that
 * exists twice when they go back (02:30 on the last Sunday of October) runs
 * once, at its first occurrence.
 *
 * @module
 */

import type { Cron as CronClass } from "./_croner.ts";

let croner: Promise<typeof CronClass> | undefined;

/**
 * croner's `Cron` class, imported once, on the first call.
 *
 * @example
 * ```ts
 * import { loadCroner } from "./cron_schedule.ts";
 * const Cron = await loadCroner();
 * console.log(new Cron("0 * * * *").nextRun());
 * ```
 */
export function loadCroner(): Promise<typeof CronClass> {
  croner ??= import("./_croner.ts").then((m) => m.Cron);
  return croner;
}

/**
 * The ticks of one cron expression in one time zone.
 *
 * @example
 * ```ts
 * import { CronSchedule } from "./cron_schedule.ts";
 * const daily = await CronSchedule.open("30 2 * * *", { tz: "Europe/Berlin" });
 * console.log(daily.next(new Date("2026-03-28T12:00:00Z"))?.toISOString());
 * ```
 */
export class CronSchedule {
  readonly expr: string;
  readonly tz: string | undefined;
  readonly #cron: CronClass;

  private constructor(expr: string, tz: string | undefined, cron: CronClass) {
    this.expr = expr;
    this.tz = tz;
    this.#cron = cron;
  }

  /**
   * Parse `expr` (already checked by `checkCronExpression`) in time zone
   * `tz` (local time without one). Throws what croner throws for an
   * expression it refuses.
   */
  static async open(expr: string, options: { tz?: string } = {}): Promise<CronSchedule> {
    const Cron = await loadCroner();
    const cron = new Cron(expr, { paused: true, ...(options.tz ? { timezone: options.tz } : {}) });
    return new CronSchedule(expr, options.tz, cron);
  }

  /** The first tick strictly after `after` (default now); undefined when it never ticks again. */
  next(after: Date = new Date()): Date | undefined {
    return this.#cron.nextRun(after) ?? undefined;
  }

  /** The next `n` ticks after `after`. */
  nextTicks(n: number, after: Date = new Date()): Date[] {
    return this.#cron.nextRuns(n, after);
  }
}

/**
 * Check what {@linkcode checkCronExpression} cannot without croner: that
 * the expression ticks at all (`0 0 30 2 *` never does) in zone `tz`.
 * Loads croner. Returns the next tick; undefined when there is none.
 *
 * @example
 * ```ts
 * import { firstTick } from "./cron_schedule.ts";
 * console.log(await firstTick("0 0 30 2 *")); // undefined: February has no 30th
 * ```
 */
export async function firstTick(expr: string, tz?: string): Promise<Date | undefined> {
  return (await CronSchedule.open(expr, tz ? { tz } : {})).next();
}
