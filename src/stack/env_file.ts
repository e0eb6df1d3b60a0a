/**
 * Env files (`envFile`, a Procfile's `.env`) in the dialect foreman and
 * compose users share: `KEY=VALUE` lines, an optional `export ` prefix,
 * blank lines and `#` comments, `'...'` taken literally, `"..."` with `\n`,
 * `\t`, `\r`, `\\` and `\"`, and a ` #` comment after an unquoted value.
 * Unlike foreman, a line pidkit cannot read is an error naming its line,
 * never silently dropped. No `${VAR}` interpolation, no multi-line values.
 *
 * @module
 */

import { setOwn } from "./jsonc.ts";
import { StackError } from "./stack_error.ts";

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"' };

/**
 * Parse env file text into its variables (a later line wins). A malformed
 * line throws {@linkcode StackError} (`reason: "env-file"`) naming `file`
 * and the line number; `path` is the JSON path of the `envFile` entry.
 *
 * @example
 * ```ts
 * import { parseEnvFile } from "./env_file.ts";
 * const env = parseEnvFile(`# database
 * export DB_URL="postgres://localhost/app"
 * GREETING='hello $USER'   # literal
 * DEBUG=1 # on
 * `);
 * console.log(env); // { DB_URL: "postgres://localhost/app", GREETING: "hello $USER", DEBUG: "1" }
 * ```
 */
export function parseEnvFile(text: string, file = "(env)", path = ""): Record<string, string> {
  const out: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const fail = (detail: string): never => {
      throw new StackError("env-file", path, detail, { file, line: i + 1 });
    };
    const body = line.startsWith("export ") ? line.slice(7).trimStart() : line;
    const eq = body.indexOf("=");
    if (eq < 0) fail(`expected KEY=VALUE, got '${line}'`);
    const key = body.slice(0, eq).trimEnd();
    if (!KEY.test(key)) {
      fail(`bad variable name '${key}' (letters, digits and _, not first a digit)`);
    }
    const value = valueOf(body.slice(eq + 1).trimStart(), fail);
    setOwn(out, key, value);
  });
  return out;
}

function valueOf(text: string, fail: (detail: string) => never): string {
  const q = text[0];
  if (q === "'" || q === '"') {
    let value = "";
    let i = 1;
    for (; i < text.length && text[i] !== q; i++) {
      if (q === '"' && text[i] === "\\") {
        const e = ESCAPES[text[i + 1]];
        if (e === undefined) fail(`unknown escape '\\${text[i + 1] ?? ""}' in a "..." value`);
        value += e;
        i++;
      } else value += text[i];
    }
    if (i >= text.length) fail(`unterminated ${q}...${q} value (values are one line)`);
    const rest = text.slice(i + 1).trim();
    if (rest !== "" && !rest.startsWith("#")) fail(`unexpected '${rest}' after the quoted value`);
    return value;
  }
  const comment = text.search(/\s#/);
  return (comment < 0 ? text : text.slice(0, comment)).trimEnd();
}
