/**
 * Validation of a declaration (parsed JSON, or an object built in code):
 * every field type-checked and parsed by the same parsers `pidkit start`
 * uses, unknown fields refused with a "did you mean", `dependsOn` checked
 * for unknown names and cycles, names checked after instance expansion.
 * The first problem throws a {@linkcode StackError} naming its JSON path.
 *
 * @module
 */

import { parseLimit } from "../os/resource_limits.ts";
import { parseDuration } from "../os/duration.ts";
import { UsageError } from "../os/errors.ts";
import { parseRetry } from "../tree/stop_schedule.ts";
import { parseSize } from "../service/output/log_rotation.ts";
import { parseHostPort } from "../service/readiness/readiness.ts";
import { validateName } from "../service/model/run_dir.ts";
import { checkLaunchOptions, type LaunchOptions } from "../service/control/supervisor_config.ts";
import type { StackDeclaration, ValidService } from "./declaration.ts";
import { fieldByFlag, type FieldSpec, FILE_FIELDS, SERVICE_FIELDS } from "./fields.ts";
import { joinPath, StackError } from "./stack_error.ts";
import { didYouMean } from "./suggest.ts";
import { instanceNames } from "./instances.ts";
import { setOwn } from "./jsonc.ts";
import { findCycle } from "./order.ts";

type Obj = Record<string, unknown>;
/** Parsed field values by key (`ready.tcp` flattened). */
type Values = Map<string, unknown>;

const TOP_KEYS = [...new Set(SERVICE_FIELDS.map((f) => f.key.split(".")[0]))];
const READY_KEYS = SERVICE_FIELDS.filter((f) => f.key.startsWith("ready."))
  .map((f) => f.key.slice(6));

/**
 * Validate a declaration: a parsed `pidkit.jsonc` or a
 * {@linkcode StackFile} built in code. `file` (the declaration's absolute
 * path) is carried into the result. Throws {@linkcode StackError}.
 *
 * @example
 * ```ts
 * import { validateStack } from "./validate.ts";
 * const stack = validateStack({
 *   defaults: { restart: "on-failure" },
 *   services: {
 *     redis: { cmd: ["redis-server"], ready: { tcp: "127.0.0.1:6379" } },
 *     web: { cmd: "deno run -A server.ts", dependsOn: ["redis"], instances: 2 },
 *   },
 * });
 * console.log(stack.services.map((s) => s.name)); // ["redis", "web"]
 * ```
 */
export function validateStack(value: unknown, file?: string): StackDeclaration {
  const top = object(value, "");
  unknownKeys(top, FILE_FIELDS, "");
  if (top.$schema !== undefined) string(top.$schema, "$schema");
  const dir = top.dir === undefined ? undefined : string(top.dir, "dir");
  const defaults = top.defaults === undefined
    ? new Map()
    : readService(object(top.defaults, "defaults"), "defaults", true);
  if (top.services === undefined) {
    throw new StackError("type", "services", "missing (declare at least an empty object)");
  }
  const raw = object(top.services, "services");
  const services: ValidService[] = [];
  for (const name of Object.keys(raw)) {
    const path = joinPath("services", name);
    checkName(name, path);
    const own = readService(object(raw[name], path), path, false);
    services.push(merge(name, defaults, own, path));
  }
  checkDependencies(services);
  checkExpandedNames(services);
  return {
    ...(file !== undefined ? { file } : {}),
    ...(dir !== undefined ? { dir } : {}),
    services,
  };
}

function object(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new StackError("type", path, `must be an object, not ${typeName(v)}`);
  }
  return v as Obj;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

function string(v: unknown, path: string): string {
  if (typeof v !== "string") {
    throw new StackError("type", path, `must be a string, not ${typeName(v)}`);
  }
  if (v === "") throw new StackError("value", path, "must not be empty");
  return v;
}

function unknownKeys(o: Obj, known: readonly string[], path: string): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) {
      throw new StackError(
        "unknown-field",
        joinPath(path, key),
        `unknown field${didYouMean(key, known)}`,
      );
    }
  }
}

function checkName(name: string, path: string): void {
  try {
    validateName(name);
  } catch (err) {
    throw new StackError("value", path, (err as Error).message);
  }
}

