/**
 * `up`: make what runs in the run directory match a declaration, through
 * the service API (startService, stopService): stop what an earlier `up`
 * of this file started and it no longer declares (highest instance first),
 * then start and restart in dependency order, each service once every
 * instance of what it depends on is ready, independent ones together.
 * Unchanged services are left alone; services started by hand or by
 * another file are never touched. One `up` or `down` at a time per run
 * directory (`DIR/stack.lock`): a second one waits, then finds nothing to do.
 *
 * @module
 */

import { EventJournal } from "../service/events/event_journal.ts";
import { PidkitError, UsageError } from "../os/errors.ts";
import { VERSION } from "../os/version.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";
import { removeAppliedSpec, writeAppliedSpec } from "./applied_spec.ts";
import { baseEnvironment } from "./base_env.ts";
import { dependencyClosure } from "./order.ts";
import { planStack, type PlanStep, type StackPlan } from "./plan.ts";
import type { ResolvedService, ResolvedStack } from "./resolve.ts";
import { runningServices } from "./running.ts";
import { joinPath, StackError } from "./stack_error.ts";
import { withStackLock } from "./stack_lock.ts";
import { removeUpStamp, writeUpStamp } from "./up_stamp.ts";

/**
 * What `up` did with one service:
 * `started`, `restarted` (its declaration changed: `changes`), `unchanged`,
 * `stopped` (no longer declared), `failed` (`error`), `not-started` (a
 * dependency failed), `skipped` (`autostart: false`), `conflict` (the name
 * is taken by a service started by hand or by another file: left alone).
 *
 * @example
 * ```ts
 * import type { UpAction } from "./up.ts";
 * const action: UpAction = "restarted";
 * console.log(action);
 * ```
 */
export type UpAction =
  | "started"
  | "restarted"
  | "unchanged"
  | "stopped"
  | "failed"
  | "not-started"
  | "skipped"
  | "conflict";

/**
 * One service of {@linkcode UpResult}: what `up --json` prints per service.
 *
 * @example
 * ```ts
 * import type { UpServiceResult } from "./up.ts";
 * const r: UpServiceResult = { name: "web", action: "restarted", reason: "changed: env (PORT)", changes: ["env (PORT)"], pid: 4242 };
 * console.log(r.action);
 * ```
 */
export interface UpServiceResult {
  /** The name it runs under. */
  name: string;
  /** What was done. */
  action: UpAction;
  /** Why, in a few words. */
  reason: string;
  /** For `restarted`: what changed (field names, env variable names; never values). */
  changes?: string[];
  /** Its main PID, when it runs. */
  pid?: number;
  /** For `failed`: the error, one line. */
  error?: string;
  /** For a failed start: the last lines of its log (what it said before it died), when any. */
  logTail?: string[];
}

/**
 * What {@linkcode upStack} returns (`pidkit up --json`).
 *
 * @example
 * ```ts
 * import type { UpResult } from "./up.ts";
 * const r: UpResult = { file: "/srv/pidkit.jsonc", dir: "/run/pidkit", dryRun: false, changed: false, ok: true, services: [] };
 * console.log(r.ok);
 * ```
 */
export interface UpResult {
  /** The declaration file. */
  file: string;
  /** The run directory. */
  dir: string;
  /** `--dry-run`: nothing was done; `plan` says what would be. */
  dryRun: boolean;
  /** Whether anything was (or, dry, would be) started, restarted or stopped. */
  changed: boolean;
  /** Every selected autostart service runs and is ready, nothing failed. */
  ok: boolean;
  /** One entry per service concerned (empty for a dry run). */
  services: UpServiceResult[];
  /** The plan (a dry run's answer). */
  plan?: StackPlan;
}

/**
 * Options of {@linkcode upStack}.
 *
 * @example
 * ```ts
 * import type { UpOptions } from "./up.ts";
 * const options: UpOptions = { names: ["web"], dryRun: true };
 * console.log(options);
 * ```
 */
