/**
 * pidkit's version, read from `deno.json` so there is one source of truth.
 *
 * @module
 */

import config from "../../deno.json" with { type: "json" };

/**
 * The version of this pidkit release, e.g. `"0.1.0"`.
 *
 * @example
 * ```ts
 * import { VERSION } from "@pidkit/pidkit";
 * console.log(`pidkit ${VERSION}`);
 * ```
 */
export const VERSION: string = config.version;
