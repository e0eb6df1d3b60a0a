/**
 * Resolution of a validated declaration into the services `up` runs: paths
 * made absolute against the file's directory, env files read (`env` wins
 * over them), instances expanded to `NAME.1` ... `NAME.N` with
 * `PIDKIT_INSTANCE`, a string `cmd` run through `sh -c`, and each result
 * hashed for change detection.
 *
 * @module
 */

import { absolutePath, parentDir } from "../os/paths.ts";
import type { LaunchOptions } from "../service/control/supervisor_config.ts";
import type { StackDeclaration, ValidService } from "./declaration.ts";
import { parseEnvFile } from "./env_file.ts";
import { SERVICE_FIELDS } from "./fields.ts";
import { instanceNames } from "./instances.ts";
import { specHash } from "./service_hash.ts";
import { joinPath, StackError } from "./stack_error.ts";
import type { StackSource } from "./up_stamp.ts";

/**
 * A service as `up` starts it: the name it runs under, its argv and the
 * launch options to give the service API, ready to compare and to start.
 *
 * @example
 * ```ts
 * import type { ResolvedService } from "./resolve.ts";
 * const s: ResolvedService = {
 *   name: "worker.2", declared: "worker", instance: 2,
 *   command: ["/bin/sh", "-c", "deno run -A worker.ts"],
 *   launch: { cwd: "/srv/app", env: { PIDKIT_INSTANCE: "2" } },
 *   dependsOn: [], autostart: true, hash: "...",
 * };
 * console.log(s.name);
 * ```
 */
export interface ResolvedService {
  /** The name it runs under (`worker.2`, or the declared name). */
  name: string;
  /** The declared name (`worker`). */
  declared: string;
  /** Its instance number, when the service declares `instances`. */
  instance?: number;
  /** The argv: `cmd` as given, or `["/bin/sh", "-c", cmd]` for a string. */
  command: string[];
  /** Launch options: absolute paths, `cwd` (default the file's directory), the whole `env`. */
  launch: LaunchOptions & { cwd: string; env: Record<string, string> };
  /** The declared names it needs ready first. */
  dependsOn: string[];
  /** Whether `up` without names starts it. */
  autostart: boolean;
  /** {@linkcode specHash} of `command` and `launch`. */
  hash: string;
}

/**
 * A resolved declaration.
 *
 * @example
 * ```ts
 * import type { ResolvedStack } from "./resolve.ts";
 * const stack: ResolvedStack = { file: "/srv/app/pidkit.jsonc", base: "/srv/app", services: [] };
 * console.log(stack.base);
 * ```
 */
export interface ResolvedStack {
  /** The declaration file's absolute path, when it came from one. */
  file?: string;
  /** The directory relative paths were resolved against. */
  base: string;
  /** The run directory, absolute, when the file names one. */
  dir?: string;
  /** Every service instance, in declaration order. */
  services: ResolvedService[];
  /**
   * What was read to make it (the file's text, its env files' contents),
   * when `loadStack` read it from a file: `up` keeps it in the run
   * directory to recognise the same file later without resolving it again.
   */
  source?: StackSource;
}

/**
 * Options of {@linkcode resolveStack}.
 *
 * @example
 * ```ts
 * import type { ResolveOptions } from "./resolve.ts";
 * const options: ResolveOptions = { base: "/srv/app", readTextFile: () => "A=1\n" };
 * console.log(options.base);
 * ```
 */
export interface ResolveOptions {
  /** The directory relative paths are resolved against (default: the file's, else the working directory). */
  base?: string;
  /** Reads an env file (default `Deno.readTextFileSync`); tests pass their own. */
  readTextFile?: (path: string) => string;
}

/**
 * Resolve a validated declaration. Throws {@linkcode StackError}
 * (`reason: "env-file"`) for an env file that is missing, unreadable or
 * malformed.
 *
 * @example
 * ```ts
 * import { resolveStack } from "./resolve.ts";
 * import { validateStack } from "./validate.ts";
 * const stack = await resolveStack(
 *   validateStack({ services: { worker: { cmd: "deno run -A worker.ts", instances: 2 } } }),
 *   { base: "/srv/app" },
 * );
 * console.log(stack.services.map((s) => s.name)); // ["worker.1", "worker.2"]
 * ```
 */
export async function resolveStack(
  declaration: StackDeclaration,
  options: ResolveOptions = {},
): Promise<ResolvedStack> {
  const base = options.base ??
    (declaration.file !== undefined ? parentDir(absolutePath(declaration.file)) : Deno.cwd());
  const read = options.readTextFile ?? ((path: string) => Deno.readTextFileSync(path));
  const services: Omit<ResolvedService, "hash">[] = [];
  for (const s of declaration.services) {
    const launch = resolvePaths(s.launch, base);
    const fileEnv = readEnvFiles(s, base, read);
    const names = instanceNames(s);
    for (const [i, name] of names.entries()) {
      const instance = s.instances === undefined ? undefined : i + 1;
      const env: Record<string, string> = { ...fileEnv, ...s.env };
      if (instance !== undefined) env.PIDKIT_INSTANCE = String(instance);
      if (s.port !== undefined) env.PORT = String(s.port + i);
      const command = typeof s.cmd === "string" ? ["/bin/sh", "-c", s.cmd] : [...s.cmd];
      const full = { ...launch, cwd: launch.cwd ?? base, env };
      services.push({
        name,
        declared: s.name,
        ...(instance !== undefined ? { instance } : {}),
        command,
        launch: full,
        dependsOn: [...s.dependsOn],
        autostart: s.autostart,
      });
    }
  }
  // every digest at once: one await per service costs more than the hashing
  const hashes = await Promise.all(services.map(specHash));
  return {
    ...(declaration.file !== undefined ? { file: absolutePath(declaration.file) } : {}),
    base,
    ...(declaration.dir !== undefined ? { dir: absolutePath(declaration.dir, base) } : {}),
    services: services.map((s, i) => ({ ...s, hash: hashes[i] })),
  };
}

/** The launch options with every path field made absolute against `base`. */
function resolvePaths(launch: LaunchOptions, base: string): LaunchOptions {
  const out: Record<string, unknown> = { ...launch };
  for (const f of SERVICE_FIELDS) {
    if (f.path && f.launch && typeof out[f.launch] === "string") {
      out[f.launch] = absolutePath(out[f.launch] as string, base);
    }
  }
  return out as LaunchOptions;
}

/** The variables of the service's env files, later files winning. */
function readEnvFiles(
  s: ValidService,
  base: string,
  read: (path: string) => string,
): Record<string, string> {
  const path = joinPath(joinPath("services", s.name), "envFile");
  let env: Record<string, string> = {};
  for (const file of s.envFile) {
    const abs = absolutePath(file, base);
    let text: string;
    try {
      text = read(abs);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      throw new StackError("env-file", path, `cannot read env file: ${why}`, { file: abs });
    }
    env = { ...env, ...parseEnvFile(text, abs, path) };
  }
  return env;
}
