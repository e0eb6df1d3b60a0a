/**
 * What runs in a run directory, as the plan sees it: every service's name,
 * whether it runs, and the declaration it came from (its record's
 * `origin`), with the spec `up` last applied to it when kept.
 *
 * @module
 */

import {
  type InspectMemo,
  inspectService,
  isRunningPhase,
} from "../service/inspect/inspect_service.ts";
import type { ServicePhase } from "../service/inspect/inspect_service.ts";
import { serviceNames } from "../service/model/run_dir.ts";
import { readAppliedSpec } from "./applied_spec.ts";
import type { CurrentService } from "./plan.ts";

/**
 * A service of the run directory with its phase.
 *
 * @example
 * ```ts
 * import type { RunningService } from "./running.ts";
 * const s: RunningService = { name: "web", running: true, phase: "running", pid: 4242 };
 * console.log(s.phase);
 * ```
 */
export interface RunningService extends CurrentService {
  /** What `status` would say. */
  phase: ServicePhase;
  /** Its main PID, while it runs. */
  pid?: number;
}

/**
 * Every service of run directory `dir` (what `list` lists), with its
 * origin and, for a running one, the spec `up` applied to it (only where
 * `wantSpec` says so, when given: `up` needs it to name what changed, not
 * for a service whose hash is the declared one). Reads only.
 *
 * @example
 * ```ts
 * import { runningServices } from "./running.ts";
 * for (const s of await runningServices("/tmp/pidkit-example")) console.log(s.name, s.origin?.file);
 * ```
 */
export async function runningServices(
  dir: string,
  options: { wantSpec?: (name: string, hash: string) => boolean } = {},
): Promise<RunningService[]> {
  const memo: InspectMemo = { alive: new Map(), sameNamespace: new Map() };
  const names = await serviceNames(dir);
  return await Promise.all(names.map(async (name) => {
    const info = await inspectService(dir, name, memo);
    const running = isRunningPhase(info.phase);
    const origin = info.record?.origin;
    const valid = origin !== undefined && typeof origin.file === "string" &&
      typeof origin.hash === "string";
    const spec = valid && running && (options.wantSpec?.(name, origin.hash) ?? true)
      ? await readAppliedSpec(dir, name, origin.hash)
      : undefined;
    return {
      name,
      running,
      phase: info.phase,
      ...(running && info.pid !== undefined ? { pid: info.pid } : {}),
      ...(valid
        ? { origin: { file: origin.file, hash: origin.hash, ...(spec ? { spec } : {}) } }
        : {}),
    };
  }));
}
