/**
 * The options of a service launch (what `pidkit start` and `pidkit run`
 * take as flags), checked and turned into the {@linkcode SupervisorConfig}
 * a supervisor runs: every check before anything is created.
 *
 * @module
 */

import { PidkitError, UsageError } from "../../os/errors.ts";
import { parseDuration } from "../../os/duration.ts";
import { checkProgram } from "../../tree/find_program.ts";
import { absolutePath } from "../../os/paths.ts";
import { parseHostPort } from "../readiness/readiness.ts";
import {
  DEFAULT_MAX_RESTARTS,
  DEFAULT_RESTART_DELAY_MS,
  parseRestartPolicy,
} from "../model/restart_policy.ts";
import type { ServiceOptions, ServiceRecord } from "../model/service_record.ts";
import { resolveRunDir, servicePaths, validateName } from "../model/run_dir.ts";
import type { SupervisorConfig } from "./supervisor_protocol.ts";
import { DEFAULT_RETRY, parseRetry } from "../../tree/stop_schedule.ts";
import { DEFAULT_LOG_KEEP, parseSize } from "../output/log_limits.ts";
import { checkMainPidfile, parseReadyFd } from "../model/option_checks.ts";
import { readServiceEnv } from "../model/service_env.ts";
import { findPasswdEntry, groupsOf } from "../../os/passwd.ts";
import { checkResourcePrivilege, parseBounded, parseLimits } from "../../os/resource_limits.ts";
import { parsePolicyOptions, type PolicyLaunchOptions } from "../model/policy_options.ts";

/**
 * How a service is launched: the options of `pidkit start` (and `run`),
 * one field per flag. Durations are text such as `"500ms"`, `"10s"`, `"2m"`
 * (a bare number of seconds as text) or a number of milliseconds; sizes are
 * text such as `"10M"` or a number of bytes. Bad values throw
 * {@linkcode UsageError} naming the option (`options.readyTimeout`; the CLI
 * shows its flag, `--ready-timeout`).
 *
 * @example
 * ```ts
 * import type { LaunchOptions } from "@pidkit/pidkit/service";
 * const options: LaunchOptions = {
 *   readyTcp: "127.0.0.1:8080",
 *   readyTimeout: "30s",
 *   restart: "on-failure",
 *   maxRestarts: 5,
 *   logMaxSize: "10M",
 *   env: { PORT: "8080" },
 *   limits: { nofile: "4096:8192", core: 0 },
 *   nice: 5,
 *   oomScoreAdjust: 500,
 * };
 * ```
 */
export interface LaunchOptions extends PolicyLaunchOptions {
  /** The run directory (`--dir`); default as {@linkcode resolveRunDir} finds it. */
  dir?: string;
  /** The PID file to hold (`--pidfile`); default `DIR/NAME.pid`. */
  pidfile?: string;
  /** The log file (`--log`); default `DIR/NAME.log`. */
  log?: string;
  /** The service's working directory (`--cwd`); default the caller's. */
  cwd?: string;
  /** Environment additions (`--env`): a record, or `KEY=VALUE` strings. */
  env?: Record<string, string> | string[];
  /** Run the service as this user, name or uid (`--user`; needs root). */
  user?: string;
  /** The restart policy (`--restart`): `no` (default), `on-failure` or `always`. */
  restart?: string;
  /** Restarts in a row before giving up (`--max-restarts`). */
  maxRestarts?: number | string;
  /** The first restart delay, doubled per restart in a row (`--restart-delay`). */
  restartDelay?: number | string;
  /** The stop schedule (`--retry`), e.g. `"TERM/10/KILL/5"`. */
  retry?: string;
  /** Ready once it has lived this long (`--ready-after`). */
  readyAfter?: number | string;
  /** Ready once `HOST:PORT` accepts a TCP connection (`--ready-tcp`). */
  readyTcp?: string;
  /** Ready once this file appears (`--ready-file`). */
  readyFile?: string;
  /** Ready once the service sends `READY=1` over sd_notify (`--ready-notify`). */
  readyNotify?: boolean;
  /** Ready once the service writes a line to this fd (`--ready-fd`). */
  readyFd?: number | string;
  /** How long the ready conditions may take (`--ready-timeout`; default 60 s). */
  readyTimeout?: number | string;
  /** Restart a service that stops sending `WATCHDOG=1` this long (`--watchdog`). */
  watchdog?: number | string;
  /** Rotate the log at this size (`--log-max-size`). */
  logMaxSize?: number | string;
  /** Rotated logs kept with `logMaxSize` (`--log-keep`; default 5). */
  logKeep?: number | string;
  /** Process tracking (`--tracking`): `auto` (default), `cgroup` or `group`. */
  tracking?: string;
  /** The command forks a daemon and exits 0 (`--forking`, systemd `Type=forking`). */
  forking?: boolean;
  /** With `forking`: the daemon's own PID file, naming its main process (`--main-pidfile`). */
  mainPidfile?: string;
  /**
   * Resource limits of the service's tree (`--limit`, repeatable): resource
   * name (`nofile`, `nproc`, `core`, `memlock`, `as`, `cpu`, `data`, `fsize`,
   * `stack`, `rss`, `sigpending`, `msgqueue`, `nice`, `rtprio`, `rttime`,
   * `locks`) to `"SOFT[:HARD]"` or a number (soft and hard alike), or
   * `RESOURCE=SOFT[:HARD]` strings. Values: whole numbers or `unlimited`;
   * byte sizes take K, M, G. Set on the leader before it runs its command.
   */
  limits?: Record<string, string | number> | string[];
  /** The service's nice value, -20 to 19 (`--nice`; below the caller's needs root). */
  nice?: number | string;
  /** The service's `oom_score_adj`, -1000 to 1000 (`--oom-score-adjust`; below the caller's needs root). */
  oomScoreAdjust?: number | string;
}