export interface UpOptions {
  /** The run directory (default: the file's `dir`, else as `start` finds it). */
  dir?: string;
  /** Only these services (declared or instance names) and what they depend on. */
  names?: readonly string[];
  /** Plan only: start, restart and stop nothing. */
  dryRun?: boolean;
  /** Told each service's result as soon as it is known (for a live display). */
  onService?: (result: UpServiceResult) => void;
  /** How long to wait for another `up`/`down` of the run directory, ms (default for ever). */
  lockTimeout?: number;
}

/**
 * The run directory of a resolved declaration: `dir` given, else the
 * file's `dir`, else as `pidkit start` finds it.
 *
 * @example
 * ```ts
 * import { stackRunDir } from "./up.ts";
 * console.log(stackRunDir({ base: "/srv", services: [] }, "/tmp/pidkit-example"));
 * ```
 */
export function stackRunDir(stack: ResolvedStack, dir?: string, create = false): string {
  return resolveRunDir({ dir: dir ?? stack.dir, create });
}

/**
 * Bring the run directory in line with `stack` (see the module doc).
 * Throws {@linkcode UsageError} for unknown names, and
 * {@linkcode StackError} (`reason: "value"`, the service's JSON path) for a
 * launch option the service API refuses, before anything is started or
 * stopped. A service
 * that fails is reported (`failed`, its dependents `not-started`) and
 * never stops the others.
 *
 * @example
 * ```ts
 * import { loadStack } from "./load.ts";
 * import { upStack } from "./up.ts";
 * const { stack } = await loadStack({ cwd: "/srv/app" });
 * // the plan against what runs in the run directory; without dryRun it is carried out
 * const result = await upStack(stack, { dir: "/tmp/pidkit-example", dryRun: true });
 * for (const step of result.plan!.steps) console.log(step.action, step.name, step.reason);
 * ```
 */
export async function upStack(stack: ResolvedStack, options: UpOptions = {}): Promise<UpResult> {
  if (stack.file === undefined) throw new UsageError("up needs a declaration read from a file");
  const file = stack.file;
  if (options.names !== undefined) {
    const { unknown } = dependencyClosure(stack.services, options.names);
    if (unknown.length > 0) {
      throw new UsageError(
        `${file} declares no service ${unknown.map((n) => `'${n}'`).join(", ")}`,
      );
    }
  }
  const dir = stackRunDir(stack, options.dir, !options.dryRun);
  const planOptions = options.names !== undefined ? { names: options.names } : {};
  // the spec up applied is read only to name what changed
  const declared = new Map(stack.services.map((s) => [s.name, s.hash]));
  const read = { wantSpec: (name: string, hash: string) => declared.get(name) !== hash };
  if (options.dryRun) {
    const plan = planStack(stack, await runningServices(dir, read), planOptions);
    await preflight(stack, plan, dir);
    return { file, dir, dryRun: true, changed: plan.changes, ok: true, services: [], plan };
  }
  return await withStackLock(dir, async () => {
    const current = await runningServices(dir, read);
    // Services left by a killed supervisor: a supervisor adopts them before they are compared.
    if (current.some((c) => c.phase === "orphaned" && c.origin?.file === file)) {
      const { askSupervisor } = await import("../service/control/supervisor_client.ts");
      await askSupervisor(dir, { op: "hello" }, { launch: true });
    }
    const plan = planStack(stack, current, planOptions);
    // Every launch option of what is to start checked before anything happens: bad input changes nothing.
    const problems = await preflight(stack, plan, dir);
    // What `up` changed goes into the run directory's journal of events (events/event_journal.ts).
    const journal = EventJournal.open(dir);
    const run = new UpRun(stack, dir, plan, problems, (result) => {
      recordUp(journal, result);
      options.onService?.(result);
    });
    const pids = new Map(current.map((c) => [c.name, c.pid]));
    // No stamp while what runs may differ from the file (see up_stamp.ts).
    await removeUpStamp(dir, file);
    await run.execute(pids).finally(() => journal.close());
    const services = run.results();
    const bad = services.some((s) =>
      s.action === "failed" || s.action === "not-started" || s.action === "conflict"
    );
    if (options.names === undefined) await stampIfComplete(stack, dir, services);
    return { file, dir, dryRun: false, changed: plan.changes, ok: !bad, services };
  }, options.lockTimeout !== undefined ? { timeout: options.lockTimeout } : {});
}

