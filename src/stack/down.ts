/**
 * `down`: stop a declaration's services (those an `up` of this file
 * started), dependents before what they depend on, highest instance first,
 * through the service API. Services started by hand or by another file are
 * never touched. Holds `DIR/stack.lock` as `up` does.
 *
 * @module
 */

import { EventJournal } from "../service/events/event_journal.ts";
import { UsageError } from "../os/errors.ts";
import { stopService } from "../service/actions/stop_service.ts";
import { removeAppliedSpec } from "./applied_spec.ts";
import { dependencyClosure, type OrderNode, stopOrder } from "./order.ts";
import type { ResolvedStack } from "./resolve.ts";
import { runningServices } from "./running.ts";
import { withStackLock } from "./stack_lock.ts";
import { removeUpStamp } from "./up_stamp.ts";
import { stackRunDir } from "./up.ts";

/**
 * One service of {@linkcode DownResult}: `stopped`, `not-running`,
 * `failed` (`error`), or `conflict` (the name runs, but not from this file:
 * left alone).
 *
 * @example
 * ```ts
 * import type { DownServiceResult } from "./down.ts";
 * const r: DownServiceResult = { name: "web", action: "stopped", pid: 4242 };
 * console.log(r.action);
 * ```
 */
export interface DownServiceResult {
  /** The name it ran under. */
  name: string;
  /** What was done. */
  action: "stopped" | "not-running" | "failed" | "conflict";
  /** Its main PID, when it was stopped. */
  pid?: number;
  /** Why it failed, or whose it is. */
  error?: string;
}

/**
 * What {@linkcode downStack} returns (`pidkit down --json`).
 *
 * @example
 * ```ts
 * import type { DownResult } from "./down.ts";
 * const r: DownResult = { file: "/srv/pidkit.jsonc", dir: "/run/pidkit", ok: true, services: [] };
 * console.log(r.ok);
 * ```
 */
export interface DownResult {
  /** The declaration file. */
  file: string;
  /** The run directory. */
  dir: string;
  /** Nothing failed to stop. */
  ok: boolean;
  /** In the order they were stopped. */
  services: DownServiceResult[];
}

/**
 * Options of {@linkcode downStack}.
 *
 * @example
 * ```ts
 * import type { DownOptions } from "./down.ts";
 * const options: DownOptions = { names: ["worker"] };
 * console.log(options);
 * ```
 */
export interface DownOptions {
  /** The run directory (default: the file's `dir`, else as `start` finds it). */
  dir?: string;
  /** Only these services (declared or instance names). */
  names?: readonly string[];
  /** Told each service's result as soon as it is known. */
  onService?: (result: DownServiceResult) => void;
  /** How long to wait for another `up`/`down` of the run directory, ms (default for ever). */
  lockTimeout?: number;
}

/**
 * Stop `stack`'s services (see the module doc). Throws
 * {@linkcode UsageError} for names the file does not declare.
 *
 * @example
 * ```ts
 * import { downStack } from "./down.ts";
 * import { loadStack } from "./load.ts";
 * const { stack } = await loadStack({ cwd: "/srv/app" });
 * const result = await downStack(stack, { dir: "/tmp/pidkit-example" });
 * for (const s of result.services) console.log(s.action, s.name);
 * ```
 */
export async function downStack(
  stack: ResolvedStack,
  options: DownOptions = {},
): Promise<DownResult> {
  if (stack.file === undefined) throw new UsageError("down needs a declaration read from a file");
  const file = stack.file;
  let selected: Set<string> | undefined;
  if (options.names !== undefined) {
    const hits = stack.services.filter((s) =>
      options.names!.includes(s.name) || options.names!.includes(s.declared)
    );
    const unknown = options.names.filter((n) => !dependencyClosure(hits, [n]).names.length);
    if (unknown.length > 0) {
      throw new UsageError(
        `${file} declares no service ${unknown.map((n) => `'${n}'`).join(", ")}`,
      );
    }
    selected = new Set(hits.map((s) => s.name));
  }
  const dir = stackRunDir(stack, options.dir);
  return await withStackLock(dir, async () => {
    // What runs will no longer be what the file says: no shortcut for the next up.
    await removeUpStamp(dir, file);
    const current = await runningServices(dir);
    const declared = new Map(stack.services.map((s) => [s.name, s]));
    // This file's running services, declared or not (an earlier version of the file's).
    const nodes: OrderNode[] = [];
    for (const c of current) {
      if (!c.running || c.origin?.file !== file) continue;
      if (selected && !selected.has(c.name)) continue;
      nodes.push(declared.get(c.name) ?? undeclaredNode(c.name));
    }
    const results: DownServiceResult[] = [];
    // What `down` stopped goes into the run directory's journal of events.
    const journal = EventJournal.open(dir);
    const report = (r: DownServiceResult) => {
      results.push(r);
      if (r.action === "stopped") {
        journal.append({
          service: r.name,
          kind: "down",
          reason: "stopped: pidkit down",
          ...(r.pid !== undefined ? { pid: r.pid } : {}),
        });
      }
      options.onService?.(r);
    };
    for (const name of stopOrder(nodes)) {
      try {
        const r = await stopService(name, { dir });
        await removeAppliedSpec(dir, name);
        report({
          name,
          action: r.status === "stopped" ? "stopped" : "not-running",
          ...(r.pid !== undefined ? { pid: r.pid } : {}),
        });
      } catch (err) {
        report({ name, action: "failed", error: (err as Error).message.split("\n")[0] });
      }
    }
    // Declared names that run from elsewhere: said, never stopped.
    for (const c of current) {
      const s = declared.get(c.name);
      if (!s || !c.running || c.origin?.file === file || (selected && !selected.has(c.name))) {
        continue;
      }
      report({
        name: c.name,
        action: "conflict",
        error: c.origin ? `started by ${c.origin.file}` : "started by hand",
      });
    }
    await journal.close();
    return { file, dir, ok: !results.some((r) => r.action === "failed"), services: results };
  }, options.lockTimeout !== undefined ? { timeout: options.lockTimeout } : {});
}

/** A service this file no longer declares: ordered as a leaf, by its instance number. */
function undeclaredNode(name: string): OrderNode {
  const m = /^(.*)\.([1-9]\d*)$/.exec(name);
  return m
    ? { name, declared: m[1], instance: Number(m[2]), dependsOn: [] }
    : { name, declared: name, dependsOn: [] };
}