/** The fields of one service (or of `defaults`), parsed. */
function readService(o: Obj, path: string, isDefaults: boolean): Values {
  unknownKeys(o, TOP_KEYS, path);
  const values: Values = new Map();
  for (const [key, v] of Object.entries(o)) {
    if (key === "ready") {
      const ready = object(v, joinPath(path, "ready"));
      unknownKeys(ready, READY_KEYS, joinPath(path, "ready"));
      for (const [sub, sv] of Object.entries(ready)) {
        const field = SERVICE_FIELDS.find((f) => f.key === `ready.${sub}`)!;
        values.set(field.key, parseField(field, sv, joinPath(joinPath(path, "ready"), sub)));
      }
      values.set("ready", true);
      continue;
    }
    const field = SERVICE_FIELDS.find((f) => f.key === key)!;
    if (isDefaults && field.perService) {
      throw new StackError("value", joinPath(path, key), "is per service, not a default");
    }
    values.set(key, parseField(field, v, joinPath(path, key)));
  }
  return values;
}

/** One field's value checked and normalised for its kind. */
function parseField(field: FieldSpec, v: unknown, path: string): unknown {
  const typeError = (want: string) =>
    new StackError("type", path, `must be ${want}, not ${typeName(v)}`);
  const parsed = (parse: () => number): number => {
    try {
      return parse();
    } catch (err) {
      if (err instanceof UsageError) throw new StackError("value", path, err.message);
      throw err;
    }
  };
  switch (field.kind) {
    case "string": {
      const s = string(v, path);
      if (field.values && !field.values.includes(s)) {
        throw new StackError(
          "value",
          path,
          `bad value '${s}' (use ${field.values.join(", ")})${didYouMean(s, field.values)}`,
        );
      }
      checkText(field.key, s, path);
      return s;
    }
    case "boolean":
      if (typeof v !== "boolean") throw typeError("true or false");
      return v;
    case "duration":
      if (typeof v === "number") return nonNegative(v, path);
      if (typeof v !== "string") throw typeError('a duration such as "10s" or a number of ms');
      try {
        return parseDuration(v);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        // The CLI's hint ("or a number of seconds") would mislead here: in the file a
        // number is milliseconds.
        throw new StackError(
          "value",
          path,
          `bad duration '${v}' (use e.g. "500ms", "10s", "2m", or a number of milliseconds)`,
        );
      }
    case "size":
      if (typeof v === "number") return parsed(() => parseSize(String(nonNegative(v, path)), path));
      if (typeof v !== "string") throw typeError('a size such as "10M" or a number of bytes');
      return parsed(() => parseSize(v, path));
    case "integer": {
      if (typeof v !== "number" || !Number.isInteger(v)) throw typeError("a whole number");
      const [min, max] = field.range!;
      if (v < min || v > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min} to ${max}`;
        throw new StackError("value", path, `bad value ${v} (use ${range})`);
      }
      return v;
    }
    case "env":
      return envRecord(object(v, path), path);
    case "strings":
      if (!Array.isArray(v)) throw typeError("an array of strings");
      return v.map((s, i) => string(s, joinPath(path, i)));
    case "paths":
      if (typeof v === "string") return [string(v, path)];
      if (!Array.isArray(v)) throw typeError("a path or an array of paths");
      return v.map((s, i) => string(s, joinPath(path, i)));
    case "limits": {
      const limits = object(v, path);
      for (const [name, value] of Object.entries(limits)) {
        if (typeof value !== "string" && typeof value !== "number") {
          throw new StackError(
            "type",
            joinPath(path, name),
            `must be "SOFT[:HARD]" or a number, not ${typeName(value)}`,
          );
        }
        parsed(() => (parseLimit(name, value, "limit"), 0));
      }
      return limits;
    }
    case "command":
      if (typeof v === "string") return string(v, path);
      if (!Array.isArray(v)) throw typeError("an argv array or a shell command string");
      if (v.length === 0) throw new StackError("value", path, "must not be empty");
      return v.map((s, i) => {
        if (typeof s !== "string") {
          throw new StackError("type", joinPath(path, i), `must be a string, not ${typeName(s)}`);
        }
        return s;
      });
  }
}

function nonNegative(v: number, path: string): number {
  if (!Number.isFinite(v) || v < 0) {
    throw new StackError("value", path, `bad value ${v} (must be 0 or more)`);
  }
  return v;
}

/** Field-level checks of text fields with a parser of their own. */
function checkText(key: string, s: string, path: string): void {
  try {
    if (key === "retry") parseRetry(s);
  } catch (err) {
    if (err instanceof UsageError) throw new StackError("value", path, err.message);
    throw err;
  }
  if (key === "ready.tcp" && !parseHostPort(s)) {
    throw new StackError("value", path, `bad HOST:PORT '${s}' (e.g. 127.0.0.1:8080)`);
  }
}

function envRecord(o: Obj, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    const at = joinPath(path, k);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new StackError(
        "value",
        at,
        "bad variable name (letters, digits and _, not first a digit)",
      );
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new StackError("type", at, `must be a string, number or boolean, not ${typeName(v)}`);
    }
    setOwn(out, k, String(v));
  }
  return out;
}

/** The service `name` from `defaults` and its own fields; cross-field checks as `start` does them. */
function merge(name: string, defaults: Values, own: Values, path: string): ValidService {
  const values: Values = new Map(defaults);
  // `ready` is replaced as a whole: a service's conditions never mix with the defaults'
  if (own.has("ready")) {
    for (const k of [...values.keys()]) if (k.startsWith("ready.")) values.delete(k);
  }
  for (const [k, v] of own) values.set(k, v);
  const env = {
    ...(defaults.get("env") as Record<string, string> ?? {}),
    ...(own.get("env") as Record<string, string> ?? {}),
  };
  const envFile = [
    ...(defaults.get("envFile") as string[] ?? []),
    ...(own.get("envFile") as string[] ?? []),
  ];
  const cmd = values.get("cmd") as string | string[] | undefined;
  if (cmd === undefined) {
    throw new StackError("type", joinPath(path, "cmd"), "missing (the command to run)");
  }
  const launch: Record<string, unknown> = {};
  for (const f of SERVICE_FIELDS) {
    if (f.launch && f.launch !== "env" && values.has(f.key)) launch[f.launch] = values.get(f.key);
  }
  try {
    checkLaunchOptions({ ...launch, env });
  } catch (err) {
    if (err instanceof UsageError) throw launchError(err.message, path);
    throw err;
  }
  const instances = values.get("instances") as number | undefined;
  return {
    name,
    cmd,
    env,
    envFile,
    dependsOn: (values.get("dependsOn") as string[] | undefined) ?? [],
    ...(instances !== undefined ? { instances } : {}),
    autostart: values.get("autostart") !== false,
    launch: launch as LaunchOptions,
  };
}

/** `start`'s message for a launch option, with its flags named as the file's fields. */
function launchError(message: string, path: string): StackError {
  let first: FieldSpec | undefined;
  // The service layer names a launch option `options.readyTimeout` (some messages a `--flag`).
  const text = message.replace(
    /--([a-z][a-z-]*)|\boptions\.([a-z][A-Za-z]*)/g,
    (all, kebab, camel) => {
      const flag: string = kebab ?? camel.replace(/[A-Z]/g, (c: string) => `-${c.toLowerCase()}`);
      const field = fieldByFlag(flag);
      first ??= field;
      return field ? field.key : all;
    },
  );
  const at = first ? first.key.split(".").reduce(joinPath, path) : path;
  return new StackError("value", at, text);
}

function checkDependencies(services: ValidService[]): void {
  const names = services.map((s) => s.name);
  for (const s of services) {
    s.dependsOn.forEach((dep, i) => {
      if (!names.includes(dep)) {
        throw new StackError(
          "dependency",
          joinPath(joinPath(joinPath("services", s.name), "dependsOn"), i),
          `'${dep}' is not a declared service${didYouMean(dep, names)}`,
        );
      }
    });
  }
  const cycle = findCycle(new Map(services.map((s) => [s.name, s.dependsOn])));
  if (cycle) {
    throw new StackError(
      "cycle",
      joinPath(joinPath("services", cycle[0]), "dependsOn"),
      `dependency cycle: ${cycle.join(" -> ")}`,
    );
  }
}

function checkExpandedNames(services: ValidService[]): void {
  const seen = new Map<string, string>();
  for (const s of services) {
    const path = joinPath("services", s.name);
    for (const name of instanceNames(s)) {
      checkName(name, s.instances === undefined ? path : joinPath(path, "instances"));
      const other = seen.get(name);
      if (other !== undefined) {
        throw new StackError(
          "duplicate",
          path,
          `'${name}' is declared twice (by services '${other}' and '${s.name}')`,
        );
      }
      seen.set(name, s.name);
    }
  }
}
