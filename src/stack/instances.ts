/**
 * Instance naming: a service with `instances: N` runs as `NAME.1` ...
 * `NAME.N` (foreman's and compose's numbering, from 1); without `instances`
 * it runs under its own name. The number is also `PIDKIT_INSTANCE`.
 *
 * @module
 */

/**
 * The names a declared service runs under.
 *
 * @example
 * ```ts
 * import { instanceNames } from "./instances.ts";
 * instanceNames({ name: "worker", instances: 3 }); // ["worker.1", "worker.2", "worker.3"]
 * instanceNames({ name: "web" }); // ["web"]
 * ```
 */
export function instanceNames(service: { name: string; instances?: number }): string[] {
  if (service.instances === undefined) return [service.name];
  return Array.from({ length: service.instances }, (_, i) => `${service.name}.${i + 1}`);
}

/**
 * The declared name and instance number of a running name, given the
 * declared names: `worker.2` -> `{ declared: "worker", instance: 2 }`.
 * `undefined` when `name` belongs to none of them.
 *
 * @example
 * ```ts
 * import { splitInstance } from "./instances.ts";
 * splitInstance("worker.2", ["worker", "web"]); // { declared: "worker", instance: 2 }
 * splitInstance("web", ["worker", "web"]); // { declared: "web" }
 * ```
 */
export function splitInstance(
  name: string,
  declared: readonly string[],
): { declared: string; instance?: number } | undefined {
  if (declared.includes(name)) return { declared: name };
  const m = /^(.+)\.([1-9]\d*)$/.exec(name);
  if (m && declared.includes(m[1])) return { declared: m[1], instance: Number(m[2]) };
  return undefined;
}
