/**
 * Process trees: start a command and everything it forks as one unit, find
 * its members however they forked (cgroup v2 where it can be written, the
 * process group, session and an environment marker elsewhere), signal them
 * and stop them on a start-stop-daemon style schedule.
 *
 * Reading members needs Deno's `-A` (`/proc`).
 *
 * @example Start a tree, then stop it and everything it forked
 * ```ts
 * import { spawnTree } from "@pidkit/pidkit/tree";
 *
 * const tree = await spawnTree(["sh", "-c", "sleep 60 & sleep 60"]);
 * console.log(tree.tracking, (await tree.members()).length);
 * const report = await tree.stop({ retry: "TERM/5/KILL/2" });
 * console.log(report.survivors.length); // 0
 * ```
 *
 * @module
 */

export { attachTree, ProcessTree } from "./src/tree/process_tree.ts";
export { spawnTree } from "./src/tree/spawn_tree.ts";
export type { SpawnTreeOptions } from "./src/tree/spawn_tree.ts";
export type {
  StopOptions,
  StopProgress,
  StopReport,
  Tracking,
  TreeExit,
  TreeMember,
  TreeRef,
} from "./src/tree/process_tree.ts";
export { DEFAULT_RETRY, parseRetry } from "./src/tree/stop_schedule.ts";
export type { RetryStep } from "./src/tree/stop_schedule.ts";
export { findCgroup2 } from "./src/tree/cgroup.ts";
export type { Cgroup2Info } from "./src/tree/cgroup.ts";
export { PidkitError, TreeError, UsageError } from "./src/os/errors.ts";
export type { TreeErrorReason } from "./src/os/errors.ts";
export type { LimitValue, ProcessResources, ResourceLimits } from "./src/os/resource_limits.ts";
