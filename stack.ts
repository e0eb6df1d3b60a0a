/**
 * Declared services: read a `pidkit.jsonc` (or a Procfile), validate it,
 * resolve it into the services to run, and plan what `up` changes. Pure
 * functions over plain data (only {@linkcode loadStack} reads files);
 * errors are {@linkcode StackError}s carrying the JSON path.
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
