/**
 * The limits of `--log-max-size SIZE` and `--log-keep N` as `start` checks
 * them: apart from log_rotation.ts (the rotation itself, which only the
 * supervisor runs), so that checking options does not load it.
 *
 * @module
 */

import { UsageError } from "../../os/errors.ts";

/** `--log-keep`'s default when `--log-max-size` is given. */
export const DEFAULT_LOG_KEEP = 5;
/** The smallest `--log-max-size` (smaller would rotate on nearly every line). */
export const MIN_LOG_BYTES = 1024;

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * Parse a size such as `512K`, `10M`, `1G` or `4096` (bytes; suffixes are
 * powers of 1024, case-insensitive, an optional trailing `B` or `iB`).
 * Throws {@linkcode UsageError} naming the option.
 *
 * @example
 * ```ts
 * import { parseSize } from "./log_limits.ts";
 * parseSize("10M"); // 10485760
 * ```
 */
export function parseSize(text: string, option = "options.logMaxSize"): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()]) : NaN;
  if (!m || !Number.isSafeInteger(bytes)) {
    throw new UsageError(`bad ${option} '${text}' (use a size such as 512K, 10M or 1G)`);
  }
  if (bytes < MIN_LOG_BYTES) {
    throw new UsageError(`bad ${option} '${text}': at least ${MIN_LOG_BYTES / 1024}K`);
  }
  return bytes;
}
