/**
 * What `up` last applied to a service, kept beside its record as
 * `DIR/NAME.spec` (mode 0600: the environment's values may be secrets, and
 * the record is readable by others): the resolved command and launch
 * options, so that the next `up` can name what changed. The record's
 * `origin.hash` stays the truth; a spec whose hash differs is ignored.
 *
 * @module
 */

import type { HashedSpec } from "./service_hash.ts";

/**
 * The file `up` keeps service `name`'s applied spec in.
 *
 * @example
 * ```ts
 * import { specPath } from "./applied_spec.ts";
 * specPath("/run/pidkit", "web"); // "/run/pidkit/web.spec"
 * ```
 */
export function specPath(dir: string, name: string): string {
  return `${dir}/${name}.spec`;
}

/**
 * The spec `up` applied to `name` with hash `hash`, or `undefined` when
 * there is none, it is unreadable, or it is of another hash.
 *
 * @example
 * ```ts
 * import { readAppliedSpec } from "./applied_spec.ts";
 * console.log(await readAppliedSpec("/tmp/pidkit-example", "web", "3f2a..."));
 * ```
 */
export async function readAppliedSpec(
  dir: string,
  name: string,
  hash: string,
): Promise<HashedSpec | undefined> {
  try {
    const value = JSON.parse(await Deno.readTextFile(specPath(dir, name)));
    if (value?.hash !== hash || !Array.isArray(value.command)) return undefined;
    if (typeof value.launch !== "object" || value.launch === null) return undefined;
    return { command: value.command, launch: value.launch };
  } catch {
    return undefined;
  }
}

/**
 * Keep `spec` (with its hash) as what `up` applied to `name`.
 *
 * @example
 * ```ts
 * import { writeAppliedSpec } from "./applied_spec.ts";
 * await writeAppliedSpec("/tmp/pidkit-example", "web", "3f2a...", { command: ["sleep", "60"], launch: {} });
 * ```
 */
export async function writeAppliedSpec(
  dir: string,
  name: string,
  hash: string,
  spec: HashedSpec,
): Promise<void> {
  const { writeFileAtomic } = await import("../os/atomic_write.ts");
  const text = JSON.stringify({ hash, command: spec.command, launch: spec.launch }) + "\n";
  await writeFileAtomic(specPath(dir, name), text, { mode: 0o600, durable: false });
}

/**
 * Forget what `up` applied to `name` (it was stopped by `up` or `down`).
 *
 * @example
 * ```ts
 * import { removeAppliedSpec } from "./applied_spec.ts";
 * await removeAppliedSpec("/tmp/pidkit-example", "web");
 * ```
 */
export async function removeAppliedSpec(dir: string, name: string): Promise<void> {
  try {
    await Deno.remove(specPath(dir, name));
  } catch { /* none */ }
}
