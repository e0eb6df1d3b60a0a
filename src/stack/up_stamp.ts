/**
 * The stamp a complete `up` leaves in the run directory
 * (`DIR/stack-HASH.up`, one per declaration file): what it read (the
 * file's text, the env files' contents, under pidkit's version) and the
 * hash of each service it resolved to. Resolution is a function of exactly
 * those inputs, so a later `up` that reads the same can skip validation and
 * resolution and compare the records with the stamp's hashes (see
 * quick_up.ts).
 *
 * The inputs are kept as they were read, not as a digest of them: the short
 * way compares strings, which costs nothing, where a digest costs WebCrypto's
 * first call (about 1 ms of the few `up` with nothing to do may spend). The
 * stamp is mode 0600, like the `NAME.spec` files that already hold each
 * service's resolved environment.
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

import { VERSION } from "../os/version.ts";

/**
 * What a declaration was made from, as read: how (`kind`: `"jsonc"`, or
 * `"procfile:FORMATION"`), the file's text, and each env file's path and
 * content (`null`: missing), in the order they were read.
 *
 * @example
 * ```ts
 * import type { StackSource } from "./up_stamp.ts";
 * const source: StackSource = { kind: "jsonc", text: "{}", envFiles: [["/srv/app/.env", "A=1\n"]] };
 * console.log(source.envFiles.length);
 * ```
 */
export interface StackSource {
  /** `"jsonc"`, or `"procfile:"` and the formation. */
  kind: string;
  /** The declaration file's text. */
  text: string;
  /** Each env file read: its absolute path and content (`null`: it was missing). */
  envFiles: [string, string | null][];
}

/**
 * The content of a stamp.
 *
 * @example
 * ```ts
 * import type { UpStamp } from "./up_stamp.ts";
 * const stamp: UpStamp = {
 *   version: 2, pidkit: "0.3.0", file: "/srv/app/pidkit.jsonc",
 *   source: { kind: "jsonc", text: "{}", envFiles: [] },
 *   services: [{ name: "web", hash: "3f2a..." }],
 * };
 * console.log(stamp.services.length);
 * ```
 */
export interface UpStamp {
  /** Format version: 2 (1, with a digest of the source, is no longer read). */
  version: 2;
  /** The pidkit that wrote it (another one resolves anew). */
  pidkit: string;
  /** The declaration file (absolute). */
  file: string;
  /** What the `up` read. */
  source: StackSource;
  /** Every service, in the order `up` reports them, with its resolved hash. */
  services: { name: string; hash: string }[];
}

/**
 * Whether `a` and `b` are the same source: same kind, text and env files
 * (paths, order and contents).
 *
 * @example
 * ```ts
 * import { sameSource } from "./up_stamp.ts";
 * sameSource({ kind: "jsonc", text: "{}", envFiles: [] }, { kind: "jsonc", text: "{}", envFiles: [] }); // true
 * ```
 */
export function sameSource(a: StackSource, b: StackSource): boolean {
  return a.kind === b.kind && a.text === b.text && a.envFiles.length === b.envFiles.length &&
    a.envFiles.every(([path, content], i) =>
      path === b.envFiles[i][0] && content === b.envFiles[i][1]
    );
}

/**
 * The stamp's path for declaration `file` in run directory `dir`. The name
 * comes from a cheap hash of the path (no digest on the short way): two
 * files whose names collide share a stamp, which names its file, so each
 * only finds the other's and goes the long way.
 *
 * @example
 * ```ts
 * import { upStampPath } from "./up_stamp.ts";
 * console.log(upStampPath("/run/pidkit", "/srv/app/pidkit.jsonc")); // /run/pidkit/stack-<14 hex digits>.up
 * ```
 */
export function upStampPath(dir: string, file: string): string {
  // cyrb53: two 32-bit multiplicative hashes mixed into 53 bits
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < file.length; i++) {
    const c = file.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hash = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return `${dir}/stack-${hash.toString(16).padStart(14, "0")}.up`;
}

/**
 * The stamp of `file` in `dir`, when there is a readable one of this
 * pidkit's version.
 *
 * @example
 * ```ts
 * import { readUpStamp } from "./up_stamp.ts";
 * console.log(readUpStamp("/run/pidkit", "/srv/app/pidkit.jsonc"));
 * ```
 */
export function readUpStamp(dir: string, file: string): UpStamp | undefined {
  const stamp = readJson(upStampPath(dir, file)) as Partial<UpStamp> | undefined;
  const source = stamp?.source;
  if (
    stamp?.version !== 2 || stamp.pidkit !== VERSION || stamp.file !== file ||
    typeof source?.kind !== "string" || typeof source.text !== "string" ||
    !Array.isArray(source.envFiles) ||
    !source.envFiles.every((e) =>
      Array.isArray(e) && typeof e[0] === "string" && (typeof e[1] === "string" || e[1] === null)
    ) ||
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
 *   version: 2, pidkit: "0.3.0", file: "/srv/app/pidkit.jsonc",
 *   source: { kind: "jsonc", text: "{}", envFiles: [] }, services: [],
 * });
 * ```
 */
export async function writeUpStamp(dir: string, stamp: UpStamp): Promise<void> {
  const { writeFileAtomic } = await import("../os/atomic_write.ts");
  await writeFileAtomic(upStampPath(dir, stamp.file), JSON.stringify(stamp) + "\n", {
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
    await Deno.remove(upStampPath(dir, file));
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