/**
 * Check the launch options of every service the plan starts or restarts as
 * `start` would (its program, cwd, user): a {@linkcode UsageError} is bad
 * input (thrown: nothing is done); any other error is that service's
 * failure (returned by name). Unchanged services are not checked again:
 * `up` with nothing to do loads none of the service layer's start path.
 */
async function preflight(
  stack: ResolvedStack,
  plan: StackPlan,
  dir: string,
): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  const moving = new Set(plan.levels.flat());
  if (moving.size === 0) return problems;
  const { buildSupervisorConfig } = await import("../service/control/supervisor_config.ts");
  for (const s of stack.services) {
    if (!moving.has(s.name)) continue;
    try {
      buildSupervisorConfig(s.name, s.command, { ...s.launch, dir });
    } catch (err) {
      if (err instanceof UsageError) {
        throw new StackError("value", joinPath("services", s.declared), err.message, {
          ...(stack.file !== undefined ? { file: stack.file } : {}),
        });
      }
      if (err instanceof PidkitError) problems.set(s.name, err.message);
      else throw err;
    }
  }
  return problems;
}

/**
 * Leave the stamp of a complete `up` (see up_stamp.ts): every service runs
 * as declared (started, restarted, unchanged) or was stopped as no longer
 * declared. Nothing failed, nothing was skipped or left to someone else.
 */
async function stampIfComplete(
  stack: ResolvedStack,
  dir: string,
  services: UpServiceResult[],
): Promise<void> {
  if (stack.source === undefined || stack.file === undefined) return;
  const done = new Set(["started", "restarted", "unchanged", "stopped"]);
  if (!services.every((s) => done.has(s.action))) return;
  const hashes = new Map(stack.services.map((s) => [s.name, s.hash]));
  await writeUpStamp(dir, {
    version: 2,
    pidkit: VERSION,
    file: stack.file,
    source: stack.source,
    services: services.filter((s) => s.action !== "stopped")
      .map((s) => ({ name: s.name, hash: hashes.get(s.name)! })),
  }).catch(() => {}); // only a shortcut: up without it compares the long way
}

/** The service layer's start and stop path, loaded only when there is something to do. */
async function serviceActions() {
  const [{ startService }, { stopService }, { ServiceStartError }] = await Promise.all([
    import("../service/actions/start_service.ts"),
    import("../service/actions/stop_service.ts"),
    import("../service/control/service_errors.ts"),
  ]);
  return { startService, stopService, ServiceStartError };
}

/** One execution of a plan. */
class UpRun {
  readonly #byName: Map<string, ResolvedService>;
  readonly #steps: Map<string, PlanStep>;
  readonly #results = new Map<string, UpServiceResult>();
  readonly #tasks = new Map<string, Promise<UpServiceResult>>();
  readonly #env = baseEnvironment();
  #actions?: Awaited<ReturnType<typeof serviceActions>>;

  constructor(
    readonly stack: ResolvedStack,
    readonly dir: string,
    readonly plan: StackPlan,
    readonly problems: Map<string, string>,
    readonly onService?: (result: UpServiceResult) => void,
  ) {
    this.#byName = new Map(stack.services.map((s) => [s.name, s]));
    this.#steps = new Map(plan.steps.map((s) => [s.name, s]));
  }

