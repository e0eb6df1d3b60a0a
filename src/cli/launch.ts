/**
 * Shared by `start`, `run` and `restart`: turn the launch options into a
 * checked {@linkcode SupervisorConfig} (every check before anything is
 * created), and start a background supervisor with the start-up handshake.
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import { parseDuration } from "../os/duration.ts";
import { checkProgram } from "../tree/spawn_gated.ts";
import { absolutePath } from "../os/paths.ts";
import { parseHostPort } from "../service/readiness.ts";
import {
  DEFAULT_MAX_RESTARTS,
  DEFAULT_RESTART_DELAY_MS,
  parseRestartPolicy,
} from "../service/restart_policy.ts";
import { selfCommand } from "../os/self_exec.ts";
import type { ServiceOptions } from "../service/service_record.ts";
import { resolveRunDir, servicePaths, validateName } from "../service/services.ts";
import {
  controlPath,
  type StartResult,
  SUPERVISE_COMMAND,
  type SupervisorConfig,
} from "../service/supervisor_protocol.ts";
import { DEFAULT_RETRY, parseRetry } from "../tree/stop_schedule.ts";
import { DEFAULT_LOG_KEEP, parseSize } from "../service/log_rotation.ts";
import { parseReadyFd } from "../service/ready_fd.ts";
import type { CommandInput } from "./spec.ts";
import { checkMainPidfile, parseForkingOptions } from "./forking_options.ts";

function str(input: CommandInput, key: string): string | undefined {
  const v = input.values[key];
  return typeof v === "string" ? v : undefined;
}

/** Parse and check the service options (no file system changes). */
export function parseServiceOptions(input: CommandInput): ServiceOptions {
  const restartText = str(input, "restart") ?? "no";
  const restart = parseRestartPolicy(restartText);
  if (!restart) {
    throw new UsageError(`bad --restart '${restartText}' (use no, on-failure or always)`);
  }
  const maxText = str(input, "max-restarts");
  if (maxText !== undefined && !/^\d+$/.test(maxText)) {
    throw new UsageError(`bad --max-restarts '${maxText}' (use a whole number)`);
  }
  const retry = str(input, "retry") ?? DEFAULT_RETRY;
  parseRetry(retry); // UsageError when malformed
  const readyTcp = str(input, "ready-tcp");
  if (readyTcp !== undefined && !parseHostPort(readyTcp)) {
    throw new UsageError(`bad --ready-tcp '${readyTcp}' (use HOST:PORT, e.g. 127.0.0.1:8080)`);
  }
  const tracking = str(input, "tracking") ?? "auto";
  if (tracking !== "auto" && tracking !== "cgroup" && tracking !== "group") {
    throw new UsageError(`bad --tracking '${tracking}' (use auto, cgroup or group)`);
  }
  const readyAfter = str(input, "ready-after");
  const readyFile = str(input, "ready-file");
  const delay = str(input, "restart-delay");
  const health = parseHealthOptions(input);
  if (
    readyAfter !== undefined && health.readyTimeoutMs !== undefined &&
    parseDuration(readyAfter) > health.readyTimeoutMs
  ) {
    throw new UsageError(`--ready-after ${readyAfter} is longer than --ready-timeout`);
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
    ...parseForkingOptions(input),
    ...health,
  };
}

/** A duration option; the error names the option. */
function durationOption(input: CommandInput, key: string): number | undefined {
  const text = str(input, key);
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new UsageError(`bad --${key} '${text}' (use e.g. 500ms, 10s, 2m)`);
  }
  if (ms < 10) throw new UsageError(`bad --${key} '${text}': use at least 10ms`);
  return ms;
}

/** `--ready-notify`, `--ready-fd`, `--ready-timeout`, `--watchdog`, `--log-max-size`, `--log-keep`. */
function parseHealthOptions(input: CommandInput): Partial<ServiceOptions> {
  const out: Partial<ServiceOptions> = {};
  if (input.values["ready-notify"] === true) out.readyNotify = true;
  const fd = str(input, "ready-fd");
  if (fd !== undefined) out.readyFd = parseReadyFd(fd);
  const timeout = durationOption(input, "ready-timeout");
  if (timeout !== undefined) out.readyTimeoutMs = timeout;
  const watchdog = durationOption(input, "watchdog");
  if (watchdog !== undefined) out.watchdogMs = watchdog;
  const size = str(input, "log-max-size");
  const keep = str(input, "log-keep");
  if (size !== undefined) out.logMaxBytes = parseSize(size);
  if (keep !== undefined) {
    if (size === undefined) throw new UsageError("--log-keep needs --log-max-size");
    if (!/^\d{1,4}$/.test(keep) || Number(keep) > 1000) {
      throw new UsageError(`bad --log-keep '${keep}' (use a number from 0 to 1000)`);
    }
    out.logKeep = Number(keep);
  } else if (size !== undefined) out.logKeep = DEFAULT_LOG_KEEP;
  return out;
}

/** `--env K=V` values as a record; UsageError for a malformed one. */
export function parseEnv(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of values) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? "" : kv.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`bad --env '${kv}' (use KEY=VALUE)`);
    }
    env[key] = kv.slice(eq + 1);
  }
  return env;
}

