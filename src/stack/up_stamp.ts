/**
 * The stamp a complete `up` leaves in the run directory
 * (`DIR/stack-HASH.up`, one per declaration file): the fingerprint of what
 * it read (the file's text, the env files' contents, pidkit's version) and
 * the hash of each service it resolved to. Resolution is a function of
 * exactly those inputs, so a later `up` whose fingerprint matches can skip
 * validation and resolution and compare the records with the stamp's
 * hashes (see quick_up.ts).
 *
 * Every `up` of the file into the directory removes the stamp before it
 * changes anything and writes it again only when it has brought every
 * declared service up and stopped every one no longer declared; `down`
 * removes it. A stamp therefore also says that nothing of this file runs
 * in the directory beyond what it lists.
 *
 * This module is on the path of `up` with nothing to do: it imports
 * nothing heavy.
 *
 * @module
 */

import { sha256Hex } from "../os/sha256.ts";
import { VERSION } from "../os/version.ts";

/**
 * The content of a stamp.
 *
 * @example
 * ```ts
 * import type { UpStamp } from "./up_stamp.ts";
 * const stamp: UpStamp = {
 *   version: 1, pidkit: "0.3.0", file: "/srv/app/pidkit.jsonc", fingerprint: "9f2c...",
 *   envFiles: [], services: [{ name: "web", hash: "3f2a..." }],
 * };
 * console.log(stamp.services.length);
 * ```
 */
export interface UpStamp {
  /** Format version: 1. */
  version: 1;
  /** The pidkit that wrote it (another one resolves anew). */
  pidkit: string;
  /** The declaration file (absolute). */
  file: string;
  /** {@linkcode stackFingerprint} of what the `up` read. */
  fingerprint: string;
  /** The env files resolution read (absolute), in the fingerprint's order. */
  envFiles: string[];
  /** Every service, in the order `up` reports them, with its resolved hash. */
  services: { name: string; hash: string }[];
}

/**
 * The fingerprint of a declaration as read: SHA-256 over pidkit's version,
 * how the file was read (`kind`), its path and text, and each env file's
 * path and content (`null`: missing).
 *
 * @example
 * ```ts
 * import { stackFingerprint } from "./up_stamp.ts";
 * const f = await stackFingerprint("jsonc", "/srv/app/pidkit.jsonc", "{}", [["/srv/app/.env", "A=1\n"]]);
 * console.log(f.length); // 64
 * ```
 */
export async function stackFingerprint(
  kind: string,
  file: string,
  text: string,
  envFiles: readonly (readonly [string, string | null])[],
): Promise<string> {
  const parts = [VERSION, kind, file, text];
  for (const [path, content] of envFiles) parts.push(path, content === null ? "\u0001" : content);
  return await sha256Hex(parts.join("\u0000"));
}

/**
 * The stamp's path for declaration `file` in run directory `dir`.
 *
 * @example
 * ```ts
 * import { upStampPath } from "./up_stamp.ts";
 * console.log(await upStampPath("/run/pidkit", "/srv/app/pidkit.jsonc")); // /run/pidkit/stack-<16 hex digits>.up
 * ```
 */
export async function upStampPath(dir: string, file: string): Promise<string> {
  return `${dir}/stack-${(await sha256Hex(file)).slice(0, 16)}.up`;
}

/**
 * The stamp of `file` in `dir`, when there is a readable one of this
 * pidkit's version.
 *
 * @example
 * ```ts
 * import { readUpStamp } from "./up_stamp.ts";
 * console.log(await readUpStamp("/run/pidkit", "/srv/app/pidkit.jsonc"));
 * ```
 */
export async function readUpStamp(dir: string, file: string): Promise<UpStamp | undefined> {
  const stamp = readJson(await upStampPath(dir, file)) as Partial<UpStamp> | undefined;
  if (
    stamp?.version !== 1 || stamp.pidkit !== VERSION || stamp.file !== file ||
    typeof stamp.fingerprint !== "string" || !Array.isArray(stamp.envFiles) ||
    !Array.isArray(stamp.services) ||
    !stamp.services.every((s) => typeof s?.name === "string" && typeof s.hash === "string")
  ) return undefined;
  return stamp as UpStamp;
}

/**
 * Write the stamp (atomically, mode 0600).
 *
 * @example
 * ```ts
 * import { writeUpStamp } from "./up_stamp.ts";
 * await writeUpStamp("/tmp/pidkit-example", {
 *   version: 1, pidkit: "0.3.0", file: "/srv/app/pidkit.jsonc", fingerprint: "9f2c",
 *   envFiles: [], services: [],
 * });
 * ```
 */
export async function writeUpStamp(dir: string, stamp: UpStamp): Promise<void> {
  const { writeFileAtomic } = await import("../os/atomic_write.ts");
  await writeFileAtomic(await upStampPath(dir, stamp.file), JSON.stringify(stamp) + "\n", {
    mode: 0o600,
    durable: false,
  });
}

/**
 * Remove the stamp of `file` in `dir`, if any.
 *
 * @example
 * ```ts
 * import { removeUpStamp } from "./up_stamp.ts";
 * await removeUpStamp("/tmp/pidkit-example", "/srv/app/pidkit.jsonc");
 * ```
 */
export async function removeUpStamp(dir: string, file: string): Promise<void> {
  try {
    await Deno.remove(await upStampPath(dir, file));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}
