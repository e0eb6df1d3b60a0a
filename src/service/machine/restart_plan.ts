/**
 * What the machine does once its service's main process has ended: end
 * (the policy does not restart it), give up (too many restarts in a row),
 * or restart after a back-off. Pure: the policy, the count and the time
 * the instance ran in, the decision out.
 *
 * @module
 */

import {
  BACKOFF_RESET_MS,
  restartDelay,
  type RestartPolicy,
  shouldRestart,
} from "../model/restart_policy.ts";

/** What {@linkcode planAfterExit} looks at. */
export interface ExitFacts {
  /** `--restart`. */
  policy: RestartPolicy;
  /** Whether the exit counts as a failure (unsuccessful, or forced: watchdog, not ready). */
  failed: boolean;
  /** Restarts in a row so far (before this exit). */
  inARow: number;
  /** How long the instance that ended ran, in ms. */
  uptimeMs: number;
  /** `--max-restarts`. */
  maxRestarts: number;
  /** `--restart-delay`: the first back-off, in ms. */
  firstDelayMs: number;
}

/**
 * The decision: `end` (not restarted), `give-up` after `inARow` restarts,
 * or `restart` as restart number `attempt` in a row (of at most `of`)
 * after `delayMs`. An instance that ran {@linkcode BACKOFF_RESET_MS} or
 * longer starts the count (and the back-off) again.
 */
export type ExitPlan =
  | { action: "end" }
  | { action: "give-up"; inARow: number }
  | { action: "restart"; attempt: number; of: number; delayMs: number };

/**
 * What to do after an exit.
 *
 * @example
 * ```ts
 * import { planAfterExit } from "./restart_plan.ts";
 * const plan = planAfterExit({
 *   policy: "on-failure",
 *   failed: true,
 *   inARow: 2,
 *   uptimeMs: 500,
 *   maxRestarts: 10,
 *   firstDelayMs: 100,
 * });
 * console.log(plan); // { action: "restart", attempt: 3, of: 10, delayMs: 400 }
 * ```
 */
export function planAfterExit(facts: ExitFacts): ExitPlan {
  const inARow = facts.uptimeMs >= BACKOFF_RESET_MS ? 0 : facts.inARow;
  if (!shouldRestart(facts.policy, !facts.failed)) return { action: "end" };
  if (inARow >= facts.maxRestarts) return { action: "give-up", inARow };
  const attempt = inARow + 1;
  return {
    action: "restart",
    attempt,
    of: facts.maxRestarts,
    delayMs: restartDelay(attempt, facts.firstDelayMs),
  };
}