/** A `--user` resolved: its name, uid, primary gid and supplementary groups. */
export interface ResolvedUser {
  name: string;
  uid: number;
  gid: number;
  /** The groups of /etc/group that list the user, as initgroups(3) would set them. */
  groups: number[];
}

/** Resolve `--user` (name or uid) through /etc/passwd and /etc/group. */
export function resolveUser(user: string): ResolvedUser {
  const passwd = readOrEmpty("/etc/passwd"); // without it: numeric ids only
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length < 4) continue;
    if (f[0] === user || f[2] === user) {
      const gid = Number(f[3]);
      return { name: f[0], uid: Number(f[2]), gid, groups: groupsOf(f[0], gid) };
    }
  }
  if (/^\d+$/.test(user)) return { name: user, uid: Number(user), gid: Number(user), groups: [] };
  throw new PidkitError(`unknown user '${user}'`);
}

/** The primary gid and every group of /etc/group whose member list names `name`. */
function groupsOf(name: string, gid: number): number[] {
  const groups = new Set<number>();
  for (const line of readOrEmpty("/etc/group").split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && /^\d+$/.test(f[2]) && f[3].split(",").includes(name)) {
      groups.add(Number(f[2]));
    }
  }
  if (groups.size > 0) groups.add(gid);
  return [...groups].sort((a, b) => a - b);
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/**
 * Build the supervisor configuration of `start`/`run` from the command
 * line. Checks everything first; only then makes the run directory.
 */
export function buildConfig(
  input: CommandInput,
  options: { foreground: boolean },
): SupervisorConfig {
  const name = validateName(input.positionals[0]);
  const serviceOptions = parseServiceOptions(input);
  const env = parseEnv((input.values.env as string[] | undefined) ?? []);
  const cwd = absolutePath(str(input, "cwd") ?? Deno.cwd());
  let cwdInfo: Deno.FileInfo | undefined;
  try {
    cwdInfo = Deno.statSync(cwd);
  } catch { /* reported below */ }
  if (!cwdInfo?.isDirectory) throw new PidkitError(`--cwd ${cwd} is not a directory`);
  const userText = str(input, "user");
  const user = userText === undefined ? undefined : resolveUser(userText);
  if (user && Deno.uid() !== 0 && Deno.uid() !== user.uid) {
    throw new PidkitError(`--user ${userText} needs root`);
  }
  checkProgram(input.command[0], { cwd, path: env.PATH ?? Deno.env.get("PATH") });
  const logOption = str(input, "log");
  const pidfileOption = str(input, "pidfile");
  if (serviceOptions.mainPidfile !== undefined) {
    const planned = pidfileOption
      ? absolutePath(pidfileOption)
      : servicePaths(resolveRunDir({ dir: str(input, "dir") }), name).pidfile;
    checkMainPidfile(serviceOptions.mainPidfile, {
      pidfile: planned,
      uid: user?.uid,
      gid: user?.gid,
    });
  }
  const dir = resolveRunDir({ dir: str(input, "dir"), create: true });
  const paths = servicePaths(dir, name);
  const pidfile = pidfileOption ? absolutePath(pidfileOption) : paths.pidfile;
  if (serviceOptions.logMaxBytes !== undefined) {
    checkRotatable(logOption ? absolutePath(logOption) : options.foreground ? undefined : "");
  }
  return {
    name,
    dir,
    pidfile,
    state: paths.state,
    ...(logOption
      ? { log: absolutePath(logOption) }
      : options.foreground
      ? {}
      : { log: paths.log }),
    control: controlPath(dir, name),
    command: input.command,
    cwd,
    env,
    ...(user ? { user } : {}),
    options: serviceOptions,
  };
}

/** `--log-max-size` needs a regular log file (`""`: the default DIR/NAME.log). */
function checkRotatable(log: string | undefined): void {
  if (log === undefined) throw new UsageError("--log-max-size needs a log file (--log FILE)");
  if (log === "") return;
  try {
    if (!Deno.statSync(log).isFile) {
      throw new UsageError(`--log-max-size: ${log} is not a regular file, it cannot be rotated`);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
}

/**
 * Start a background supervisor for `config` and wait for its answer: it
 * holds the lock and the service is ready, or why not. The supervisor runs
 * in its own session and outlives us.
 */
export async function launchSupervisor(config: SupervisorConfig): Promise<StartResult> {
  const argv = selfCommand([SUPERVISE_COMMAND, config.name]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true,
    cwd: "/",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(config) + "\n"));
  await writer.close();
  const line = await firstLine(child.stdout);
  let result: StartResult | undefined;
  try {
    result = line === undefined ? undefined : JSON.parse(line);
  } catch { /* not a result line: treated as a crash below */ }
  if (result === undefined) {
    const err = (await new Response(child.stderr).text()).split("\n")
      // deno-lint-ignore no-control-regex -- strip the colours of Deno's own error lines
      .map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trim()).find((l) => l !== "");
    const status = await child.status;
    return {
      ok: false,
      error: `the supervisor exited (${status.code}) before the service started${
        err ? `: ${err}` : ""
      }`,
    };
  }
  await child.stderr.cancel().catch(() => {});
  child.unref();
  return result;
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text.trim() === "" ? undefined : text;
      text += decoder.decode(value, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) return text.slice(0, nl);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