/** The values of `options`, as text, keyed by option field. */
type Flags = Record<string, string | boolean | undefined>;

/** A duration given as a number of ms, as text; NaN, negative or infinite ones refused. */
function durationText(key: string, v: number | string | undefined): string | undefined {
  if (typeof v !== "number") return v;
  if (!Number.isFinite(v) || v < 0) {
    throw new UsageError(
      `bad options.${key} ${v} (use a number of ms >= 0, or text such as "10s")`,
    );
  }
  return `${v}ms`;
}

/** A count given as a number, as text; anything but a whole number >= 0 refused. */
function numberText(key: string, v: number | string | undefined): string | undefined {
  if (typeof v !== "number") return v;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new UsageError(`bad options.${key} ${v} (use a whole number >= 0)`);
  }
  return String(v);
}

function flagsOf(o: LaunchOptions): Flags {
  return {
    dir: o.dir,
    pidfile: o.pidfile,
    log: o.log,
    cwd: o.cwd,
    user: o.user,
    restart: o.restart,
    maxRestarts: numberText("maxRestarts", o.maxRestarts),
    restartDelay: durationText("restartDelay", o.restartDelay),
    retry: o.retry,
    readyAfter: durationText("readyAfter", o.readyAfter),
    readyTcp: o.readyTcp,
    readyFile: o.readyFile,
    readyNotify: o.readyNotify,
    readyFd: numberText("readyFd", o.readyFd),
    readyTimeout: durationText("readyTimeout", o.readyTimeout),
    watchdog: durationText("watchdog", o.watchdog),
    logMaxSize: numberText("logMaxSize", o.logMaxSize),
    logKeep: numberText("logKeep", o.logKeep),
    tracking: o.tracking,
    forking: o.forking,
    mainPidfile: o.mainPidfile,
  };
}

function str(flags: Flags, key: string): string | undefined {
  const v = flags[key];
  return typeof v === "string" ? v : undefined;
}

/** Parse and check the service options (no file system changes). */
function parseServiceOptions(flags: Flags): ServiceOptions {
  const restartText = str(flags, "restart") ?? "no";
  const restart = parseRestartPolicy(restartText);
  if (!restart) {
    throw new UsageError(`bad options.restart '${restartText}' (use no, on-failure or always)`);
  }
  const maxText = str(flags, "maxRestarts");
  if (maxText !== undefined && !/^\d+$/.test(maxText)) {
    throw new UsageError(`bad options.maxRestarts '${maxText}' (use a whole number)`);
  }
  const retry = str(flags, "retry") ?? DEFAULT_RETRY;
  parseRetry(retry); // UsageError when malformed
  const readyTcp = str(flags, "readyTcp");
  if (readyTcp !== undefined && !parseHostPort(readyTcp)) {
    throw new UsageError(`bad options.readyTcp '${readyTcp}' (use HOST:PORT, e.g. 127.0.0.1:8080)`);
  }
  const tracking = str(flags, "tracking") ?? "auto";
  if (tracking !== "auto" && tracking !== "cgroup" && tracking !== "group") {
    throw new UsageError(`bad options.tracking '${tracking}' (use auto, cgroup or group)`);
  }
  const readyAfter = str(flags, "readyAfter");
  const readyFile = str(flags, "readyFile");
  const delay = str(flags, "restartDelay");
  const health = parseHealthOptions(flags);
  if (
    readyAfter !== undefined && health.readyTimeoutMs !== undefined &&
    parseDuration(readyAfter) > health.readyTimeoutMs
  ) {
    throw new UsageError(`options.readyAfter ${readyAfter} is longer than options.readyTimeout`);
  }
  return {
    restart,
    maxRestarts: maxText === undefined ? DEFAULT_MAX_RESTARTS : Number(maxText),
    restartDelayMs: delay === undefined ? DEFAULT_RESTART_DELAY_MS : parseDuration(delay),
    retry,
    ...(readyAfter !== undefined ? { readyAfterMs: parseDuration(readyAfter) } : {}),
    ...(readyTcp !== undefined ? { readyTcp } : {}),
    ...(readyFile !== undefined ? { readyFile: absolutePath(readyFile) } : {}),
    tracking,
    ...parseForkingOptions(flags),
    ...health,
  };
}

