/**
 * The plain PID record (`1234\n`): the one rule for reading it, and the
 * PID range pidkit accepts. Apart from record.ts so that `status`, `list`
 * and `stop`, which read plain PID files on their fast path, need not load
 * the whole record format.
 *
 * @module
 */

/** Linux's `PID_MAX_LIMIT` on 64-bit (2^22); no system hands out larger PIDs. */
export const MAX_PID = 4_194_304;

/**
 * Whether `n` is a PID pidkit accepts: an integer in 1..MAX_PID.
 *
 * @example
 * ```ts
 * import { isValidPid } from "./plain_pid.ts";
 * isValidPid(1234); // true
 * isValidPid(0); // false
 * ```
 */
export function isValidPid(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_PID;
}

/**
 * A plain record's body: decimal digits only (the range is checked apart).
 *
 * @example
 * ```ts
 * import { PLAIN_PID } from "./plain_pid.ts";
 * PLAIN_PID.test("1234"); // true
 * ```
 */
export const PLAIN_PID = /^[0-9]+$/;

/**
 * The PID of a plain record (`1234\n`): decimal digits, trailing whitespace
 * allowed, a valid PID ({@linkcode isValidPid}); `undefined` for anything
 * else. The one rule for reading a plain PID, used by `parsePidRecord`
 * (record.ts) and by readers that look at a file's first line or take a
 * fast path.
 *
 * @example
 * ```ts
 * import { parsePlainPid } from "./plain_pid.ts";
 * parsePlainPid("1234\n"); // 1234
 * parsePlainPid("0"); // undefined
 * ```
 */
export function parsePlainPid(text: string): number | undefined {
  const body = text.replace(/[ \t\r\n]+$/, "");
  if (!PLAIN_PID.test(body)) return undefined;
  const pid = Number(body);
  return isValidPid(pid) ? pid : undefined;
}
