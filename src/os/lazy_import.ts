/**
 * Loading a module only when it is needed (a command, or a rarely taken path).
 *
 * Deno reads every module it can see in the graph at start-up, dynamic
 * imports with a literal specifier included: with `import("./start.ts")` for
 * every command, `pidkit status` read all ~90 modules of the CLI (the
 * supervisor's too) before doing anything, about 0.2 ms each. A specifier
 * built at run time is invisible to that walk, so a command reads only its
 * own graph (42 modules for `status`).
 *
 * The price: `deno compile` must be told to embed these modules
 * (`--include src/`, as `deno task compile` does), `deno publish` warns that
 * it cannot analyze them (they are relative and resolve at run time from
 * wherever pidkit is loaded, a file or a JSR URL), and `deno check cli.ts`
 * does not reach them (`deno task check` checks `src/` too).
 *
 * @module
 */

/**
 * Import the module at `path`, relative to `base` (an `import.meta.url`),
 * hidden from Deno's start-up graph walk.
 *
 * @example
 * ```ts
 * import { lazyImport } from "./lazy_import.ts";
 * const { VERSION } = await lazyImport<typeof import("./version.ts")>("./version.ts", import.meta.url);
 * console.log(VERSION);
 * ```
 */
export function lazyImport<T>(path: string, base: string): Promise<T> {
  return import(new URL(path, base).href);
}
