/**
 * The option specs of `--exec`, `--name` and `--user` (status, stop, wait),
 * for the command table. Apart from identity_options.ts, which checks them
 * with the process-identity readers: the table is loaded by every command,
 * those readers only by the three that take the options.
 *
 * @module
 */

import type { OptionSpec } from "./spec.ts";

/** The option specs, for the command table. */
export const IDENTITY_OPTIONS: Record<string, OptionSpec> = {
  exec: {
    type: "string",
    valueName: "PATH",
    description: "with --pidfile: the process must run this executable (same file)",
  },
  name: {
    type: "string",
    valueName: "NAME",
    description: "with --pidfile: the process's command name (comm) must be NAME",
  },
  user: {
    type: "string",
    valueName: "USER",
    description: "with --pidfile: the process must run as USER (name or uid)",
  },
};
