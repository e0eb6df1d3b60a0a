/**
 * The 0.1 control file, `DIR/NAME.ctl`: how a supervisor of pidkit 0.1
 * (one per service; its record has `version: 1`) was told a stop's
 * schedule, and where it wrote what the stop did. Nothing from 0.2 on reads
 * it: `pidkit stop` writes it only for a service whose record says a 0.1
 * supervisor holds it. This support ends in pidkit 0.4 (see CHANGELOG.md).
 *
 * @module
 */

import { writeFileAtomic } from "../../os/atomic_write.ts";
import type { StopRequest, StopResult } from "./supervisor_protocol.ts";

/**
 * `DIR/NAME.ctl`, beside the state file.
 *
 * @example
 * ```ts
 * import { controlPath } from "./legacy_control_file.ts";
 * console.log(controlPath("/run/pidkit", "web")); // /run/pidkit/web.ctl
 * ```
 */
export function controlPath(dir: string, name: string): string {
  return `${dir}/${name}.ctl`;
}

/**
 * Write a stop request atomically (no fsync: the file only matters while
 * both processes run, and an fsync costs a stop several milliseconds).
 *
 * @example
 * ```ts
 * import { writeControl } from "./legacy_control_file.ts";
 * await writeControl("/tmp/pidkit-example/web.ctl", {
 *   retry: "TERM/10/KILL/5",
 *   requestedBy: Deno.pid,
 *   at: new Date().toISOString(),
 * });
 * ```
 */
export async function writeControl(path: string, value: StopRequest): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value) + "\n", { mode: 0o644, durable: false });
}

/**
 * What the 0.1 supervisor reported there (a {@linkcode StopResult}), else
 * `undefined` (absent, unreadable, or still the request); the file is
 * removed either way.
 *
 * @example
 * ```ts
 * import { takeControlResult } from "./legacy_control_file.ts";
 * console.log((await takeControlResult("/tmp/pidkit-example/web.ctl"))?.signalsSent);
 * ```
 */
export async function takeControlResult(path: string): Promise<StopResult | undefined> {
  let value: Partial<StopResult> | undefined;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch {
    value = undefined;
  }
  try {
    await Deno.remove(path);
  } catch { /* absent, or not ours to remove */ }
  return typeof value?.retry === "string" && Array.isArray(value.signalsSent)
    ? value as StopResult
    : undefined;
}
