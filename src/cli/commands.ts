/**
 * The CLI surface: every command with its usage, options and help. This
 * table (with each command's paragraph of help in command_help.ts) is the
 * single source for `--help`, `pidkit help COMMAND`, argument parsing and
 * the test that keeps `docs/pidkit.1` in step.
 *
 * @module
 */

import type { CommandSpec, OptionSpec } from "./spec.ts";
import { IDENTITY_OPTIONS } from "./identity_specs.ts";

/**
 * `--forking` and `--main-pidfile FILE` of `start` and `run` (their start-up
 * is bounded by `--ready-timeout`, a readiness option); parsed and checked in
 * src/service/control/supervisor_config.ts. Here, not in a module of its
 * own: every command reads this one at start-up, and each module more costs
 * every command a few tenths of a millisecond.
 */
const FORKING_OPTIONS: Record<string, OptionSpec> = {
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

const dir: OptionSpec = {
  type: "string",
  valueName: "DIR",
  description:
    "run directory (default: $PIDKIT_DIR, $XDG_RUNTIME_DIR/pidkit, /run/pidkit for root, else $TMPDIR/pidkit-UID)",
};
const json: OptionSpec = {
  type: "boolean",
  description: "print JSON instead of text (errors too, on stderr)",
};
const pidfile: OptionSpec = {
  type: "string",
  valueName: "FILE",
  description: "act on this PID file instead of a named service",
};
const retry: OptionSpec = {
  type: "string",
  valueName: "SCHEDULE",
  description: "stop schedule SIG/SECS/SIG/SECS..., N, or forever (default TERM/10/KILL/5)",
};
const requestTimeout: OptionSpec = {
  type: "string",
  valueName: "DURATION",
  description:
    "wait at most this long for the supervisor's answer (default: the schedule or ready timeout plus 10s)",
};
/** `--http HOST:PORT`: the supervisor's read-only HTTP server (supervise, start). */
const http: OptionSpec = {
  type: "string",
  valueName: "HOST:PORT",
  description:
    "serve /metrics, /api/services and a live status page, read-only, here (:PORT binds 127.0.0.1)",
};
/** `-c FILE`: the declaration of up, down, check, supervise and startup. */
const config: OptionSpec = {
  type: "string",
  short: "c",
  valueName: "FILE",
  description: "the declaration file (default ./pidkit.jsonc, ./pidkit.json, ./Procfile)",
};
const procfile: OptionSpec = {
  type: "string",
  valueName: "FILE",
  description: "read FILE as a Procfile (name: command lines, .env beside it, foreman's PORT)",
};
const formation: OptionSpec = {
  type: "string",
  valueName: "NAME=N,...",
  description: "Procfile instance counts, e.g. web=2,worker=3 or all=2",
};
/** The declaration and run directory options up and down share. */
const declaration = {
  config,
  procfile,
  formation,
  dir: { ...dir, description: "run directory (default: the file's dir, $PIDKIT_DIR, ...)" },
};
/** Options shared by `start` and `run`, which both launch a supervised service. */
const launchOptions: Record<string, OptionSpec> = {
  dir,
  pidfile: { ...pidfile, description: "PID file to hold (default DIR/NAME.pid)" },
  log: { type: "string", valueName: "FILE", description: "log file (default DIR/NAME.log)" },
  cwd: { type: "string", valueName: "DIR", description: "working directory of the service" },
  env: {
    type: "string",
    multiple: true,
    valueName: "KEY=VALUE",
    description: "set an environment variable for the service (repeatable)",
  },
  user: {
    type: "string",
    valueName: "USER",
    description:
      "run the service as this user, with its groups, HOME, SHELL, USER, LOGNAME (name or uid; needs root)",
  },
  restart: {
    type: "string",
    valueName: "POLICY",
    description: "restart policy: no (default), on-failure, always",
  },
  "max-restarts": {
    type: "string",
    valueName: "N",
    description: "give up after N restarts in a row (default 10)",
  },
  "restart-delay": {
    type: "string",
    valueName: "DURATION",
    description: "first restart delay, doubled up to 30s (default 100ms)",
  },
  retry,
  "ready-after": {
    type: "string",
    valueName: "DURATION",
    description: "ready once the service has lived this long (default 100ms alone)",
  },
  "ready-tcp": {
    type: "string",
    valueName: "HOST:PORT",
    description: "ready once a TCP connection to HOST:PORT succeeds",
  },
  "ready-file": {
    type: "string",
    valueName: "FILE",
    description: "ready once the service creates or touches FILE",
  },
  "ready-notify": {
    type: "boolean",
    description: "ready once the service sends READY=1 to $NOTIFY_SOCKET (sd_notify)",
  },
  "ready-fd": {
    type: "string",
    valueName: "N",
    description: "ready once the service writes a newline to descriptor N (3-255, s6 style)",
  },
  "ready-timeout": {
    type: "string",
    valueName: "DURATION",
    description: "fail the start when not ready within this long (default 60s)",
  },
  watchdog: {
    type: "string",
    valueName: "DURATION",
    description: "once ready, WATCHDOG=1 must arrive this often, or abort and restart it",
  },
  "log-max-size": {
    type: "string",
    valueName: "SIZE",
    description: "rotate the log at SIZE (K, M, G): NAME.log.1, .2, ...",
  },
  "log-keep": {
    type: "string",
    valueName: "N",
    description: "rotated logs kept with --log-max-size (default 5)",
  },
  tracking: {
    type: "string",
    valueName: "TIER",
    description: "process tracking: auto (default), cgroup, group",
  },
  limit: {
    type: "string",
    multiple: true,
    valueName: "RESOURCE=SOFT[:HARD]",
    description:
      "resource limit of the service's tree, set before it runs (repeatable): nofile, nproc, core, memlock, as, cpu, data, fsize, stack, rss, sigpending, msgqueue, nice, rtprio, rttime, locks; a number, unlimited, sizes with K, M, G; SOFT alone sets both",
  },
  nice: {
    type: "string",
    valueName: "N",
    description: "nice value of the service's tree, -20 to 19 (below your own needs root)",
  },
  "oom-score-adjust": {
    type: "string",
    valueName: "N",
    description: "oom_score_adj of the service's tree, -1000 to 1000 (below your own needs root)",
  },
  watch: {
    type: "string",
    multiple: true,
    valueName: "PATH",
    description:
      "restart the service when a file under PATH changes (repeatable; a directory recursively; development)",
  },
  "watch-ignore": {
    type: "string",
    multiple: true,
    valueName: "GLOB",
    description:
      "changes to ignore (repeatable): a glob without / matches any path segment (*.log), with / the path under the watched dir; .git and node_modules always",
  },
  "watch-delay": {
    type: "string",
    valueName: "DURATION",
    description: "gather changes this long after the last one before the restart (default 200ms)",
  },
  "max-memory": {
    type: "string",
    valueName: "SIZE",
    description:
      "restart the service when its tree's resident memory (as list shows it, sampled every second) is above SIZE, e.g. 200M, 1G",
  },
  cron: {
    type: "string",
    valueName: "EXPR",
    description:
      "a task: start it at each tick of this cron expression when it is not running, not at once (5 fields, or 6 with seconds first; names, ranges, steps, @hourly, @daily, ...)",
  },
  "cron-restart": {
    type: "string",
    valueName: "EXPR",
    description: "restart the running service at each tick of this cron expression",
  },
  tz: {
    type: "string",
    valueName: "ZONE",
    description:
      "IANA time zone of --cron/--cron-restart (default local time; see DST in docs/policies.md)",
  },
  "cron-catch-up": {
    type: "boolean",
    description:
      "act once at once for ticks missed while no supervisor ran (default: missed ticks are skipped)",
  },
  ...FORKING_OPTIONS,
};

/** Every command of the CLI, in the order `--help` lists them. */
export const COMMANDS: CommandSpec[] = [
  {
    name: "start",
    usage: "NAME [options] -- CMD [ARGS...]",
    summary: "start CMD supervised, in the background",
    options: {
      ...launchOptions,
      timeout: requestTimeout,
      http: {
        ...http,
        description:
          "make the run directory's supervisor serve its read-only HTTP server here, now and after it restarts (recorded in DIR/supervisor.http)",
      },
      "if-not-running": {
        type: "boolean",
        description: "succeed (exit 0) if NAME is already running",
      },
      json,
    },
    positionals: [1, 1],
    serviceCommand: "required",
    load: () => import("./start.ts"),
  },
  {
    name: "run",
    usage: "NAME [options] -- CMD [ARGS...]",
    summary: "the same, in the foreground",
    options: { ...launchOptions },
    positionals: [1, 1],
    serviceCommand: "required",
    load: () => import("./run.ts"),
  },
  {
    name: "stop",
    usage: "NAME | --pidfile FILE [options]",
    summary: "stop a service and its whole process tree",
    options: { dir, pidfile, ...IDENTITY_OPTIONS, retry, timeout: requestTimeout, json },
    positionals: [0, 1],
    serviceCommand: "none",
    load: () => import("./stop.ts"),
  },
  {
    name: "restart",
    usage: "NAME [options]",
    summary: "stop, then start with the recorded command",
    options: { dir, retry, timeout: requestTimeout, json },
    positionals: [1, 1],
    serviceCommand: "none",
    load: () => import("./restart.ts"),
  },
  {
    name: "status",
    usage: "[NAME | --pidfile FILE] [options]",
    summary: "is it running? (exit 0 running, 1 stale, 3 not running, 4 unknown)",
    options: { dir, pidfile, ...IDENTITY_OPTIONS, json },
    positionals: [0, 1],
    serviceCommand: "none",
    load: () => import("./status.ts"),
  },
  {
    name: "list",
    usage: "[options]",
    summary: "table of services: name, state, pid, uptime, restarts, memory, cpu",
    options: { dir, json },
    positionals: [0, 0],
    serviceCommand: "none",
    reads: true,
    load: () => import("./list.ts"),
  },
  {
    name: "top",
    usage: "[--dir DIR] [--interval D]",
    summary: "live view of the services: state, CPU, memory, restarts",
    options: {
      dir,
      interval: {
        type: "string",
        valueName: "DURATION",
        description: "time between frames (default 1s, at least 100ms)",
      },
    },
    positionals: [0, 0],
    serviceCommand: "none",
    reads: true,
    load: () => import("./top.ts"),
  },
  {
    name: "ps",
    usage: "NAME [options]",
    summary: "the service's process tree",
    options: { dir, json },
    positionals: [1, 1],
    serviceCommand: "none",
    reads: true,
    load: () => import("./ps.ts"),
  },
  {
    name: "logs",
    usage: "[NAME...] [-n N] [-f] [--timestamps]",
    summary: "show services' logs (one, several, or all interleaved)",
    options: {
      dir,
      lines: {
        type: "string",
        short: "n",
        valueName: "N",
        description: "number of lines, per service (default 20)",
      },
      follow: { type: "boolean", short: "f", description: "keep printing new lines" },
      timestamps: {
        type: "boolean",
        description: "print when each line was written (ISO 8601, UTC)",
      },
    },
    positionals: [0, Infinity],
    serviceCommand: "none",
    reads: true,
    load: () => import("./logs.ts"),
  },
  {
    name: "metrics",
    usage: "[options]",
    summary: "the run directory's metrics, in the Prometheus text format",
    options: { dir },
    positionals: [0, 0],
    serviceCommand: "none",
    load: () => import("./metrics.ts"),
  },
  {
    name: "events",
    usage: "[NAME...] [-n N] [-f] [--json]",
    summary: "show services' lifecycle events (started, ready, exited, restarting, ...)",
    options: {
      dir,
      lines: {
        type: "string",
        short: "n",
        valueName: "N",
        description: "number of events (default 20; with -f, those before the new ones)",
      },
      follow: { type: "boolean", short: "f", description: "keep printing new events" },
      json: { type: "boolean", description: "one JSON object per event and line" },
    },
    positionals: [0, Infinity],
    serviceCommand: "none",
    reads: true,
    load: () => import("./events.ts"),
  },
  {
    name: "signal",
    usage: "NAME SIGNAL [options]",
    summary: "send SIGNAL to every process of the service (or its main one)",
    options: {
      dir,
      json,
      main: {
        type: "boolean",
        description: "signal the main process only, not the whole tree",
      },
    },
    positionals: [2, 2],
    serviceCommand: "none",
    load: () => import("./signal.ts"),
  },
  {
    name: "wait",
    usage: "NAME | --pidfile FILE [--timeout DURATION]",
    summary: "wait until the service is no longer running",
    options: {
      dir,
      pidfile,
      ...IDENTITY_OPTIONS,
      timeout: {
        type: "string",
        valueName: "DURATION",
        description: "give up after this long (default: wait forever)",
      },
    },
    positionals: [0, 1],
    serviceCommand: "none",
    load: () => import("./wait.ts"),
  },
  {
    name: "check",
    usage: "[-c FILE] [options]",
    summary: "validate a declaration file and print its services",
    options: { config, formation, json },
    positionals: [0, 0],
    serviceCommand: "none",
    load: () => import("./check.ts"),
  },
  {
    name: "up",
    usage: "[NAME...] [-c FILE] [options]",
    summary: "start, restart and stop what a declaration file says, in dependency order",
    options: {
      ...declaration,
      "dry-run": {
        type: "boolean",
        description: "print the plan; start, restart and stop nothing",
      },
      json,
    },
    positionals: [0, Infinity],
    serviceCommand: "none",
    load: () => import("./up.ts"),
  },
  {
    name: "down",
    usage: "[NAME...] [-c FILE] [options]",
    summary: "stop a declaration file's services, dependents first",
    options: { ...declaration, json },
    positionals: [0, Infinity],
    serviceCommand: "none",
    load: () => import("./down.ts"),
  },
  {
    name: "supervise",
    usage: "[--dir DIR] [--config FILE]",
    summary: "the run directory's supervisor, in the foreground",
    options: {
      dir,
      config: {
        ...config,
        description:
          "also bring this declaration up, re-read it on SIGHUP and reconcile (see up); DIR defaults to the file's dir",
      },
      procfile,
      formation,
      http,
    },
    positionals: [0, 0],
    serviceCommand: "none",
    load: () => import("./supervise.ts"),
  },
  {
    name: "startup",
    usage: "systemd [-c FILE] [options]",
    summary: "a systemd unit that brings a declaration back at boot",
    options: {
      config,
      procfile,
      formation,
      dir: { ...dir, description: "run directory the unit supervises (default: see above)" },
      user: {
        type: "boolean",
        description: "a user unit (systemctl --user), WantedBy=default.target",
      },
      write: { type: "boolean", description: "install the unit instead of printing it" },
    },
    positionals: [1, 1],
    serviceCommand: "none",
    load: () => import("./startup.ts"),
  },
  {
    name: "export",
    usage: "systemd [-c FILE | NAME...] --out DIR [options]",
    summary: "one systemd unit per service, for systemd to supervise them instead",
    options: {
      ...declaration,
      dir: { ...dir, description: "run directory of the NAMEd services (default: see status)" },
      out: {
        type: "string",
        valueName: "DIR",
        description: "write the units here (made if missing)",
      },
      force: { type: "boolean", description: "replace files of DIR that hold other text" },
    },
    positionals: [1, Infinity],
    serviceCommand: "none",
    load: () => import("./export.ts"),
  },
];

/** The command named `name`, if there is one. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
