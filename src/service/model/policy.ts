/**
 * What a policy (a schedule, a file watch, a memory limit) may do to a
 * service, and what the supervisor drives: a policy acts on its service
 * only through a {@linkcode PolicyTarget} (restart it now because of a
 * reason, or start it when it is not running), never on its process tree
 * or its supervisor's state. The supervisor of the service opens the
 * policies its options ask for (`service_policies.ts`) once it holds the
 * service, and closes them when it lets it go.
 *
 * @module
 */

import type { ServiceEventSink } from "./service_event.ts";
import type { TreeRef } from "../../tree/process_tree.ts";

/** Which policy acted: `cron` (`--cron`, `--cron-restart`), `watch`, `memory`. */
export type PolicyName = "cron" | "watch" | "memory";

/**
 * The last time a policy restarted or started its service, as the record
 * keeps it (`status` shows it).
 *
 * @example
 * ```ts
 * import type { PolicyAction } from "./policy.ts";
 * const action: PolicyAction = {
 *   at: new Date().toISOString(),
 *   policy: "memory",
 *   action: "restart",
 *   reason: "memory 130M over --max-memory 100M",
 * };
 * console.log(action.reason);
 * ```
 */
export interface PolicyAction {
  /** When (ISO). */
  at: string;
  /** Which policy. */
  policy: PolicyName;
  /** What it did. */
  action: "restart" | "start";
  /** Why, in one line. */
  reason: string;
}

/**
 * The narrow view of a service a policy acts through. The supervisor of the
 * service implements it; a policy never sees more.
 *
 * @example
 * ```ts
 * import type { PolicyTarget } from "./policy.ts";
 * function restartWhenTold(target: PolicyTarget): void {
 *   if (target.running()) target.restart({ policy: "watch", reason: "app.ts changed" });
 * }
 * ```
 */
export interface PolicyTarget {
  /** The service's name. */
  readonly name: string;
  /** Whether a tree of the service runs now (started and ready: not starting, stopping, between runs). */
  running(): boolean;
  /** The running tree, for a policy that measures it (undefined when none runs). */
  tree(): TreeRef | undefined;
  /**
   * Restart the running service now, through its stop schedule; nothing
   * when it does not run or is being stopped or restarted already.
   */
  restart(why: { policy: PolicyName; reason: string }): void;
  /** Start the service when it is not running (a scheduled task between runs); else nothing. */
  start(why: { policy: PolicyName; reason: string }): void;
  /** A line in the service's log. */
  log(text: string): void;
  /** Record when the next scheduled run or restart is due (`status` and `list` show it). */
  scheduled(next: { at: string; action: "start" | "restart" } | undefined): void;
  /** Where lifecycle events go, when the host keeps them. */
  readonly events?: ServiceEventSink;
}

/**
 * One policy of one service, driven by its supervisor: started once the
 * service is held, closed when it is let go.
 *
 * @example
 * ```ts
 * import type { ServicePolicy } from "./policy.ts";
 * const idle: ServicePolicy = { name: "watch", start() {}, close() {} };
 * idle.start();
 * ```
 */
export interface ServicePolicy {
  /** Which policy it is. */
  readonly name: PolicyName;
  /** Begin (timers, watches); may be called once. */
  start(): void | Promise<void>;
  /** End every timer and watch. */
  close(): void | Promise<void>;
}