  /** Stops first (a renamed service may need its port), then starts by dependency. */
  async execute(pids: Map<string, number | undefined>): Promise<void> {
    for (const step of this.plan.steps) {
      const pid = pids.get(step.name);
      if (step.action === "leave") {
        this.#report({
          name: step.name,
          action: "unchanged",
          reason: step.reason,
          ...(pid !== undefined ? { pid } : {}),
        });
      } else if (step.action === "skip") {
        this.#report({ name: step.name, action: "skipped", reason: step.reason });
      } else if (step.action === "conflict") {
        this.#report({ name: step.name, action: "conflict", reason: step.reason });
      }
    }
    const moving = this.plan.levels.flat();
    if (moving.length > 0 || this.plan.stops.length > 0) this.#actions = await serviceActions();
    for (const name of this.plan.stops) await this.#stop(name);
    for (const name of moving) this.#tasks.set(name, this.#move(name));
    await Promise.all(this.#tasks.values());
  }

  /** The results in the plan's order. */
  results(): UpServiceResult[] {
    return this.plan.steps.map((s) => this.#results.get(s.name)!).filter((r) => r !== undefined);
  }

  #report(result: UpServiceResult): UpServiceResult {
    this.#results.set(result.name, result);
    this.onService?.(result);
    return result;
  }

  async #stop(name: string): Promise<void> {
    try {
      const r = await this.#actions!.stopService(name, { dir: this.dir });
      await removeAppliedSpec(this.dir, name);
      this.#report({
        name,
        action: "stopped",
        reason: "no longer declared",
        ...(r.pid !== undefined ? { pid: r.pid } : {}),
      });
    } catch (err) {
      this.#report({ name, action: "failed", reason: "stop failed", error: errorLine(err) });
    }
  }

  /** Start or restart `name` once what it depends on is ready. */
  async #move(name: string): Promise<UpServiceResult> {
    await Promise.resolve(); // every task is in the map before any looks another up
    const s = this.#byName.get(name)!;
    const step = this.#steps.get(name)!;
    const failed = await this.#failedDependency(s);
    if (failed !== undefined) {
      const why = failed.action === "conflict" ? "is not this file's" : "failed";
      return this.#report({
        name,
        action: "not-started",
        reason: `its dependency ${failed.name} ${why}`,
      });
    }
    // A changed service with instances restarts one instance at a time.
    if (step.action === "restart" && s.instance !== undefined && s.instance > 1) {
      await this.#tasks.get(`${s.declared}.${s.instance - 1}`);
    }
    const problem = this.problems.get(name);
    if (problem !== undefined) {
      return this.#report({ name, action: "failed", reason: "cannot start", error: problem });
    }
    try {
      const { startService, stopService } = this.#actions!;
      if (step.action === "restart") await stopService(name, { dir: this.dir });
      const started = await startService(name, s.command, {
        ...s.launch,
        dir: this.dir,
        origin: { file: this.stack.file!, hash: s.hash },
        baseEnv: this.#env,
        ifNotRunning: true,
      });
      if (started.status === "already-running") {
        return this.#report({
          name,
          action: "conflict",
          reason: "started by someone else meanwhile",
          ...(typeof started.pid === "number" ? { pid: started.pid } : {}),
        });
      }
      await writeAppliedSpec(this.dir, name, s.hash, s).catch(() => {});
      return this.#report({
        name,
        action: step.action === "restart" ? "restarted" : "started",
        reason: step.reason,
        ...(step.changes !== undefined ? { changes: step.changes } : {}),
        ...(typeof started.pid === "number" ? { pid: started.pid } : {}),
      });
    } catch (err) {
      const startError = err instanceof this.#actions!.ServiceStartError ? err : undefined;
      return this.#report({
        name,
        action: "failed",
        reason: startError?.reason ?? "failed",
        error: errorLine(err),
        ...(startError && startError.logTail.length > 0 ? { logTail: startError.logTail } : {}),
      });
    }
  }

  /** The first dependency (an instance) that failed or was not started, if any. */
  async #failedDependency(s: ResolvedService): Promise<UpServiceResult | undefined> {
    for (const dep of s.dependsOn) {
      for (const d of this.stack.services.filter((x) => x.declared === dep)) {
        const task = this.#tasks.get(d.name);
        const result = task ? await task : this.#results.get(d.name);
        if (result === undefined) continue; // not concerned (never: the plan holds the closure)
        if (
          result.action !== "started" && result.action !== "restarted" &&
          result.action !== "unchanged"
        ) {
          return result;
        }
      }
    }
    return undefined;
  }
}

function errorLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

/** An `up` event for each service `up` started, restarted or stopped, saying what and why. */
function recordUp(journal: EventJournal, result: UpServiceResult): void {
  if (result.action !== "started" && result.action !== "restarted" && result.action !== "stopped") {
    return;
  }
  journal.append({
    service: result.name,
    kind: "up",
    reason: `${result.action}: ${result.reason}`,
    ...(result.pid !== undefined ? { pid: result.pid } : {}),
  });
}
