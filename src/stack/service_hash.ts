/**
 * Change detection for declared services: a stable hash of a resolved
 * service (SHA-256 of its canonical JSON: keys sorted, so key order,
 * comments and formatting of the file never count) and the list of what
 * differs between two resolved services, for `up`'s "restarted: env, cmd".
 *
 * Only what shapes the process is hashed: the command and its launch
 * options (env files already read into `env`). `dependsOn`, `instances`
 * and `autostart` are not (as compose leaves out `depends_on` and scale),
 * so scaling never restarts the instances that stay.
 *
 * @module
 */

import type { LaunchOptions } from "../service/control/supervisor_config.ts";
import { SERVICE_FIELDS } from "./fields.ts";
import { setOwn } from "./jsonc.ts";
import { sha256Hex } from "../os/sha256.ts";

/**
 * JSON with every object's keys sorted: equal values give equal text.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./service_hash.ts";
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) setOwn(out, key, sortKeys(v));
  }
  return out;
}

/**
 * What of a resolved service is hashed and compared.
 *
 * @example
 * ```ts
 * import type { HashedSpec } from "./service_hash.ts";
 * const spec: HashedSpec = { command: ["sleep", "60"], launch: { cwd: "/srv", env: {} } };
 * console.log(spec.command);
 * ```
 */
export interface HashedSpec {
  /** The argv. */
  command: readonly string[];
  /** The launch options (cwd and env included, no run directory). */
  launch: LaunchOptions;
}

/**
 * The hex SHA-256 of the canonical JSON of `spec`'s command and launch
 * options.
 *
 * @example
 * ```ts
 * import { specHash } from "./service_hash.ts";
 * const a = await specHash({ command: ["sleep", "60"], launch: { cwd: "/srv", env: { A: "1" } } });
 * const b = await specHash({ launch: { env: { A: "1" }, cwd: "/srv" }, command: ["sleep", "60"] });
 * console.log(a === b); // true
 * ```
 */
export async function specHash(spec: HashedSpec): Promise<string> {
  return await sha256Hex(canonicalJson({ command: spec.command, launch: spec.launch }));
}

/**
 * What differs between two resolved services, as field names in the
 * file's terms: `cmd`, `env (PORT, DEBUG)` (the variable names, never
 * their values, which may be secrets), `cwd`, `ready.tcp`, ...; empty when
 * they are the same.
 *
 * @example
 * ```ts
 * import { specChanges } from "./service_hash.ts";
 * specChanges(
 *   { command: ["web"], launch: { env: { PORT: "1" }, restart: "no" } },
 *   { command: ["web", "-v"], launch: { env: { PORT: "2" }, restart: "always" } },
 * ); // ["cmd", "env (PORT)", "restart"]
 * ```
 */
export function specChanges(before: HashedSpec, after: HashedSpec): string[] {
  const changes: string[] = [];
  if (canonicalJson(before.command) !== canonicalJson(after.command)) changes.push("cmd");
  const envBefore = envOf(before.launch);
  const envAfter = envOf(after.launch);
  const keys = [...new Set([...Object.keys(envBefore), ...Object.keys(envAfter)])].sort()
    .filter((k) => envBefore[k] !== envAfter[k]);
  if (keys.length > 0) changes.push(`env (${keys.join(", ")})`);
  const launchKeys = new Set([...Object.keys(before.launch), ...Object.keys(after.launch)]);
  launchKeys.delete("env");
  for (const key of launchKeys) {
    const a = canonicalJson((before.launch as Record<string, unknown>)[key]);
    const b = canonicalJson((after.launch as Record<string, unknown>)[key]);
    if (a !== b) changes.push(SERVICE_FIELDS.find((f) => f.launch === key)?.key ?? key);
  }
  const order = (c: string) => {
    const i = SERVICE_FIELDS.findIndex((f) => c === f.key || c.startsWith(`${f.key} `));
    return i < 0 ? SERVICE_FIELDS.length : i;
  };
  return changes.sort((a, b) => order(a) - order(b));
}

function envOf(launch: LaunchOptions): Record<string, string> {
  const env = launch.env;
  if (env === undefined) return {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}
