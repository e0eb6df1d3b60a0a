/**
 * Byte counts for people: `12.3 KiB`, `45 MiB`.
 *
 * @module
 */

/**
 * Bytes as `512 B`, `12.3 KiB`, `45.6 MiB`, `1.2 GiB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./byte_size.ts";
 * console.log(formatBytes(3 * 1024 * 1024)); // "3.0 MiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let n = bytes / 1024;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}
