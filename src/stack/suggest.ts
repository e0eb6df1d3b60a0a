/**
 * "Did you mean …?" for a misspelt field or service name: the closest
 * candidate by edit distance, after folding case and `_`/`-` (so
 * `max_restarts` finds `maxRestarts`).
 *
 * @module
 */

/**
 * The Levenshtein distance between two strings (insertions, deletions and
 * substitutions, each 1).
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * editDistance("dependOn", "dependsOn"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j] + 1,
        next[j - 1] + 1,
        row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length];
}

const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, "");

/**
 * The candidate `word` was most likely meant to be, or `undefined` when
 * none is close (distance at most 2, and less than half the word).
 *
 * @example
 * ```ts
 * import { closest } from "./suggest.ts";
 * closest("restart_delay", ["restart", "restartDelay"]); // "restartDelay"
 * closest("xyz", ["cmd", "cwd"]); // undefined
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = fold(c) === fold(word) ? 0 : editDistance(fold(word), fold(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  const limit = Math.min(2, Math.floor(word.length / 2));
  return bestDistance <= limit ? best : undefined;
}

/**
 * `" (did you mean 'x'?)"`, or `""` when nothing is close.
 *
 * @example
 * ```ts
 * import { didYouMean } from "./suggest.ts";
 * didYouMean("dependOn", ["dependsOn", "env"]); // " (did you mean 'dependsOn'?)"
 * ```
 */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c === undefined ? "" : ` (did you mean '${c}'?)`;
}
