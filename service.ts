/**
 * Named services in a run directory, from code: what the CLI's `status`
 * and `list` print, as data.
 *
 * @example Is a service running?
 * ```ts
 * import { inspectService } from "@pidkit/pidkit/service";
 *
 * const info = await inspectService("web", { dir: "/tmp/pidkit-example" });
 * console.log(info.phase); // "running", "stopped", "stale", ...
 * ```
 *
 * @module
 */

export {
  inspectService,
  listServices,
  resolveRunDir,
  servicePaths,
  validateName,
} from "./src/service/services.ts";
export type {
  RunDirOptions,
  ServiceInfo,
  ServicePaths,
  ServicePhase,
} from "./src/service/services.ts";
export type {
  ServiceOptions,
  ServiceRecord,
  SupervisorPhase,
} from "./src/service/service_record.ts";
export { PidkitError, UsageError } from "./src/os/errors.ts";
