/**
 * Where the run directory supervisor's read-only HTTP server listens, and
 * how a background supervisor knows to turn it on: the light part, loaded
 * by every supervisor and by `pidkit start --http` (the server itself,
 * supervisor_http.ts, is loaded only when it serves).
 *
 * - `pidkit supervise --http HOST:PORT` serves while that supervisor runs.
 * - `pidkit start --http HOST:PORT ...` (or a supervisor asked with the
 *   `http` request) records the address in `DIR/supervisor.http` (one line,
 *   `HOST:PORT`): every supervisor of the directory started later in the
 *   background serves it too (one that cannot bind it says so in
 *   `DIR/supervisor.journal` and supervises anyway). Remove the file to
 *   turn it off for the next supervisor.
 *
 * A bare `:PORT` binds 127.0.0.1; nothing binds another address unless
 * told.
 *
 * @module
 */

import { join } from "node:path";
import { PidkitError, UsageError } from "../../os/errors.ts";
import { writeFileAtomic } from "../../os/atomic_write.ts";
import { parseHostPort } from "../readiness/readiness.ts";

/**
 * Where the HTTP server listens.
 *
 * @example
 * ```ts
 * import type { HttpAddress } from "./http_config.ts";
 * const at: HttpAddress = { hostname: "127.0.0.1", port: 9464 };
 * ```
 */
export interface HttpAddress {
  /** The address to bind (127.0.0.1 unless told). */
  hostname: string;
  /** The TCP port, 1 to 65535. */
  port: number;
}

/**
 * `HOST:PORT` (`[::1]:PORT` for IPv6, `:PORT` for 127.0.0.1) as an
 * address; {@linkcode UsageError} naming `what` when malformed.
 *
 * @example
 * ```ts
 * import { parseHttpAddress } from "./http_config.ts";
 * console.log(parseHttpAddress(":9464")); // { hostname: "127.0.0.1", port: 9464 }
 * ```
 */
export function parseHttpAddress(text: string, what = "--http"): HttpAddress {
  const at = parseHostPort(text.trim());
  if (at === undefined) {
    throw new UsageError(
      `bad ${what} '${text}' (use HOST:PORT, e.g. 127.0.0.1:9464, or :PORT for 127.0.0.1)`,
    );
  }
  return at;
}

/**
 * An address as `HOST:PORT` text (IPv6 in brackets).
 *
 * @example
 * ```ts
 * import { formatHttpAddress } from "./http_config.ts";
 * console.log(formatHttpAddress({ hostname: "::1", port: 80 })); // [::1]:80
 * ```
 */
export function formatHttpAddress(at: HttpAddress): string {
  return `${at.hostname.includes(":") ? `[${at.hostname}]` : at.hostname}:${at.port}`;
}

/**
 * `DIR/supervisor.http`: the address background supervisors serve.
 *
 * @example
 * ```ts
 * import { httpConfigPath } from "./http_config.ts";
 * console.log(httpConfigPath("/run/pidkit")); // /run/pidkit/supervisor.http
 * ```
 */
export function httpConfigPath(dir: string): string {
  return join(dir, "supervisor.http");
}

/**
 * The address `DIR/supervisor.http` records; `undefined` when there is
 * none; {@linkcode UsageError} when it does not read as one.
 *
 * @example
 * ```ts
 * import { readHttpConfig } from "./http_config.ts";
 * console.log(readHttpConfig("/tmp/pidkit-example") ?? "off");
 * ```
 */
export function readHttpConfig(dir: string): HttpAddress | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(httpConfigPath(dir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new PidkitError(`cannot read ${httpConfigPath(dir)}: ${(err as Error).message}`);
  }
  return parseHttpAddress(text, httpConfigPath(dir));
}

/**
 * Record `at` in `DIR/supervisor.http` (atomically, mode 0644).
 *
 * @example
 * ```ts
 * import { writeHttpConfig } from "./http_config.ts";
 * await writeHttpConfig("/tmp/pidkit-example", { hostname: "127.0.0.1", port: 9464 });
 * ```
 */
export async function writeHttpConfig(dir: string, at: HttpAddress): Promise<void> {
  await writeFileAtomic(httpConfigPath(dir), `${formatHttpAddress(at)}\n`, { mode: 0o644 });
}

/**
 * Throw {@linkcode PidkitError} (one line) when `at` cannot be bound now:
 * checked before anything is created or started (the supervisor binds it
 * a moment later, and says so itself if it lost it meanwhile).
 *
 * @example
 * ```ts
 * import { checkBindable } from "./http_config.ts";
 * checkBindable({ hostname: "127.0.0.1", port: 9464 });
 * ```
 */
export function checkBindable(at: HttpAddress): void {
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: at.hostname, port: at.port });
  } catch (err) {
    throw new PidkitError(bindError(at, err));
  }
  listener.close();
}

/**
 * One line for an address that cannot be bound.
 *
 * @example
 * ```ts
 * import { bindError } from "./http_config.ts";
 * console.log(bindError({ hostname: "127.0.0.1", port: 80 }, new Deno.errors.AddrInUse("x")));
 * ```
 */
export function bindError(at: HttpAddress, err: unknown): string {
  const where = formatHttpAddress(at);
  if (err instanceof Deno.errors.AddrInUse) {
    return `cannot serve http on ${where}: the port is in use`;
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    return `cannot serve http on ${where}: no such address on this host`;
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return `cannot serve http on ${where}: permission denied (ports below 1024 need root)`;
  }
  const text = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return `cannot serve http on ${where}: ${text}`;
}