/**
 * Check launch options as `start` would, without touching the file system:
 * every option's value and how they combine (the declaration layer runs
 * this on each declared service). Throws {@linkcode UsageError} naming the
 * option (`options.readyTimeout`); returns the service options and the
 * environment.
 *
 * @example
 * ```ts
 * import { checkLaunchOptions } from "./supervisor_config.ts";
 * checkLaunchOptions({ readyTimeout: "30s", restart: "always" }).options.restart; // "always"
 * ```
 */
export function checkLaunchOptions(
  options: LaunchOptions,
): { options: ServiceOptions; env: Record<string, string> } {
  return {
    options: {
      ...parseServiceOptions(flagsOf(options)),
      ...resourceOptions(options),
      ...parsePolicyOptions(options, { restart: options.restart }),
    },
    env: parseEnv(options.env),
  };
}

/** `--limit`, `--nice`, `--oom-score-adjust` as service options (none when not given). */
function resourceOptions(o: LaunchOptions): Partial<ServiceOptions> {
  const out: Partial<ServiceOptions> = {};
  if (o.limits !== undefined) {
    const limits = parseLimits(o.limits);
    if (Object.keys(limits).length > 0) out.limits = limits;
  }
  if (o.nice !== undefined) out.nice = parseBounded("options.nice", o.nice, -20, 19);
  if (o.oomScoreAdjust !== undefined) {
    out.oomScoreAdjust = parseBounded("options.oomScoreAdjust", o.oomScoreAdjust, -1000, 1000);
  }
  return out;
}

/** The forking fields of the service options (none without `--forking`). */
function parseForkingOptions(flags: Flags): Partial<ServiceOptions> {
  const forking = flags.forking === true;
  const main = str(flags, "mainPidfile");
  if (!forking) {
    if (main !== undefined) throw new UsageError("options.mainPidfile needs options.forking");
    return {};
  }
  if (main === "") throw new UsageError("options.mainPidfile needs a file name");
  return {
    forking: true,
    ...(main !== undefined ? { mainPidfile: absolutePath(main) } : {}),
  };
}

/** A duration option; the error names the option. */
function durationOption(flags: Flags, key: string): number | undefined {
  const text = str(flags, key);
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new UsageError(`bad options.${key} '${text}' (use e.g. 500ms, 10s, 2m)`);
  }
  if (ms < 10) throw new UsageError(`bad options.${key} '${text}': use at least 10ms`);
  return ms;
}

/** `--ready-notify`, `--ready-fd`, `--ready-timeout`, `--watchdog`, `--log-max-size`, `--log-keep`. */
function parseHealthOptions(flags: Flags): Partial<ServiceOptions> {
  const out: Partial<ServiceOptions> = {};
  if (flags.readyNotify === true) out.readyNotify = true;
  const fd = str(flags, "readyFd");
  if (fd !== undefined) out.readyFd = parseReadyFd(fd);
  const timeout = durationOption(flags, "readyTimeout");
  if (timeout !== undefined) out.readyTimeoutMs = timeout;
  const watchdog = durationOption(flags, "watchdog");
  if (watchdog !== undefined) out.watchdogMs = watchdog;
  const size = str(flags, "logMaxSize");
  const keep = str(flags, "logKeep");
  if (size !== undefined) out.logMaxBytes = parseSize(size, "options.logMaxSize");
  if (keep !== undefined) {
    if (size === undefined) throw new UsageError("options.logKeep needs options.logMaxSize");
    if (!/^\d{1,4}$/.test(keep) || Number(keep) > 1000) {
      throw new UsageError(`bad options.logKeep '${keep}' (use a number from 0 to 1000)`);
    }
    out.logKeep = Number(keep);
  } else if (size !== undefined) out.logKeep = DEFAULT_LOG_KEEP;
  return out;
}

