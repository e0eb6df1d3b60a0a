/**
 * The CLI surface: every command with its usage, options and help. This
 * table is the single source for `--help`, `pidkit help COMMAND`, argument
 * parsing and the test that keeps `docs/pidkit.1` in step.
 *
 * @module
 */

import type { CommandSpec, OptionSpec } from "./spec.ts";
import { IDENTITY_OPTIONS } from "./identity_specs.ts";
import { FORKING_OPTIONS } from "./forking_options.ts";

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
/** What start, stop and restart say about a supervisor that does not answer. */
const NO_ANSWER =
  " A supervisor that does not take the request within --timeout (at most 10 s) is reported as not answering (exit 5: stopped by SIGSTOP, say, or overloaded); nothing is done, and it drops the request if it reads it later. Another user's request (not root, not the supervisor's user, not the run directory's owner) is refused: exit 4.";

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
    description:
      "Asks the run directory's resident supervisor (one process for every service of DIR, started in the background when none runs, see supervise) to hold DIR/NAME.pid, run CMD in its own session and process group, logs its output and restarts it when asked. Returns once the service is ready (every --ready-* condition given holds, within --ready-timeout) and prints `started NAME (pid N)`; not ready in time: the tree is stopped, exit 1. With --timeout, a start the supervisor has not answered by then goes on, and the command exits 1." +
      NO_ANSWER,
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
    description:
      "Runs the supervisor in the foreground (for systemd units and containers): forwards SIGINT, SIGTERM, SIGHUP and SIGUSR2 to the service's tree and exits with the service's exit code (128+N when it died of signal N). SIGUSR1 is forwarded too: run re-executes itself in place with SIGUSR1 blocked, since in Deno it would open the V8 inspector. As a container's entrypoint (PID 1) it does what tini does: it reaps every orphan, and when the service exits it stops what is left of its tree and exits with the service's status; anywhere it is a child subreaper, so double-forked descendants stay in view and are reaped. It takes stop (with its --retry) and restart on its own socket, DIR/NAME.run.sock: restart happens inside the run, which keeps its PID and stays in the foreground; a restart that does not come up ends it with exit 1.",
    options: { ...launchOptions },
    positionals: [1, 1],
    serviceCommand: "required",
    load: () => import("./run.ts"),
  },
  {
    name: "stop",
    usage: "NAME | --pidfile FILE [options]",
    summary: "stop a service and its whole process tree",
    description:
      "Stops the service's process tree on the retry schedule and returns once the tree is empty and the PID file lock is free. The request goes to whoever holds the service (the run directory's supervisor, or a pidkit run on its own socket), which keeps the schedule (the service's own unless --retry is given) and the time limit (its total plus 10 s unless --timeout is given); a supervisor of pidkit 0.2 still stops its services. A service that is not running is not an error. With --pidfile, stops the lock holder of any PID file and its descendants; a PID file without a lock (most daemons write theirs so) is verified first: its PID must be alive and have started no later than the file was last written (else stale: nothing is signalled), then the main process and its descendants are stopped. --exec, --name and --user must match too, else nothing is signalled (exit 1). Every signal goes through a pidfd, so a PID reused meanwhile is never hit. A run directory's resident supervisor is never signalled for one service: a PID file it holds stops the service it holds it for (started with --pidfile), a NAME whose record is missing, garbage or unreadable is asked of the supervisor holding NAME.pid, and where pidkit cannot tell it refuses (exit 1) and signals nothing. With --timeout, a stop not done by then goes on, and the command exits 1." +
      NO_ANSWER,
    options: { dir, pidfile, ...IDENTITY_OPTIONS, retry, timeout: requestTimeout, json },
    positionals: [0, 1],
    serviceCommand: "none",
    load: () => import("./stop.ts"),
  },
  {
    name: "restart",
    usage: "NAME [options]",
    summary: "stop, then start with the recorded command",
    description:
      "Stops the service, then starts it again with the command and options it was started with. --timeout applies to the stop, then to the start. A service held by pidkit run is restarted inside the run (same PID, still in the foreground; --timeout applies to the whole); one held by a pidkit run without a control socket (0.2) is refused: restart its unit. Prints `restarted NAME (pid N)`. A service pidkit up started keeps its declaration's mark; when its file declares it differently now, a note on stderr says that pidkit up applies the file." +
      NO_ANSWER,
    options: { dir, retry, timeout: requestTimeout, json },
    positionals: [1, 1],
    serviceCommand: "none",
    load: () => import("./restart.ts"),
  },
  {
    name: "status",
    usage: "[NAME | --pidfile FILE] [options]",
    summary: "is it running? (exit 0 running, 1 stale, 3 not running, 4 unknown)",
    description:
      "Shows state, pid, supervisor pid, uptime, restarts, last exit, command and log of one service, or of every service in the run directory when no NAME is given. States: running, reloading (the service said RELOADING=1), starting, restarting (waiting out the restart back-off: `restarting in 1.6 s (attempt 3 of 10)`, no PID), stopping, orphaned (supervisor gone, tree alive; exit 0), stale (exit 1), stopped, failed (did not come up or gave up; the reason is in error; exit 3), unknown (exit 4). A --forking service without --main-pidfile shows the main process pidkit guessed, or `main process unknown (N processes)`. Without NAME the exit status is the highest of the services' (3 when there are none). Reads only: never creates the run directory. With --pidfile, a file whose lock is free (a daemon's own) is running (unlocked) when its PID is alive and started no later than the file's last write, stale when the PID is dead, a zombie, or started after the write (PID reuse); --exec, --name and --user must match too (else exit 1, not that program). A holder in another PID namespace (a container) shows as `pid N; pid M in its namespace`: N is the kernel's PID here, M the one written in the file; uptime and command come from N. JSON: locked, verifiedBy, reason; statusText (the last STATUS= of an sd_notify service, while it runs); restart (at, inMs, attempt, of: during a back-off); mainUnknown; kernelPid, namespaced. A PID file held by a run directory's supervisor (a service started with --pidfile) shows that service (restarts, log, phase), as wait --pidfile waits for it.",
    options: { dir, pidfile, ...IDENTITY_OPTIONS, json },
    positionals: [0, 1],
    serviceCommand: "none",
    load: () => import("./status.ts"),
  },
  {
    name: "list",
    usage: "[options]",
    summary: "table of services: name, state, pid, uptime, restarts, memory, cpu",
    description:
      "Lists every service in the run directory, sorted by name. MEM is the resident memory of the whole tree; CPU is the tree's CPU time divided by the wall time since its oldest live process started (an average, not a sample).",
    options: { dir, json },
    positionals: [0, 0],
    serviceCommand: "none",
    load: () => import("./list.ts"),
  },
  {
    name: "top",
    usage: "[--dir DIR] [--interval D]",
    summary: "live view of the services: state, CPU, memory, restarts",
    description:
      "Redraws a table of the run directory's services every interval (default 1s) on the terminal's alternate screen: name, state, ready (its readiness conditions held), main pid, processes in the tree, CPU (of the whole tree since the previous frame, percent of one core; '-' on the first frame), memory (of the whole tree, as list measures it), restarts, uptime and the last STATUS= text. Keys: q (or Ctrl-C) quits; s cycles the sort (name, cpu, memory, restarts; busiest first); up/down arrows (or k/j), PgUp/PgDn, Home/End move the selection; l shows the selected service's last log lines (l or Esc closes them). The terminal is put back however top ends: q exits 0, SIGINT 0, SIGTERM 143, SIGHUP or a closed terminal 129. When stdin or stdout is not a terminal, prints one snapshot as list does and exits 0. Reads only. With 200 services it uses about 2 % of one core (docs/watching.md).",
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
    load: () => import("./top.ts"),
  },
  {
    name: "ps",
    usage: "NAME [options]",
    summary: "the service's process tree",
    description:
      "Shows every process of the service, indented by parentage, with pid, rss, cpu and command. Exit 1 when the service is not running.",
    options: { dir, json },
    positionals: [1, 1],
    serviceCommand: "none",
    load: () => import("./ps.ts"),
  },
  {
    name: "logs",
    usage: "[NAME...] [-n N] [-f] [--timestamps]",
    summary: "show services' logs (one, several, or all interleaved)",
    description:
      "Prints the last N lines of the service's log (read from the end of the file); with -f, follows it across restarts and log rotation (file replaced or truncated) until interrupted (Ctrl-C exits 0). With --log-max-size, -n reads back into the rotated files NAME.log.1, .2, ..., past a missing number too (saying so on stderr). With several NAMEs, or none (every service in the run directory), the logs are interleaved in the order the supervisor wrote the lines, each prefixed 'NAME | ' (padded to the longest name, coloured per service on a terminal unless NO_COLOR is set); -n is per service; -f also follows services that appear after it began (with no NAME). --timestamps puts the time each line was written (ISO 8601, UTC, ms) before it; lines written before pidkit 0.3 have none ('-').",
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
    load: () => import("./logs.ts"),
  },
  {
    name: "metrics",
    usage: "[options]",
    summary: "the run directory's metrics, in the Prometheus text format",
    description:
      "Prints the metrics of every service in the run directory in the Prometheus text exposition format (what a supervisor started with --http serves at /metrics; names and meaning in docs/metrics.md): pidkit_service_up, pidkit_service_ready, pidkit_service_restarts_total, pidkit_service_cpu_seconds_total, pidkit_service_memory_bytes, pidkit_service_processes, pidkit_service_start_time_seconds, pidkit_service_last_exit_code, pidkit_service_state, each with a service label, and the supervisor's own (pidkit_supervisor_up, pidkit_supervisor_memory_bytes, pidkit_supervisor_adoptions_total; those it tells only a user who may control it). Never a service's environment. Reads only.",
    options: { dir },
    positionals: [0, 0],
    serviceCommand: "none",
    load: () => import("./metrics.ts"),
  },
  {
    name: "events",
    usage: "[NAME...] [-n N] [-f] [--json]",
    summary: "show services' lifecycle events (started, ready, exited, restarting, ...)",
    description:
      "Prints the last N lifecycle events the run directory's supervisor (and pidkit run, up and down) recorded in DIR/events/events.jsonl (every service's, or these NAMEs'), oldest first, one line each: time (ISO 8601, UTC), name, kind (started, ready, reloading, stopping, exited, restarting, failed, stopped, adopted, watchdog, log-rotated, up, down, policy, scheduled) and details (pid, exit code or signal, restart delay and attempt, why). The journal is rotated by size (events.jsonl.1 to .3, 1 MiB each) and survives the supervisor: what happened overnight is there the next morning. With -f, then each new event as it is recorded (within milliseconds), across the journal's rotation and a supervisor's death and its successor, until interrupted (Ctrl-C exits 0). --json prints each event as the journal keeps it, one JSON object per line (seq, time, service, kind, ...). See docs/events.md.",
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
    load: () => import("./events.ts"),
  },
  {
    name: "signal",
    usage: "NAME SIGNAL [options]",
    summary: "send SIGNAL to every process of the service (or its main one)",
    description:
      "Sends SIGNAL (a name such as TERM or SIGHUP, or a number) to every member of the service's tree, or with --main to its main process alone (the leader, or the process named by MAINPID= or --main-pidfile): nginx reloads on HUP to its master, say.",
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
    description:
      "Returns 0 once the service (or, with --pidfile, the program behind any PID file, locked or not, judged as status judges it) is not running, 1 when the timeout passes first.",
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
    description:
      "Reads the declaration: FILE, else pidkit.jsonc, pidkit.json or Procfile in the working directory (JSONC: comments and trailing commas). Validates every field (the same checks as start's options), reads the env files, expands instances (NAME.1 ... NAME.N, with PIDKIT_INSTANCE) and prints each service as it would run: its argv (a string cmd runs through sh -c), working directory, environment (values included), options and hash, and the start order by dependency level. Relative paths are relative to the file's directory. A Procfile's entries run through sh -c with .env loaded and PORT set as foreman sets it. Starts and stops nothing. Exit 0, or 2 with one line naming the file and the JSON path of the first problem (an unknown field with a suggestion, a wrong type, a bad duration or size, dependsOn naming an unknown service or a cycle, a duplicate name, an env file's line, a syntax error's line and column). The JSON Schema of the file is schema/pidkit.schema.json in the package.",
    options: { config, formation, json },
    positionals: [0, 0],
    serviceCommand: "none",
    load: () => import("./check.ts"),
  },
  {
    name: "up",
    usage: "[NAME...] [-c FILE] [options]",
    summary: "start, restart and stop what a declaration file says, in dependency order",
    description:
      "Makes what runs in the run directory match the declaration (FILE, else pidkit.jsonc, pidkit.json or Procfile in the working directory; see check). Starts declared services that are not running, in dependency order (a service starts once every instance of what it depends on is ready; independent ones together); leaves unchanged ones alone; restarts those whose resolved declaration changed (command, options, env, env files' contents: the line names what changed, never values; instances one at a time); stops services an earlier up of this file started that it no longer declares (instances highest first). Services started by hand (pidkit start) and services of other files are never touched: a declared name they hold is left alone and reported. With NAMEs: those services and what they depend on (autostart: false ones too); nothing undeclared is stopped. One line per service: started, restarted: what changed, unchanged, stopped, failed: why, not started: its dependency X failed, skipped, left alone. A service whose start fails never stops the others. A second up with nothing changed does nothing and says so: a complete up leaves DIR/stack-HASH.up (the SHA-256 of the file's text, its env files and pidkit's version, and each service's hash), and a later plain up of the same inputs only checks the records and PID file locks against it, without validating or resolving the file again. Declared services start from a small base environment (PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR of the caller) plus their env files and env, never the rest of the caller's. Each service's record keeps the file's path and the hash of its declaration (list shows the file); what up applied is kept in DIR/NAME.spec (mode 0600) to name changes. Concurrent ups and downs of one run directory take turns (DIR/stack.lock): a second one waits, then finds nothing to do. Services a killed supervisor left running are adopted first, never started twice. Exit 0 when every selected autostart service runs and is ready, 1 otherwise (the others keep running), 2 for a bad file, name or option (nothing started, nothing stopped).",
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
    description:
      "Stops every service an up of this file started (those it no longer declares too), dependents before what they depend on, highest instance first, each on its own stop schedule. With NAMEs: only those (a declared name stops every instance). Services started by hand or by another file are never stopped (a declared name they hold is reported as left alone). Takes turns with up (DIR/stack.lock). Exit 0, 1 when a stop failed, 2 for a bad file or name.",
    options: { ...declaration, json },
    positionals: [0, Infinity],
    serviceCommand: "none",
    load: () => import("./down.ts"),
  },
  {
    name: "supervise",
    usage: "[--dir DIR] [--config FILE]",
    summary: "the run directory's supervisor, in the foreground",
    description:
      "Runs the resident supervisor of DIR in the foreground (for a systemd unit or a container; see examples/systemd/pidkit.service): the one process that holds every service of DIR, which start, stop and restart reach on DIR/supervisor.sock. Without it the first start runs one in the background, which exits once it holds no service. On start it re-adopts every orphaned service of DIR (a supervisor was killed: its services run on). SIGTERM or SIGINT stop every service on its own schedule, then it exits 0; SIGHUP reopens every log (a journal line says so); other signals: docs/pidkit.1, SIGNALS. Requests wait until every orphan is adopted. Exit 1 at once when another supervisor listens on DIR (one that is exiting is waited for, up to 5 s). With --config FILE (a pidkit.jsonc or Procfile): once it listens, it brings the file up as up does (orphans adopted first, so a supervisor started after one was SIGKILLed starts nothing twice), and on SIGHUP it reads the file again and reconciles (a file that no longer reads is said on stderr and changes nothing); one line per service on stderr. Under systemd (NOTIFY_SOCKET set, Type=notify) it sends STATUS= lines as it goes, READY=1 once the first reconcile is done (STATUS= names what failed, if anything did) and STOPPING=1 on SIGTERM; NOTIFY_SOCKET is not passed on to services. A bad file at the start: exit 2, nothing started. See startup.",
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
    description:
      "Prints a systemd unit that runs `pidkit supervise --config FILE --dir DIR` with the absolute path of the pidkit that runs this command (the installed pidkit command on PATH, a compiled binary, or deno run -A ... cli.ts), Type=notify (READY=1 once the file is up), ExecReload=/bin/kill -HUP $MAINPID (read the file again and reconcile), KillMode=process (services outlive a killed supervisor and the restarted unit adopts them), TimeoutStartSec from the longest chain of ready timeouts, TimeoutStopSec from the longest stop schedule, Restart=on-failure, Environment=PATH= of this shell (an installed pidkit's shim runs deno from PATH; declared services start from it), and comments saying how to enable it. The unit is named pidkit-DIRNAME.service after the file's directory. DIR: --dir, the file's dir, $PIDKIT_DIR, else /run/pidkit (a system unit) or $XDG_RUNTIME_DIR/pidkit (--user); a note on stderr says when pidkit up in this shell would use another. Run it again after moving pidkit or Deno. With --write it installs the unit (/etc/systemd/system, or with --user $XDG_CONFIG_HOME/systemd/user or ~/.config/systemd/user) and prints the systemctl commands to run; it never runs them.",
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
    description:
      "Writes a unit NAME.service into DIR for every service of the declaration (FILE, else pidkit.jsonc, pidkit.json or Procfile in the working directory; each instance a unit, autostart: false ones without [Install]), or, with NAMEs, for those services of the run directory from their records (their command and options as started, their --env values from DIR/NAME.env, User= the user it ran as when not root; records keep no dependencies). ExecStart= runs the program by its absolute path (found on the service's PATH) with every argument quoted as systemd.syntax(7) reads it; WorkingDirectory=, User=, Restart= and RestartSec=, Type=notify for ready.notify/--ready-notify (NotifyAccess=all), Type=forking with PIDFile= for forking/--main-pidfile, else Type=exec; TimeoutStartSec= from the ready timeout, WatchdogSec=, KillSignal= and TimeoutStopSec= from the stop schedule, Requires= and After= from dependsOn (every instance), LimitNOFILE= and the other Limit*= from limits/--limit, Nice=, OOMScoreAdjust=, MemoryMax= from --max-memory (a hard cgroup limit, where pidkit restarts gracefully: a comment says so), StandardOutput=append: for a log file of its own (else the journal), and Environment=PATH= of this shell. The environment goes to DIR/NAME.env (mode 0600) named by EnvironmentFile=, never into the unit: unit files are world-readable and Environment= values are shown to every user by systemctl show. Each option systemd cannot express (ready after/tcp/file/fd, the doubling restart delay and max restarts, a PID file pidkit holds, log rotation, tracking, --cron, --watch) is a comment in the unit. Every file is checked before any is written: one that holds other text is refused (exit 1, nothing written) unless --force; one with the same text is left alone. One line per file (wrote, updated, unchanged) and the systemctl commands to run; it never runs them. Exit 2 for a bad file, name or option, a program not found, or no --out.",
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
