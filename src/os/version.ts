/**
 * pidkit's version. A constant, not an import of `deno.json`: that JSON
 * module costs every command that reports the version (and `up`, whose
 * stamp names it) a module read at start-up. A test keeps it equal to
 * `deno.json`'s `version`, the one JSR publishes.
 *
 * @module
 */

/**
 * The version of this pidkit release, e.g. `"0.1.0"`.
 *
 * @example
 * ```ts
 * import { VERSION } from "@pidkit/pidkit";
 * console.log(`pidkit ${VERSION}`);
 * ```
 */
export const VERSION: string = "0.2.0";
