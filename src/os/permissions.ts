/**
 * The service API needs every permission (it reads `/proc`, which a scoped
 * `--allow-read` cannot, starts pidkit's supervisor, reads the environment,
 * calls libc through FFI): checked once, up front, so a caller with scoped
 * permissions gets one error listing what is missing instead of a raw
 * `NotCapable` for one permission at a time.
 *
 * @module
 */

import { PidkitError } from "./errors.ts";

const NEEDED = ["read", "write", "run", "env", "sys", "ffi"] as const;

let granted = false;

/**
 * Throw {@linkcode PidkitError} naming `what` and every permission that is
 * not granted in full (`-A` grants them all); return quietly otherwise.
 *
 * @example
 * ```ts
 * import { requireAllPermissions } from "./permissions.ts";
 * requireAllPermissions("startService"); // throws without -A
 * ```
 */
export function requireAllPermissions(what: string): void {
  if (granted) return;
  const missing = NEEDED.filter((name) => Deno.permissions.querySync({ name }).state !== "granted");
  if (missing.length > 0) {
    throw new PidkitError(
      `${what} needs all permissions: run Deno with -A (missing ${
        missing.map((n) => `--allow-${n}`).join(", ")
      }; a scoped --allow-read cannot read /proc)`,
    );
  }
  granted = true;
}
