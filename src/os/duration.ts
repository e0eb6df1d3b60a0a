/**
 * Durations as users type them: `500ms`, `10s`, `2m`, `1h`, or bare seconds
 * (`1.5`).
 *
 * @module
 */

import { UsageError } from "./errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parse a duration into milliseconds. Throws {@linkcode UsageError} for
 * anything malformed or negative.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("500ms"); // 500
 * parseDuration("2m"); // 120000
 * parseDuration("1.5"); // 1500 (bare numbers are seconds)
 * ```
 */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `bad duration '${text}' (use e.g. 500ms, 10s, 2m, or a number of seconds)`,
    );
  }
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "s"]);
}

/**
 * A duration in milliseconds as short human text: `35 ms`, `2.5 s`, `3m12s`,
 * `2h05m`, `3d04h`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * formatDuration(35); // "35 ms"
 * formatDuration(192_000); // "3m12s"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}
