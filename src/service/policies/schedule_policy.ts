/**
 * `--cron` and `--cron-restart`: at each tick of a cron expression, start
 * the service when it is not running (a task that runs to completion) or
 * restart it when it runs. A tick that finds nothing to do (the task still
 * runs, the service to restart is down) is logged and skipped. Ticks missed
 * while no supervisor ran are not caught up, unless `--cron-catch-up`: then
 * the first supervisor to hold the service again acts once at once for them.
 *
 * @module
 */

import type { PolicyTarget, ServicePolicy } from "../model/policy.ts";
import { CronSchedule } from "./cron_schedule.ts";

/** Longest a timer may wait (past 2^31 - 1 ms it fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a {@linkcode SchedulePolicy} does at each tick, and what it remembers. */
export interface ScheduleOptions {
  /** The cron expression (checked). */
  expr: string;
  /** `start`: `--cron`; `restart`: `--cron-restart`. */
  action: "start" | "restart";
  /** IANA time zone (`--tz`); local time without one. */
  tz?: string;
  /**
   * `--cron-catch-up` and the tick the previous supervisor was waiting for
   * (from the record) is past: act once at once.
   */
  missed?: string;
}

/**
 * The schedule of one service.
 *
 * @example
 * ```ts
 * import { SchedulePolicy } from "./schedule_policy.ts";
 * import type { PolicyTarget } from "../model/policy.ts";
 * declare const target: PolicyTarget;
 * const policy = new SchedulePolicy(target, { expr: "0 3 * * *", action: "start" });
 * await policy.start();
 * policy.close();
 * ```
 */
export class SchedulePolicy implements ServicePolicy {
  readonly name = "cron" as const;
  readonly #target: PolicyTarget;
  readonly #opts: ScheduleOptions;
  #schedule?: CronSchedule;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  constructor(target: PolicyTarget, options: ScheduleOptions) {
    this.#target = target;
    this.#opts = options;
  }

  async start(): Promise<void> {
    const { expr, tz } = this.#opts;
    this.#schedule = await CronSchedule.open(expr, tz ? { tz } : {});
    if (this.#closed) return;
    if (this.#opts.missed !== undefined) {
      this.#act(`missed tick ${this.#opts.missed} caught up (--cron-catch-up)`);
    }
    this.#arm(new Date());
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** The next tick after `after`, recorded, and a timer for it. */
  #arm(after: Date): void {
    if (this.#closed) return;
    const tick = this.#schedule!.next(after);
    this.#target.scheduled(tick && { at: tick.toISOString(), action: this.#opts.action });
    if (tick === undefined) {
      this.#target.log(`schedule '${this.#opts.expr}' has no tick left`);
      return;
    }
    this.#wait(tick);
  }

  #wait(tick: Date): void {
    const ms = tick.getTime() - Date.now();
    this.#timer = setTimeout(() => {
      if (this.#closed) return;
      // A long wait is made of shorter ones; a timer may fire a little early.
      if (Date.now() < tick.getTime()) return this.#wait(tick);
      this.#act(`schedule '${this.#opts.expr}' (tick ${tick.toISOString()})`);
      this.#arm(tick);
    }, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
  }

  #act(reason: string): void {
    const t = this.#target;
    if (this.#opts.action === "start") {
      if (t.running()) return t.log(`${reason}: ${t.name} still runs; this tick is skipped`);
      t.start({ policy: "cron", reason });
    } else {
      if (!t.running()) return t.log(`${reason}: ${t.name} is not running; nothing to restart`);
      t.restart({ policy: "cron", reason });
    }
  }
}
