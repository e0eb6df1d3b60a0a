#!/usr/bin/env -S deno run -A --unstable-lazy-dynamic-imports
/**
 * The `pidkit` command line: start, run, stop, restart, status, list, ps,
 * logs, signal, wait and supervise services and PID files.
 *
 * Three ways to run it (docs/install.md, "Ways to run it"):
 * - from a checkout: `deno run -A --unstable-lazy-dynamic-imports cli.ts --help`;
 * - installed: `deno install -g -A --unstable-lazy-dynamic-imports -n pidkit
 *   jsr:@pidkit/pidkit/cli`, then `pidkit --help`: everything any command
 *   needs is cached at install time, so it works offline afterwards;
 * - compiled: `deno compile -A -o pidkit jsr:@pidkit/pidkit/cli` (or
 *   `deno task compile` in a checkout): one binary with every module in it.
 *
 * Each command's modules are imported when it runs, with literal specifiers
 * that install, compile, publish and check all see. The flag only keeps
 * `deno run` from reading the other commands' modules at start-up (faster;
 * everything works without it).
 *
 * @example
 * ```sh
 * pidkit start web -- deno run -A server.ts
 * pidkit status web
 * pidkit stop web
 * ```
 *
 * @module
 */

import { main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
