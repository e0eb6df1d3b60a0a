/**
 * The one way pidkit waits for a while: a promise that resolves after a
 * number of milliseconds, optionally cut short by an abort signal.
 *
 * @module
 */

/** Options for {@linkcode delay}. */
export interface DelayOptions {
  /** Reject with the signal's reason (and clear the timer) when it aborts. */
  signal?: AbortSignal;
}

/**
 * Resolve after `ms` milliseconds (a timer that keeps the process alive, as
 * `setTimeout` does). With `signal`, reject with its reason as soon as it
 * aborts, also when it was aborted before the call.
 *
 * @example
 * ```ts
 * import { delay } from "./delay.ts";
 * await delay(10);
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(new Error("enough")), 5);
 * await delay(60_000, { signal: stop.signal }).catch((err) => console.log(err.message)); // "enough"
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
