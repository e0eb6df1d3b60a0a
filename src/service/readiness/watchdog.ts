/**
 * The service watchdog (`--watchdog D`, systemd's WatchdogSec=): once
 * armed, a `WATCHDOG=1` must arrive at least every D, or it fires.
 *
 * @module
 */

/**
 * A resettable deadline. {@linkcode Watchdog.arm} starts it (the service
 * is ready), {@linkcode Watchdog.ping} moves it, {@linkcode Watchdog.trigger}
 * fires it at once, {@linkcode Watchdog.disarm} stops it. It fires at most
 * once per arming.
 *
 * @example
 * ```ts
 * import { Watchdog } from "./watchdog.ts";
 * const dog = new Watchdog(5000, (why) => console.log("watchdog:", why));
 * dog.arm();
 * dog.ping(); // the service is alive
 * dog.disarm();
 * ```
 */
export class Watchdog {
  #periodMs: number;
  readonly #onFire: (why: string) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armed = false;

  /** `periodMs` 0 means no watchdog until the service sets one (`WATCHDOG_USEC=`). */
  constructor(periodMs: number, onFire: (why: string) => void) {
    this.#periodMs = periodMs;
    this.#onFire = onFire;
  }

  /** The current period in ms (0: none). */
  get periodMs(): number {
    return this.#periodMs;
  }

  /** Start watching (after READY=1). */
  arm(): void {
    this.#armed = true;
    this.#reset();
  }

  /** A `WATCHDOG=1`: the service is alive. */
  ping(): void {
    if (this.#armed) this.#reset();
  }

  /** `WATCHDOG_USEC=`: a new period, counted from now. */
  setPeriod(ms: number): void {
    this.#periodMs = ms;
    if (this.#armed) this.#reset();
  }

  /** `WATCHDOG=trigger`: fire now. */
  trigger(): void {
    if (!this.#armed) return;
    this.disarm();
    this.#onFire("the service sent WATCHDOG=trigger");
  }

  /** Stop watching (the tree ended, or is being stopped). */
  disarm(): void {
    this.#armed = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#periodMs <= 0) return;
    const period = this.#periodMs;
    this.#timer = setTimeout(() => {
      this.disarm();
      this.#onFire(`no WATCHDOG=1 within ${period} ms`);
    }, period);
  }
}
