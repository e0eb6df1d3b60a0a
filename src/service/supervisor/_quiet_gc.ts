/**
 * A full garbage collection once the supervisor is quiet after a burst of
 * work (adopting orphans, starts, stops). Adopting 200 orphans leaves some
 * 7 MiB of garbage (records, /proc reads, the promises of 200 takeovers)
 * in V8's old generation; whether a major collection happens to run before
 * the supervisor goes idle depended on where the burst ended, and when none
 * did the garbage stayed resident for as long as nothing else allocated:
 * 16 MiB heap and +9 MiB PSS instead of 8 (bench/dir_supervisor_bench.ts,
 * the adopted supervisor). One collection after the burst frees it every
 * time. It is V8's `last-resort` flavour (what a low-memory notification
 * does): a plain `gc()` frees the objects but keeps the pages (heapTotal
 * and RSS stay); this one gives them back (a 4e5-object test: RSS 69 MB
 * after a plain gc(), 39 MB after this).
 *
 * HTTP requests ask for one too, but only a burst of them
 * ({@linkcode QUIET_GC_REQUESTS} since the last collection), or an event
 * stream as it closes (the status page's: a look every 2 s while open):
 * 100 scrapes of 200 services left RSS +6.4 to +6.9 MiB above its level
 * before them, +1.1 to +1.5 with the collection (bench/http_metrics_bench.ts).
 * A collection costs some 40 ms of CPU there and gives back only 1-2 MiB
 * after a single scrape, which the next one takes again: after each scrape
 * of a steady scraper it would double the supervisor's CPU for nothing.
 *
 * `gc` exists only with `--expose-gc` (SUPERVISOR_V8_FLAGS); a user's own
 * `DENO_V8_FLAGS` without it, or `pidkit run`, collect as V8 decides.
 *
 * @module
 */

/** How long the supervisor has had nothing to do before it collects. */
export const QUIET_GC_MS = 2000;

/** HTTP requests since the last collection that make one worth its cost. */
export const QUIET_GC_REQUESTS = 10;

/** The options V8's `gc` extension takes. */
interface GcOptions {
  type: "major" | "minor";
  execution: "sync" | "async";
  flavor: "regular" | "last-resort";
}

let timer: ReturnType<typeof setTimeout> | undefined;
/** HTTP requests answered since the last collection. */
let requests = 0;

/**
 * One full collection `QUIET_GC_MS` after the last call (each call puts it
 * off again); nothing when V8 runs without `--expose-gc`. The timer keeps no
 * process alive.
 *
 * @example
 * ```ts
 * import { collectWhenQuiet } from "./_quiet_gc.ts";
 * collectWhenQuiet(); // after the orphans are adopted, after a start or a stop
 * ```
 */
export function collectWhenQuiet(): void {
  const gc = (globalThis as { gc?: (options: GcOptions) => void }).gc;
  if (typeof gc !== "function") return;
  if (timer !== undefined) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    requests = 0; // their garbage goes too
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
  }, QUIET_GC_MS);
  Deno.unrefTimer(timer);
}

/**
 * After an HTTP request is answered: {@linkcode collectWhenQuiet} once
 * {@linkcode QUIET_GC_REQUESTS} of them came since the last collection (a
 * burst of scrapes), not after each scrape of a steady scraper; after an
 * event stream closed (`stream`), at once. Whether it asked for a
 * collection (never without `--expose-gc`).
 *
 * @example
 * ```ts
 * import { collectAfterRequest } from "./_quiet_gc.ts";
 * collectAfterRequest({ stream: false }); // the HTTP server's onRequestDone
 * ```
 */
export function collectAfterRequest(done: { stream: boolean }): boolean {
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") return false;
  if (++requests < QUIET_GC_REQUESTS && !done.stream) return false;
  collectWhenQuiet();
  return true;
}
