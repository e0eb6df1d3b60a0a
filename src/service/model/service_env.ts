/**
 * The `--env` values of a named service, kept in `DIR/NAME.env` (mode
 * 0600, only the supervisor's user and root read it): they may hold
 * secrets, so the state file everyone may read (`NAME.json`, 0644) lists
 * only their names. `restart` and a supervisor adopting the service read
 * the values here.
 *
 * @module
 */

import { FileError } from "../../os/errors.ts";

/**
 * Write (or, for no values, remove) the environment file `path`
 * atomically, mode 0600.
 *
 * @example
 * ```ts
 * import { readServiceEnv, writeServiceEnv } from "./service_env.ts";
 * const dir = await Deno.makeTempDir();
 * await writeServiceEnv(`${dir}/web.env`, { TOKEN: "s3cret" });
 * console.log(readServiceEnv(`${dir}/web.env`)); // { TOKEN: "s3cret" }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeServiceEnv(path: string, env: Record<string, string>): Promise<void> {
  if (Object.keys(env).length === 0) {
    await Deno.remove(path).catch(() => {});
    return;
  }
  const { writeFileAtomic } = await import("../../os/atomic_write.ts");
  await writeFileAtomic(path, JSON.stringify(env) + "\n", { mode: 0o600, durable: false });
}

/**
 * Read the environment file `path`: `undefined` when there is none;
 * {@linkcode FileError} when it cannot be read (reason `"permission"`)
 * or is not an object of strings (`"bad-content"`).
 *
 * @example
 * ```ts
 * import { readServiceEnv } from "./service_env.ts";
 * console.log(readServiceEnv("/run/pidkit/web.env") ?? "no --env values");
 * ```
 */
export function readServiceEnv(path: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new FileError(path, "permission", `cannot read ${path}: permission denied`);
    }
    throw new FileError(path, "io", `cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch { /* below */ }
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    Object.values(value).some((v) => typeof v !== "string")
  ) {
    throw new FileError(path, "bad-content", `${path} is not a pidkit environment file`);
  }
  return value as Record<string, string>;
}
