/**
 * One `up`/`down` at a time per run directory: they hold `DIR/stack.lock`
 * (a PID file, held with the lock protocol, so a killed holder frees it at
 * once) while they compare and change what runs. A second one waits.
 *
 * @module
 */

import { PidFile } from "../lock/pid_file.ts";

/**
 * Run `fn` while holding `DIR/stack.lock`, waiting for another holder
 * first (up to `timeout` ms; default for ever).
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
  const lock = await PidFile.acquire(`${dir}/stack.lock`, { timeout: options.timeout ?? Infinity });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
