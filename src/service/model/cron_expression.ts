/**
 * Cron expressions of `--cron` and `--cron-restart`: checked here, field by
 * field, without loading anything (a bad one is refused with the field and
 * the reason, before anything starts); their ticks are computed by croner
 * (`_croner.ts`), loaded only by a supervisor holding a scheduled service
 * and by the start of one.
 *
 * The syntax: five fields (minute hour day-of-month month day-of-week) or
 * six (a seconds field first), each `*`, a value, a range `a-b`, a step
 * `x/n` or a comma list of them; month names `JAN`..`DEC`, day names
 * `SUN`..`SAT` (0 and 7 are both Sunday), `?` for any day, `L` for the
 * last day of the month; `@yearly`, `@annually`, `@monthly`, `@weekly`,
 * `@daily`, `@midnight`, `@hourly`. When both day fields are restricted,
 * a day matching either runs (as Vixie cron and croner do).
 *
 * @module
 */

import { UsageError } from "../../os/errors.ts";

/** One field of a cron expression: its name and its range. */
interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const SECOND: CronField = { name: "second", min: 0, max: 59 };
const FIELDS: readonly CronField[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { name: "day-of-week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

/** The shorthands and the five fields each stands for. */
const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/**
 * Check a cron expression's syntax and ranges; returns it in five or six
 * fields (a shorthand expanded). Throws {@linkcode UsageError} naming the
 * option, the field and why: `bad --cron '61 * * * *': minute field '61':
 * 61 is out of range 0-59`.
 *
 * @example
 * ```ts
 * import { checkCronExpression } from "./cron_expression.ts";
 * console.log(checkCronExpression("@hourly", "options.cron")); // "0 * * * *"
 * checkCronExpression("*\/5 9-17 * * MON-FRI", "options.cron");
 * ```
 */
export function checkCronExpression(expr: string, option: string): string {
  const bad = (why: string) => new UsageError(`bad ${option} '${expr}': ${why}`);
  const text = expr.trim();
  if (text.startsWith("@")) {
    const expanded = NICKNAMES[text.toLowerCase()];
    if (expanded === undefined) {
      throw bad(`unknown shorthand (use one of ${Object.keys(NICKNAMES).join(", ")})`);
    }
    return expanded;
  }
  const parts = text.split(/\s+/).filter((p) => p !== "");
  if (parts.length !== 5 && parts.length !== 6) {
    throw bad(
      `${parts.length} field${parts.length === 1 ? "" : "s"}; use 5 (minute hour ` +
        `day-of-month month day-of-week) or 6 (a seconds field first)`,
    );
  }
  const fields = parts.length === 6 ? [SECOND, ...FIELDS] : FIELDS;
  parts.forEach((part, i) => {
    const why = fieldProblem(part, fields[i]);
    if (why !== undefined) throw bad(`${fields[i].name} field '${part}': ${why}`);
  });
  return parts.join(" ");
}

/** Why one field is malformed, or undefined. */
function fieldProblem(text: string, field: CronField): string | undefined {
  for (const item of text.split(",")) {
    if (item === "") return "an empty list item";
    const why = itemProblem(item.toUpperCase(), field);
    if (why !== undefined) return why;
  }
  return undefined;
}

function itemProblem(item: string, field: CronField): string | undefined {
  const [range, step, extra] = item.split("/");
  if (extra !== undefined) return "more than one '/'";
  if (step !== undefined) {
    if (!/^\d+$/.test(step)) return `step '${step}' is not a whole number`;
    const n = Number(step);
    if (n < 1 || n > field.max) return `step ${n} is out of range 1-${field.max}`;
  }
  if (range === "*" || (range === "?" && field.name.startsWith("day-of-"))) return undefined;
  if (range === "L" && field.name === "day-of-month") {
    return step === undefined ? undefined : "'L' takes no step";
  }
  const ends = range.split("-");
  if (ends.length > 2) return `'${range}' is not a value or a range a-b`;
  const values: number[] = [];
  for (const end of ends) {
    const v = valueOf(end, field);
    if (typeof v === "string") return v;
    values.push(v);
  }
  if (values.length === 2 && values[0] > values[1]) {
    return `range ${range} goes backwards (${values[0]} > ${values[1]})`;
  }
  return undefined;
}

function valueOf(text: string, field: CronField): number | string {
  const named = field.names?.indexOf(text) ?? -1;
  if (named >= 0) return named + (field.name === "month" ? 1 : 0);
  if (!/^\d+$/.test(text)) {
    const names = field.names ? `, or a name ${field.names[0]}-${field.names.at(-1)}` : "";
    return `'${text}' is not a number${names}`;
  }
  const n = Number(text);
  if (n < field.min || n > field.max) return `${n} is out of range ${field.min}-${field.max}`;
  return n;
}
