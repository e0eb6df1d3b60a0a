/**
 * JSONC as `deno.json` takes it: JSON plus `//` and `/* *\/` comments and
 * trailing commas. Hand-written (a recursive descent over the text) because
 * the npm parser costs a one-shot CLI about 33 ms of start-up, and because
 * an error must say line and column, which `JSON.parse` does not promise.
 *
 * @module
 */

import { StackError } from "./stack_error.ts";

/**
 * A JSON value as {@linkcode parseJsonc} returns it.
 *
 * @example
 * ```ts
 * import type { JsonValue } from "./jsonc.ts";
 * const v: JsonValue = { services: { web: { cmd: ["web"] } } };
 * console.log(v);
 * ```
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Nesting deeper than this is refused (a declaration is a few levels deep). */
const MAX_DEPTH = 64;

/**
 * Parse JSONC text. A syntax error, a duplicate key or nesting deeper than
 * 64 throws a {@linkcode StackError} (`reason: "syntax"`) with the 1-based
 * line and column (and `file`, when given, in its message).
 *
 * @example
 * ```ts
 * import { parseJsonc } from "./jsonc.ts";
 * const value = parseJsonc(`{
 *   // the web server
 *   "services": { "web": { "cmd": ["deno", "run", "-A", "server.ts"], }, },
 * }`);
 * console.log(value);
 * ```
 */
export function parseJsonc(text: string, file?: string): JsonValue {
  const p = new Parser(text, file);
  p.skipSpace();
  const value = p.value(0);
  p.skipSpace();
  if (p.pos < text.length) p.fail("unexpected text after the end of the JSON value");
  return value;
}

class Parser {
  pos = 0;
  constructor(readonly text: string, readonly file?: string) {}

  fail(detail: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - (before.lastIndexOf("\n") + 1) + 1;
    throw new StackError("syntax", "", detail, { file: this.file ?? "(text)", line, column });
  }

  /** Skip white space and comments. */
  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\uFEFF") this.pos++;
      else if (t.startsWith("//", this.pos)) {
        const end = t.indexOf("\n", this.pos);
        this.pos = end < 0 ? t.length : end + 1;
      } else if (t.startsWith("/*", this.pos)) {
        const end = t.indexOf("*/", this.pos + 2);
        if (end < 0) this.fail("unterminated /* comment");
        this.pos = end + 2;
      } else return;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    if (c === undefined) this.fail("unexpected end of file");
    if (c === "'") this.fail("strings take double quotes");
    this.fail(`unexpected '${c}'`);
  }

  object(depth: number): JsonValue {
    const out: Record<string, JsonValue> = {};
    const seen = new Set<string>();
    this.pos++; // {
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return out;
      }
      if (this.text[this.pos] !== '"') this.fail("expected a quoted key or '}'");
      const keyAt = this.pos;
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      seen.add(key);
      this.skipSpace();
      if (this.text[this.pos] !== ":") this.fail("expected ':' after the key");
      this.pos++;
      this.skipSpace();
      setOwn(out, key, this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "}") this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): JsonValue {
    const out: JsonValue[] = [];
    this.pos++; // [
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "]") {
        this.pos++;
        return out;
      }
      out.push(this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "]") this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    // deno-lint-ignore no-control-regex -- JSON forbids raw control characters in strings
    const m = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
    m.lastIndex = this.pos;
    const found = m.exec(this.text);
    if (!found) this.fail(this.stringProblem());
    this.pos += found[0].length;
    return JSON.parse(found[0]);
  }

  /** Why the string at `pos` does not scan. */
  stringProblem(): string {
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i];
      if (c === '"') break;
      if (c === "\n") return "unterminated string";
      if (c < " ") return "control character in a string (escape it)";
      if (c === "\\") {
        if (!/^(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/.test(this.text.slice(i + 1, i + 6))) {
          this.fail("bad escape in a string", i);
        }
        i++;
      }
    }
    return "unterminated string";
  }

  number(): number {
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = this.pos;
    const found = m.exec(this.text);
    if (!found) this.fail("bad number");
    this.pos += found[0].length;
    return Number(found[0]);
  }
}

/**
 * `out[key] = value` as an own, enumerable data property: a key
 * `__proto__` from a file is data, never the prototype.
 *
 * @example
 * ```ts
 * import { setOwn } from "./jsonc.ts";
 * const out: Record<string, unknown> = {};
 * setOwn(out, "__proto__", 1);
 * console.log(Object.keys(out)); // ["__proto__"]
 * ```
 */
export function setOwn(out: object, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}
