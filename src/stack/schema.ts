/**
 * The JSON Schema of `pidkit.jsonc`, generated from the field table
 * ({@linkcode SERVICE_FIELDS}). The package ships it as
 * `schema/pidkit.schema.json` (a test keeps that file equal to this);
 * `"$schema"` pointing at it gives editors completion and checking.
 *
 * @module
 */

import { type FieldSpec, SERVICE_FIELDS } from "./fields.ts";
import { RESOURCE_NAMES } from "../os/resource_limits.ts";

type Schema = Record<string, unknown>;

function fieldSchema(f: FieldSpec): Schema {
  const d = { description: f.description };
  switch (f.kind) {
    case "string":
      return f.values ? { ...d, enum: f.values } : { ...d, type: "string", minLength: 1 };
    case "boolean":
      return { ...d, type: "boolean" };
    case "duration":
      return {
        ...d,
        anyOf: [
          { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?(ms|s|m|h)?\\s*$" },
          { type: "number", minimum: 0, description: "milliseconds" },
        ],
      };
    case "size":
      return {
        ...d,
        anyOf: [
          { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*([KMGkmg]?)((i)?[Bb])?\\s*$" },
          { type: "integer", minimum: 1024, description: "bytes" },
        ],
      };
    case "integer":
      return {
        ...d,
        type: "integer",
        minimum: f.range![0],
        ...(f.range![1] < Number.MAX_SAFE_INTEGER ? { maximum: f.range![1] } : {}),
      };
    case "env":
      return {
        ...d,
        type: "object",
        propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
        additionalProperties: { type: ["string", "number", "boolean"] },
      };
    case "strings":
      return { ...d, type: "array", items: { type: "string", minLength: 1 } };
    case "limits":
      return {
        ...d,
        type: "object",
        propertyNames: { enum: [...RESOURCE_NAMES] },
        additionalProperties: {
          anyOf: [
            {
              type: "string",
              pattern:
                "^\\s*(\\d+[KMGkmg]?|unlimited|infinity)(:(\\d+[KMGkmg]?|unlimited|infinity))?\\s*$",
            },
            { type: "integer", minimum: 0 },
          ],
        },
      };
    case "paths":
      return {
        ...d,
        anyOf: [
          { type: "string", minLength: 1 },
          { type: "array", items: { type: "string", minLength: 1 } },
        ],
      };
    case "command":
      return {
        ...d,
        anyOf: [
          { type: "string", minLength: 1 },
          { type: "array", items: { type: "string" }, minItems: 1 },
        ],
      };
  }
}

function serviceSchema(defaults: boolean): Schema {
  const properties: Record<string, Schema> = {};
  const ready: Record<string, Schema> = {};
  for (const f of SERVICE_FIELDS) {
    if (defaults && f.perService) continue;
    if (f.key.startsWith("ready.")) ready[f.key.slice(6)] = fieldSchema(f);
    else properties[f.key] = fieldSchema(f);
  }
  const readySchema = {
    type: "object",
    description: "readiness conditions (all must hold); replaced as a whole, not merged",
    properties: ready,
    additionalProperties: false,
  };
  const order = SERVICE_FIELDS.map((f) => f.key.split(".")[0]);
  const sorted = Object.fromEntries(
    [...Object.entries(properties), ["ready", readySchema] as const]
      .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)),
  );
  return {
    type: "object",
    properties: sorted,
    ...(defaults ? {} : { required: SERVICE_FIELDS.filter((f) => f.required).map((f) => f.key) }),
    additionalProperties: false,
  };
}

/**
 * The JSON Schema (draft 2020-12) of a `pidkit.jsonc`.
 *
 * @example
 * ```ts
 * import { stackSchema } from "./schema.ts";
 * console.log(JSON.stringify(stackSchema(), null, 2));
 * ```
 */
export function stackSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "pidkit.jsonc",
    description:
      "Services declared for `pidkit up`. Relative paths are relative to this file's directory.",
    type: "object",
    properties: {
      $schema: { type: "string", description: "this schema (for editors)" },
      dir: { type: "string", minLength: 1, description: "the run directory" },
      defaults: {
        description: "fields every service gets unless it sets them (env is merged key by key)",
        ...serviceSchema(true),
      },
      services: {
        type: "object",
        description: "the services, by name",
        propertyNames: { pattern: "^(?!\\.\\.?$)[A-Za-z0-9._-]{1,64}$" },
        additionalProperties: serviceSchema(false),
      },
    },
    required: ["services"],
    additionalProperties: false,
  };
}
