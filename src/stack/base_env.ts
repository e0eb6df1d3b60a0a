/**
 * The environment a declared service starts from: a small documented base
 * taken from whoever runs `up` (PATH, HOME, USER, LOGNAME, SHELL, LANG,
 * LANGUAGE, LC_*, TZ, TMPDIR), never the rest of it, so that a service runs
 * the same whether `up` ran in a shell or `supervise --config` under
 * systemd. The file's `env` and env files come on top; none of this is
 * hashed, so a different shell never restarts anything.
 *
 * @module
 */

/** The variables passed on by name. */
const BASE_VARS = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR"];

/** PATH when the caller has none (systemd's default for services). */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The base environment of declared services, from `env` (default this
 * process's).
 *
 * @example
 * ```ts
 * import { baseEnvironment } from "./base_env.ts";
 * baseEnvironment({ PATH: "/bin", SECRET: "x", LC_ALL: "C" }); // { PATH: "/bin", LC_ALL: "C" }
 * ```
 */
export function baseEnvironment(
  env: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (BASE_VARS.includes(k) || k.startsWith("LC_")) out[k] = v;
  }
  out.PATH ??= DEFAULT_PATH;
  return out;
}
