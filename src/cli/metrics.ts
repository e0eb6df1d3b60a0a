/**
 * `pidkit metrics`: the run directory's metrics in the Prometheus text
 * exposition format on stdout (src/service/metrics/). The same text a
 * supervisor started with `--http` serves at `/metrics`.
 *
 * @module
 */

import { collectMetrics } from "../service/metrics/collect_metrics.ts";
import { metricsText } from "../service/metrics/metrics_text.ts";
import { EXIT } from "./io.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit metrics`. */
export async function run(input: CommandInput): Promise<number> {
  const { input: metrics } = await collectMetrics({
    dir: input.values.dir as string | undefined,
  });
  const bytes = new TextEncoder().encode(metricsText(metrics));
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
  return EXIT.ok;
}
