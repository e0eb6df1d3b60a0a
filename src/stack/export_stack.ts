/**
 * The services of a resolved declaration as `pidkit export systemd` exports
 * them: each instance a unit, its options checked as `up` checks them, its
 * `dependsOn` turned into the names of every instance of what it needs.
 *
 * @module
 */

import type { ExportedService } from "../service/export/systemd_service_unit.ts";
import { checkLaunchOptions } from "../service/control/supervisor_config.ts";
import type { ResolvedStack } from "./resolve.ts";

/**
 * The services of `stack` to export (every one, `autostart: false` ones
 * too: their units have no `[Install]` section). Throws `UsageError` for
 * an option that does not check, as `up` would.
 *
 * @example
 * ```ts
 * import { exportedStack } from "./export_stack.ts";
 * import { resolveStack } from "./resolve.ts";
 * import { validateStack } from "./validate.ts";
 * const stack = await resolveStack(validateStack({
 *   services: { db: { cmd: ["sleep", "60"] }, web: { cmd: "sleep 60", dependsOn: ["db"], instances: 2 } },
 * }), { base: "/tmp" });
 * console.log(exportedStack(stack).map((s) => [s.name, s.requires])); // [["db", []], ["web.1", ["db"]], ["web.2", ["db"]]]
 * ```
 */
export function exportedStack(stack: ResolvedStack): ExportedService[] {
  const instances = new Map<string, string[]>();
  for (const s of stack.services) {
    instances.set(s.declared, [...(instances.get(s.declared) ?? []), s.name]);
  }
  return stack.services.map((s) => {
    const { options } = checkLaunchOptions(s.launch);
    return {
      name: s.name,
      command: s.command,
      cwd: s.launch.cwd,
      env: s.launch.env,
      ...(s.launch.user !== undefined ? { user: s.launch.user } : {}),
      options,
      ...(s.launch.pidfile !== undefined ? { pidfile: s.launch.pidfile } : {}),
      ...(s.launch.log !== undefined ? { log: s.launch.log } : {}),
      requires: s.dependsOn.flatMap((d) => instances.get(d) ?? [d]),
      autostart: s.autostart,
      source: stack.file ?? stack.base,
    };
  });
}
