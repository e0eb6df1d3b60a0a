/**
 * Declared services: read a `pidkit.jsonc` (or a Procfile), validate it,
 * resolve it into the services to run, plan what `up` changes, and bring
 * it up ({@linkcode upStack}) and down ({@linkcode downStack}) through the
 * service API. Loading and planning are pure functions over plain data
 * (only {@linkcode loadStack} reads files); errors are
 * {@linkcode StackError}s carrying the JSON path.
 *
 * A string `cmd` runs through `sh -c`; an array is the argv. Relative
 * paths (`cwd`, `envFile`, `log`, `pidfile`, `mainPidfile`, `ready.file`,
 * `dir`) are relative to the file's directory. Durations are text (`"10s"`)
 * or numbers of milliseconds; sizes text (`"10M"`) or numbers of bytes.
 *
 * @example Load, inspect, plan
 * ```ts
 * import { loadStack, planStack } from "@pidkit/pidkit/stack";
 *
 * const { file, stack } = await loadStack({ cwd: "/srv/app" });
 * for (const s of stack.services) console.log(s.name, s.command.join(" "), s.hash.slice(0, 12));
 * const plan = planStack(stack, []); // nothing runs yet: start everything
 * console.log(file, plan.levels);
 * ```
 *
 * @example Bring it up and down
 * ```ts
 * import { downStack, loadStack, upStack } from "@pidkit/pidkit/stack";
 *
 * const { stack } = await loadStack({ cwd: "/srv/app" });
 * // redis and what it depends on; without names: every autostart service
 * const up = await upStack(stack, { names: ["redis"] }); // what `pidkit up --json` prints
 * for (const s of up.services) console.log(s.action, s.name, s.reason);
 * if (!up.ok) console.log("some service failed");
 * await downStack(stack);
 * ```
 *
 * @example Declare in code (typed)
 * ```ts
 * import { resolveStack, type StackFile, validateStack } from "@pidkit/pidkit/stack";
 *
 * const file: StackFile = {
 *   services: {
 *     redis: { cmd: ["redis-server", "--supervised", "systemd"], ready: { notify: true } },
 *     web: { cmd: "deno run -A server.ts", dependsOn: ["redis"], ready: { tcp: "127.0.0.1:8000" } },
 *     worker: { cmd: ["deno", "run", "-A", "worker.ts"], instances: 3 },
 *   },
 * };
 * const stack = await resolveStack(validateStack(file, "/srv/app/pidkit.jsonc"));
 * console.log(stack.services.map((s) => s.name));
 * ```
 *
 * @module
 */

export type {
  ReadyDeclaration,
  ServiceDeclaration,
  ServiceDefaults,
  StackDeclaration,
  StackFile,
  ValidService,
} from "./src/stack/declaration.ts";
export { StackError } from "./src/stack/stack_error.ts";
export type { StackErrorReason, StackErrorWhere } from "./src/stack/stack_error.ts";
export { parseJsonc } from "./src/stack/jsonc.ts";
export type { JsonValue } from "./src/stack/jsonc.ts";
export { validateStack } from "./src/stack/validate.ts";
export { resolveStack } from "./src/stack/resolve.ts";
export type { ResolvedService, ResolvedStack, ResolveOptions } from "./src/stack/resolve.ts";
export type { StackSource } from "./src/stack/up_stamp.ts";
export { parseEnvFile } from "./src/stack/env_file.ts";
export { parseFormation, parseProcfile } from "./src/stack/procfile.ts";
export type { ProcfileDeclaration, ProcfileOptions } from "./src/stack/procfile.ts";
export { findStackFile, loadStack } from "./src/stack/load.ts";
export type { LoadedStack, LoadStackOptions } from "./src/stack/load.ts";
export { canonicalJson, specChanges, specHash } from "./src/stack/service_hash.ts";
export type { HashedSpec } from "./src/stack/service_hash.ts";
export { dependencyClosure, startLevels, stopOrder } from "./src/stack/order.ts";
export type { OrderNode } from "./src/stack/order.ts";
export { planStack } from "./src/stack/plan.ts";
export type {
  CurrentService,
  PlanAction,
  PlanOptions,
  PlanStep,
  StackPlan,
} from "./src/stack/plan.ts";
export { stackSchema } from "./src/stack/schema.ts";
export { stackRunDir, upStack } from "./src/stack/up.ts";
export type { UpAction, UpOptions, UpResult, UpServiceResult } from "./src/stack/up.ts";
export { downStack } from "./src/stack/down.ts";
export type { DownOptions, DownResult, DownServiceResult } from "./src/stack/down.ts";
export { runningServices } from "./src/stack/running.ts";
export type { RunningService } from "./src/stack/running.ts";
export { baseEnvironment } from "./src/stack/base_env.ts";
export { systemdUnit, unitName } from "./src/stack/systemd_unit.ts";
export type { SystemdUnitOptions } from "./src/stack/systemd_unit.ts";
