/**
 * Gather a run directory's metrics: its services (one look at the records
 * and `/proc`, as `list` does) and its supervisor's own figures, asked of
 * it over its socket (`pidkit metrics`) or given by the supervisor itself
 * (its HTTP server).
 *
 * @module
 */

import { listServiceDetails } from "../inspect/list_services.ts";
import { askSupervisor } from "../control/supervisor_client.ts";
import type { MetricsInput, SupervisorFigures } from "./metrics_text.ts";

/**
 * Options of {@linkcode collectMetrics}.
 *
 * @example
 * ```ts
 * import type { CollectMetricsOptions } from "./collect_metrics.ts";
 * const options: CollectMetricsOptions = { dir: "/tmp/pidkit-example" };
 * ```
 */
export interface CollectMetricsOptions {
  /** The run directory (default as `resolveRunDir` finds it; never created). */
  dir?: string;
  /**
   * The supervisor's figures. Default: asked of the supervisor listening
   * on the directory's socket (none listening, or refused: `null`).
   */
  supervisor?: () => SupervisorFigures | null | Promise<SupervisorFigures | null>;
}

/**
 * The metrics of a run directory, ready for `metricsText`, and the run
 * directory they are of.
 *
 * @example
 * ```ts
 * import { collectMetrics } from "./collect_metrics.ts";
 * import { metricsText } from "./metrics_text.ts";
 * const { input } = await collectMetrics({ dir: "/tmp/pidkit-example" });
 * console.log(metricsText(input));
 * ```
 */
export async function collectMetrics(
  options: CollectMetricsOptions = {},
): Promise<{ dir: string; input: MetricsInput }> {
  const { list, details } = await listServiceDetails({ dir: options.dir });
  const supervisor = options.supervisor ? await options.supervisor() : await askFigures(list.dir);
  return { dir: list.dir, input: { services: list.services, details, supervisor } };
}

/** What a supervisor's `hello` answer carries. */
interface Hello {
  pid?: number;
  services?: string[];
  memory?: { rss?: number };
  adoptions?: number;
  startedAt?: number;
}

/** The listening supervisor's figures, or `null` (none, refused, no answer in 3 s). */
async function askFigures(dir: string): Promise<SupervisorFigures | null> {
  let hello: Hello | undefined;
  try {
    hello = await askSupervisor<Hello>(dir, { op: "hello" }, {
      launch: false,
      deadline: Date.now() + 3000,
    });
  } catch {
    return null;
  }
  if (hello === undefined || typeof hello.pid !== "number") return null;
  return {
    pid: hello.pid,
    memoryBytes: hello.memory?.rss ?? null,
    adoptions: hello.adoptions ?? null,
    services: hello.services?.length ?? null,
    startTimeSeconds: typeof hello.startedAt === "number" ? hello.startedAt / 1000 : null,
  };
}
