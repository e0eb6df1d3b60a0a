/**
 * Procfile mode, as foreman reads one: `name: command` lines, each command
 * run through `sh -c`; a formation (`web=2,worker=3`, `all=N`) gives the
 * instance counts; `PORT` is set as foreman sets it: the base (`.env`'s
 * `PORT`, else 5000) + 100 x the entry's index + the instance's index.
 * As in foreman, once a formation is given, the entries it does not name
 * get 0 instances unless it has `all=N` (they still hold their block of
 * ports); they are listed in `skipped`.
 *
 * @module
 */

import type { StackDeclaration, ValidService } from "./declaration.ts";
import { StackError } from "./stack_error.ts";
import { validateName } from "../service/model/run_dir.ts";

/**
 * foreman's default `PORT` base.
 *
 * @example
 * ```ts
 * import { PROCFILE_PORT_BASE } from "./procfile.ts";
 * console.log(PROCFILE_PORT_BASE); // 5000
 * ```
 */
export const PROCFILE_PORT_BASE = 5000;

/**
 * Options of {@linkcode parseProcfile}.
 *
 * @example
 * ```ts
 * import type { ProcfileOptions } from "./procfile.ts";
 * const options: ProcfileOptions = { formation: "web=2,worker=3", env: { PORT: "3000" } };
 * console.log(options);
 * ```
 */
export interface ProcfileOptions {
  /** The Procfile's path (for errors and for the declaration's `file`). */
  file?: string;
  /** Instance counts: `"web=2,worker=3"`, `"all=2"`, or a record. */
  formation?: string | Record<string, number>;
  /** The variables of `.env` (given to every entry; its `PORT` is the base). */
  env?: Record<string, string>;
  /** The `PORT` base (default `env.PORT`, else 5000). */
  port?: number;
}

/**
 * A Procfile as a declaration, and the entries a formation left at 0.
 *
 * @example
 * ```ts
 * import type { ProcfileDeclaration } from "./procfile.ts";
 * const d: ProcfileDeclaration = { declaration: { services: [] }, skipped: ["release"] };
 * console.log(d.skipped);
 * ```
 */
export interface ProcfileDeclaration {
  /** One service per entry with at least one instance, numbered `NAME.1`.... */
  declaration: StackDeclaration;
  /** Entries with 0 instances in the formation. */
  skipped: string[];
}

/**
 * Parse a formation: `web=2,worker=3`, `all=1`. Throws
 * {@linkcode StackError} for a malformed item.
 *
 * @example
 * ```ts
 * import { parseFormation } from "./procfile.ts";
 * parseFormation("web=2,worker=0"); // { web: 2, worker: 0 }
 * ```
 */
export function parseFormation(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^([A-Za-z0-9_-]+)=(\d{1,4})$/.exec(item);
    if (!m) throw new StackError("value", "formation", `bad item '${item}' (use NAME=N, all=N)`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Parse a Procfile. A line that is not blank, not a `#` comment and not
 * `name: command` (a name of letters, digits, `_` and `-`) throws
 * {@linkcode StackError} (`reason: "procfile"`) with its line number, as
 * does a name given twice or a Procfile without entries.
 *
 * @example
 * ```ts
 * import { parseProcfile } from "./procfile.ts";
 * const { declaration } = parseProcfile(
 *   "web: deno run -A server.ts\nworker: deno run -A worker.ts\n",
 *   { formation: "web=2,worker=1" },
 * );
 * console.log(declaration.services.map((s) => [s.name, s.instances, s.port]));
 * // [["web", 2, 5000], ["worker", 1, 5100]]
 * ```
 */
export function parseProcfile(text: string, options: ProcfileOptions = {}): ProcfileDeclaration {
  const file = options.file ?? "Procfile";
  const entries: { name: string; command: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const fail = (detail: string): never => {
      throw new StackError("procfile", "", detail, { file, line: i + 1 });
    };
    const m = /^([A-Za-z0-9_-]+):\s*(.*\S)\s*$/.exec(line);
    if (!m) fail(`expected 'name: command', got '${line.trim()}'`);
    const [, name, command] = m!;
    if (entries.some((e) => e.name === name)) fail(`'${name}' is declared twice`);
    try {
      validateName(`${name}.1000`);
    } catch (err) {
      fail((err as Error).message);
    }
    entries.push({ name, command });
  });
  if (entries.length === 0) throw new StackError("procfile", "", "no entries", { file });
  const formation = typeof options.formation === "string"
    ? parseFormation(options.formation)
    : options.formation;
  for (const name of Object.keys(formation ?? {})) {
    if (name !== "all" && !entries.some((e) => e.name === name)) {
      throw new StackError("value", "formation", `'${name}' is not an entry of ${file}`);
    }
  }
  const envPort = options.env?.PORT !== undefined && /^\d+$/.test(options.env.PORT)
    ? Number(options.env.PORT)
    : undefined;
  const base = options.port ?? envPort ?? PROCFILE_PORT_BASE;
  const services: ValidService[] = [];
  const skipped: string[] = [];
  entries.forEach((e, index) => {
    const count = formation === undefined ? 1 : formation[e.name] ?? formation.all ?? 0;
    if (count === 0) {
      skipped.push(e.name);
      return;
    }
    services.push({
      name: e.name,
      cmd: e.command,
      env: { ...options.env },
      envFile: [],
      dependsOn: [],
      instances: count,
      autostart: true,
      port: base + 100 * index,
      launch: {},
    });
  });
  return {
    declaration: { ...(options.file !== undefined ? { file: options.file } : {}), services },
    skipped,
  };
}
