/**
 * Quoting for systemd unit files and environment files (systemd.syntax(7),
 * systemd.service(5) "Command lines", systemd.exec(5) `EnvironmentFile=`):
 * what `pidkit startup systemd` and `pidkit export systemd` write, so an
 * argument or a value reaches the service exactly as pidkit would pass it.
 *
 * @module
 */

/** C escapes systemd's unquoting understands, for characters that cannot appear raw on one line. */
const C_ESCAPES: Record<string, string> = {
  "\n": "\\n",
  "\t": "\\t",
  "\r": "\\r",
  "\v": "\\v",
  "\f": "\\f",
  "\b": "\\b",
  "\x07": "\\a",
};

/**
 * Quote one word of a command line (`ExecStart=`): `%` doubled (a
 * specifier otherwise), `$` doubled (variable expansion otherwise); a word
 * with anything beyond a plain safe set goes in double quotes with `\` and
 * `"` escaped and control characters as C escapes (a raw newline would end
 * the line). A lone `;` (a command separator unquoted) ends up quoted.
 *
 * @example
 * ```ts
 * import { unitQuote } from "./systemd_syntax.ts";
 * unitQuote("/srv/my app/pidkit.jsonc"); // "\"/srv/my app/pidkit.jsonc\""
 * unitQuote("echo $HOME 100%"); // "\"echo $$HOME 100%%\""
 * ```
 */
export function unitQuote(arg: string): string {
  // a function: "$$" as a replacement string would be one "$"
  const escaped = arg.replaceAll("%", "%%").replaceAll("$", () => "$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${cEscape(escaped)}"`;
}

/**
 * One `Environment=` assignment: `KEY=VALUE` as one word, `%` doubled, in
 * double quotes with C escapes where needed. `$` stays as it is: systemd
 * does not expand variables in `Environment=`.
 *
 * @example
 * ```ts
 * import { unitEnvironment } from "./systemd_syntax.ts";
 * unitEnvironment("PATH", "/usr/bin:/bin"); // "PATH=/usr/bin:/bin"
 * unitEnvironment("GREETING", "hello world"); // "\"GREETING=hello world\""
 * ```
 */
export function unitEnvironment(key: string, value: string): string {
  const text = `${key}=${value}`.replaceAll("%", "%%");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `"${cEscape(text)}"`;
}

/**
 * A value for a setting that is one unquoted path or name
 * (`WorkingDirectory=`, `PIDFile=`, `User=`): `%` doubled. Returns
 * `undefined` for a value such a setting cannot hold (a control character,
 * or leading or trailing white space, which systemd strips).
 *
 * @example
 * ```ts
 * import { unitPath } from "./systemd_syntax.ts";
 * unitPath("/srv/100% app"); // "/srv/100%% app"
 * unitPath("/srv/a\nb"); // undefined
 * ```
 */
export function unitPath(value: string): string | undefined {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value) || value.trim() !== value) return undefined;
  return value.replaceAll("%", "%%");
}

/**
 * One `KEY=VALUE` line of an environment file as `EnvironmentFile=` reads
 * it: the value in double quotes with `"`, `\`, `` ` `` and `$` escaped by
 * a backslash (kept as they are; a newline inside the quotes is kept too).
 *
 * @example
 * ```ts
 * import { envFileLine } from "./systemd_syntax.ts";
 * envFileLine("GREETING", 'say "hi" $USER'); // 'GREETING="say \\"hi\\" \\$USER"'
 * ```
 */
export function envFileLine(key: string, value: string): string {
  return `${key}="${value.replace(/["\\`$]/g, (c) => `\\${c}`)}"`;
}

/**
 * The unit name of service `name`: `NAME.service` when every character is
 * one a unit name may hold, else escaped as `systemd-escape` does (`\xNN`).
 * pidkit's names (`A-Z a-z 0-9 . _ -`) need no escaping, except a leading
 * `.`.
 *
 * @example
 * ```ts
 * import { serviceUnitName } from "./systemd_syntax.ts";
 * serviceUnitName("worker.2"); // "worker.2.service"
 * ```
 */
export function serviceUnitName(name: string): string {
  let out = "";
  for (const [i, ch] of [...name].entries()) {
    const plain = /^[A-Za-z0-9:_-]$/.test(ch) || (ch === "." && i > 0);
    out += plain ? ch : [...new TextEncoder().encode(ch)].map(hexEscape).join("");
  }
  return `${out}.service`;
}

function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

function cEscape(text: string): string {
  let out = "";
  for (const ch of text) {
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    else if (ch in C_ESCAPES) out += C_ESCAPES[ch];
    else if (ch < " " || ch === "\x7f") out += hexEscape(ch.charCodeAt(0));
    else out += ch;
  }
  return out;
}