/** `--env` as a record; UsageError for a malformed `KEY=VALUE` or key. */
function parseEnv(env: Record<string, string> | string[] | undefined): Record<string, string> {
  const pairs = Array.isArray(env) ? env : Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`);
  const out: Record<string, string> = {};
  for (const kv of pairs) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? "" : kv.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`bad options.env '${kv}' (use KEY=VALUE)`);
    }
    out[key] = kv.slice(eq + 1);
  }
  return out;
}

/**
 * A `--user` resolved: its name, uid, primary gid, supplementary groups,
 * and the home and shell the service's `HOME` and `SHELL` are set to.
 *
 * @example
 * ```ts
 * import { resolveUser } from "./supervisor_config.ts";
 * const user = resolveUser("root");
 * console.log(user.uid, user.gid, user.groups, user.home);
 * ```
 */
export interface ResolvedUser {
  /** The user name (or the uid as given when /etc/passwd does not know it). */
  name: string;
  /** The user id. */
  uid: number;
  /** The primary group id. */
  gid: number;
  /** The groups of /etc/group that list the user, as initgroups(3) would set them. */
  groups: number[];
  /** Its home directory (`/` for a uid /etc/passwd does not know, as systemd does). */
  home: string;
  /** Its login shell (`/bin/sh` for a uid /etc/passwd does not know). */
  shell: string;
}

/**
 * Resolve a user (name or uid) through /etc/passwd and /etc/group. Throws
 * {@linkcode PidkitError} for an unknown name.
 *
 * @example
 * ```ts
 * import { resolveUser } from "./supervisor_config.ts";
 * console.log(resolveUser("0").uid); // 0
 * ```
 */
export function resolveUser(user: string): ResolvedUser {
  const entry = findPasswdEntry(user);
  if (entry !== undefined) {
    const { name, uid, gid, home, shell } = entry;
    return { name, uid, gid, groups: groupsOf(name, gid), home, shell };
  }
  if (/^\d+$/.test(user)) {
    const id = Number(user);
    return { name: user, uid: id, gid: id, groups: [], home: "/", shell: "/bin/sh" };
  }
  throw new PidkitError(`unknown user '${user}'`);
}

/**
 * A service's environment: the asking command's (`inheritedEnv`), then,
 * with `--user`, its user's `HOME`, `SHELL`, `USER`, `LOGNAME`, then its
 * `--env`, then `extra` (pidkit's own: `NOTIFY_SOCKET`, ...).
 *
 * @example
 * ```ts
 * import { serviceEnv } from "./supervisor_config.ts";
 * console.log(serviceEnv({ env: { PORT: "8080" } }, {}).PORT); // "8080"
 * ```
 */
export function serviceEnv(
  cfg: Pick<SupervisorConfig, "inheritedEnv" | "user" | "env">,
  extra: Record<string, string>,
): Record<string, string> {
  return { ...cfg.inheritedEnv, ...(cfg.user ? userEnv(cfg.user) : {}), ...cfg.env, ...extra };
}

/**
 * The environment a `--user` service gets from its user, as systemd's
 * `User=` and `su -` set it: `HOME`, `SHELL`, `USER`, `LOGNAME` (its own
 * `--env` still wins).
 *
 * @example
 * ```ts
 * import { resolveUser, userEnv } from "./supervisor_config.ts";
 * console.log(userEnv(resolveUser("root")).HOME); // "/root"
 * ```
 */
export function userEnv(
  user: { name: string; home?: string; shell?: string },
): Record<string, string> {
  return {
    HOME: user.home ?? "/",
    SHELL: user.shell ?? "/bin/sh",
    USER: user.name,
    LOGNAME: user.name,
  };
}

/**
 * Build the supervisor configuration of service `name` running `command`
 * (`start`, and `run` with `foreground: true`). Checks everything first
 * ({@linkcode UsageError} for a bad option, {@linkcode PidkitError} for a
 * missing program, cwd or user); only then makes the run directory.
 *
 * @example
 * ```ts
 * import { buildSupervisorConfig } from "./supervisor_config.ts";
 * const config = buildSupervisorConfig("web", ["sleep", "60"], {
 *   dir: "/tmp/pidkit-example",
 *   readyAfter: "1s",
 * });
 * console.log(config.pidfile); // "/tmp/pidkit-example/web.pid"
 * ```
 */
export function buildSupervisorConfig(
  name: string,
  command: string[],
  options: LaunchOptions & { foreground?: boolean } = {},
): SupervisorConfig {
  const flags = flagsOf(options);
  validateName(name);
  const serviceOptions = {
    ...parseServiceOptions(flags),
    ...resourceOptions(options),
    ...parsePolicyOptions(options, { restart: options.restart }),
  };
  const env = parseEnv(options.env);
  const cwd = absolutePath(str(flags, "cwd") ?? Deno.cwd());
  let cwdInfo: Deno.FileInfo | undefined;
  try {
    cwdInfo = Deno.statSync(cwd);
  } catch { /* reported below */ }
  if (!cwdInfo?.isDirectory) throw new PidkitError(`options.cwd ${cwd} is not a directory`);
  const userText = str(flags, "user");
  const user = userText === undefined ? undefined : resolveUser(userText);
  if (user && Deno.uid() !== 0 && Deno.uid() !== user.uid) {
    throw new PidkitError(`options.user ${userText} needs root`);
  }
  checkResourcePrivilege(serviceOptions);
  if (command.length === 0) throw new UsageError("missing the command to run");
  checkProgram(command[0], { cwd, path: env.PATH ?? Deno.env.get("PATH") });
  const logOption = str(flags, "log");
  const pidfileOption = str(flags, "pidfile");
  if (serviceOptions.mainPidfile !== undefined) {
    const planned = pidfileOption
      ? absolutePath(pidfileOption)
      : servicePaths(resolveRunDir({ dir: str(flags, "dir") }), name).pidfile;
    checkMainPidfile(serviceOptions.mainPidfile, {
      pidfile: planned,
      uid: user?.uid,
      gid: user?.gid,
    });
  }
  const dir = resolveRunDir({ dir: str(flags, "dir"), create: true });
  const paths = servicePaths(dir, name);
  const pidfile = pidfileOption ? absolutePath(pidfileOption) : paths.pidfile;
  const foreground = options.foreground === true;
  if (serviceOptions.logMaxBytes !== undefined) {
    checkRotatable(logOption ? absolutePath(logOption) : foreground ? undefined : "");
  }
  return {
    name,
    dir,
    pidfile,
    state: paths.state,
    ...(logOption ? { log: absolutePath(logOption) } : foreground ? {} : { log: paths.log }),
    command,
    cwd,
    env,
    ...(user ? { user } : {}),
    options: serviceOptions,
  };
}

/** `--log-max-size` needs a regular log file (`""`: the default DIR/NAME.log). */
function checkRotatable(log: string | undefined): void {
  if (log === undefined) throw new UsageError("options.logMaxSize needs a log file (options.log)");
  if (log === "") return;
  try {
    if (!Deno.statSync(log).isFile) {
      throw new UsageError(
        `options.logMaxSize: ${log} is not a regular file, it cannot be rotated`,
      );
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
}

/**
 * The configuration a service record says its service was started with:
 * what `restart` starts again and what a supervisor adopting an orphaned
 * service goes on with.
 *
 * @example
 * ```ts
 * import { configFromRecord } from "./supervisor_config.ts";
 * import { readServiceRecord } from "../model/service_record.ts";
 * const record = await readServiceRecord("/tmp/pidkit-example/web.json");
 * if (record) console.log(configFromRecord("/tmp/pidkit-example", "web", record).command);
 * ```
 */
export function configFromRecord(
  dir: string,
  name: string,
  record: ServiceRecord,
): SupervisorConfig {
  const paths = servicePaths(dir, name);
  return {
    name,
    dir,
    pidfile: record.pidfile,
    state: paths.state,
    ...(record.log && record.log !== "-" ? { log: record.log } : { log: paths.log }),
    command: record.command,
    cwd: record.cwd,
    env: recordedEnv(paths.env, record),
    ...(record.user ? { user: resolveUser(record.user) } : {}),
    options: record.options,
    ...(record.origin ? { origin: record.origin } : {}),
  };
}

/**
 * The `--env` values of a recorded service: `DIR/NAME.env` (0.3), else the
 * record itself (0.2 wrote them there). Recorded names without their file
 * are an error: starting without them would run another service.
 */
function recordedEnv(path: string, record: ServiceRecord): Record<string, string> {
  const env = readServiceEnv(path) ?? record.env ?? {};
  const missing = (record.envNames ?? []).filter((k) => !(k in env));
  if (missing.length > 0) {
    throw new PidkitError(
      `${path} is missing (the values of ${
        missing.join(", ")
      }): start ${record.name} again with its --env`,
    );
  }
  return env;
}
