/**
 * The argument checks of the lock API: every bad argument is a
 * {@linkcode UsageError} naming the option and the value given.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import { checkRecordData } from "./record.ts";
import { isValidPid, MAX_PID } from "./plain_pid.ts";

/** The options of `PidFile.acquire` checked, with the defaults filled in. */
export interface CheckedAcquireOptions {
  timeout: number;
  format: "plain" | "json";
  pid: number;
  data?: Record<string, unknown>;
  mode: number;
  signal?: AbortSignal;
  removeOnExit: boolean;
  durable: boolean;
}

/** `timeout` (ms): a non-negative number, `Infinity` allowed. */
export function checkTimeout(timeout: number): number {
  if (!(timeout >= 0)) {
    throw new UsageError(`timeout must be a non-negative number, got ${timeout}`);
  }
  return timeout;
}

/** `pid`: an integer from 1 to {@linkcode MAX_PID}. */
export function checkPid(pid: number): number {
  if (!isValidPid(pid)) {
    throw new UsageError(`pid must be an integer from 1 to ${MAX_PID}, got ${pid}`);
  }
  return pid;
}

/** `data` only goes with the `json` format, and must make a valid record (checkRecordData). */
export function checkDataFormat(data: unknown, format: "plain" | "json", path?: string): void {
  if (data !== undefined && format !== "json") {
    throw new UsageError(
      path === undefined
        ? `data needs format "json", got format "${format}"`
        : `data needs format "json"; ${path} is "${format}"`,
    );
  }
  checkRecordData(data);
}

/** Check the options of `PidFile.acquire` and fill in the defaults. */
export function checkAcquireOptions(
  options: Partial<CheckedAcquireOptions>,
): CheckedAcquireOptions {
  const { timeout = 0, format = "plain", pid = Deno.pid, mode = 0o644 } = options;
  checkTimeout(timeout);
  if (format !== "plain" && format !== "json") {
    throw new UsageError(`format must be "plain" or "json", got ${format}`);
  }
  checkPid(pid);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new UsageError(`mode must be an integer from 0 to 0o7777, got ${mode}`);
  }
  checkDataFormat(options.data, format);
  return {
    timeout,
    format,
    pid,
    data: options.data,
    mode,
    signal: options.signal,
    removeOnExit: options.removeOnExit ?? true,
    durable: options.durable ?? true,
  };
}
