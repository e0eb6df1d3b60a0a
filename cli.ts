#!/usr/bin/env -S deno run -A
/**
 * The `pidkit` command line: start, run, stop, restart, status, list, ps,
 * logs, signal and wait for supervised services and PID files.
 *
 * Run it with `deno run -A jsr:@pidkit/pidkit/cli --help`, install it with
 * `deno install -g -A -n pidkit jsr:@pidkit/pidkit/cli`, or compile it with
 * `deno task compile`.
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
