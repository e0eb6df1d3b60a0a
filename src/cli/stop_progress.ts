/**
 * Progress of a stop on a terminal (stderr): which signal went out and how
 * long until the schedule escalates. Silent when stderr is not a TTY.
 *
 * @module
 */

import type { RetryStep } from "../tree/stop_schedule.ts";

/** A one-line progress display, rewritten in place. */
export class Progress {
  #name: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #signal = "";
  #deadline = 0;
  #next = "";
  #steps: RetryStep[];
  #on: boolean;

  /** Start showing the progress of stopping `name` on `steps` (assumed to start now). */
  constructor(name: string, steps: RetryStep[]) {
    this.#name = name;
    this.#steps = steps;
    this.#on = Deno.stderr.isTerminal();
    if (!this.#on) return;
    this.#assume(0, Date.now());
    // The first frame after 100 ms: a quick stop shows nothing at all.
    this.#timer = setInterval(() => this.#tick(), 100);
  }

  /** Follow the schedule as far as we can tell from the clock alone. */
  #assume(index: number, at: number): void {
    const sig = this.#steps.slice(index).find((s) => s.signal);
    const wait = this.#steps.slice(index).find((s) => s.timeoutMs !== undefined);
    const i = wait ? this.#steps.indexOf(wait) : -1;
    this.#signal = sig?.signal?.replace(/^SIG/, "") ?? this.#signal;
    this.#deadline = wait ? at + (wait.timeoutMs ?? 0) : 0;
    const after = i >= 0 ? this.#steps.slice(i + 1).find((s) => s.signal) : undefined;
    this.#next = after?.signal?.replace(/^SIG/, "") ?? "";
    this.#index = i + 1;
  }
  #index = 0;

  /** The stop reported sending `signal` and waiting up to `timeoutMs`. */
  step(signal: string, timeoutMs?: number): void {
    if (!this.#on) return;
    this.#signal = signal.replace(/^SIG/, "");
    if (timeoutMs !== undefined) this.#deadline = Date.now() + timeoutMs;
    this.#tick();
  }

  #tick(): void {
    const now = Date.now();
    if (this.#deadline && now > this.#deadline && this.#next) this.#assume(this.#index, now);
    const left = this.#deadline ? Math.max(0, this.#deadline - now) / 1000 : 0;
    const then = this.#next && this.#deadline ? `, ${this.#next} in ${left.toFixed(1)} s` : "";
    const line = `stopping ${this.#name}: ${this.#signal} sent${then}`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[K${line}`));
  }

  /** Clear the line and stop updating. */
  done(): void {
    if (!this.#on) return;
    clearInterval(this.#timer);
    Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  }
}
