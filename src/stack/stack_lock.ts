/**
 * One `up`/`down` at a time per run directory: they hold an exclusive
 * `flock` on `DIR/stack.lock` while they compare and change what runs; a
 * second one waits. The kernel drops the lock when its holder dies,
 * however it dies. The file is never removed (so there is no unlink race)
 * and holds nothing (no PID record to write and fsync: a PidFile here cost
 * `up` 30 to 50 ms). The run directory is trusted (made or checked by
 * `resolveRunDir`), so no one else can put a symlink there.
 *
 * @module
 */

import { delay } from "../os/delay.ts";
import { PidkitError } from "../os/errors.ts";

/**
 * Run `fn` while holding `DIR/stack.lock`, waiting for another holder
 * first (up to `timeout` ms; default for ever). Throws
 * {@linkcode PidkitError} when the wait times out.
 *
 * @example
 * ```ts
 * import { withStackLock } from "./stack_lock.ts";
 * await withStackLock("/tmp/pidkit-example", async () => console.log("alone"));
 * ```
 */
export async function withStackLock<T>(
  dir: string,
  fn: () => Promise<T>,
  options: { timeout?: number } = {},
): Promise<T> {
  const path = `${dir}/stack.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    const timeout = options.timeout ?? Infinity;
    if (timeout === Infinity) {
      await file.lock(true);
    } else {
      const deadline = Date.now() + timeout;
      for (let wait = 10; !(await file.tryLock(true)); wait = Math.min(wait * 2, 200)) {
        if (Date.now() >= deadline) {
          throw new PidkitError(`another up or down holds ${path} (waited ${timeout} ms)`);
        }
        await delay(wait);
      }
    }
    return await fn();
  } finally {
    file.close(); // drops the lock
  }
}
