/**
 * "Did you mean ...?" for a misspelt field or service name: the closest
 * candidate by edit distance, after folding case and `_`/`-` (so
 * `max_restarts` finds `maxRestarts`).
 *
 * @module
 */

/**
 * The edit distance between two strings: insertions, deletions,
 * substitutions and swaps of neighbours, each 1.
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * editDistance("dependOn", "dependsOn"); // 1
 * editDistance("tpc", "tcp"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  // optimal string alignment: a swap of two neighbours ("tpc") counts 1
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
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
