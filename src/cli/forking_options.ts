/**
 * `--forking` and `--main-pidfile FILE` of `start` and `run` (their start-up
 * is bounded by `--ready-timeout`, a readiness option): their specs, for the
 * command table; parsed and checked in src/service/control/supervisor_config.ts.
 *
 * @module
 */

import type { OptionSpec } from "./spec.ts";

/** The option specs, for the command table. */
export const FORKING_OPTIONS: Record<string, OptionSpec> = {
  forking: {
    type: "boolean",
    description: "CMD forks a daemon and exits 0 (systemd Type=forking); that is start-up",
  },
  "main-pidfile": {
    type: "string",
    valueName: "FILE",
    description: "with --forking: the daemon's own PID file, naming the main process",
  },
};
