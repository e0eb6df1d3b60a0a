/**
 * The launch flags of `start` and `run` as the service API's
 * {@linkcode LaunchOptions} (parsing only: the checks are the service
 * layer's, so the API and the CLI refuse the same things).
 *
 * @module
 */

import type { LaunchOptions } from "../service/control/supervisor_config.ts";
import { parseDuration } from "../os/duration.ts";
import { UsageError } from "../os/errors.ts";
import type { CommandInput } from "./spec.ts";

/** The launch options of a `start`/`run` command line. */
export function launchOptionsFrom(input: CommandInput): LaunchOptions {
  const v = input.values;
  const s = (key: string) => typeof v[key] === "string" ? v[key] as string : undefined;
  return {
    dir: s("dir"),
    pidfile: s("pidfile"),
    log: s("log"),
    cwd: s("cwd"),
    env: (v.env as string[] | undefined) ?? [],
    user: s("user"),
    restart: s("restart"),
    maxRestarts: s("max-restarts"),
    restartDelay: s("restart-delay"),
    retry: s("retry"),
    readyAfter: s("ready-after"),
    readyTcp: s("ready-tcp"),
    readyFile: s("ready-file"),
    readyNotify: v["ready-notify"] === true,
    readyFd: s("ready-fd"),
    readyTimeout: s("ready-timeout"),
    watchdog: s("watchdog"),
    logMaxSize: s("log-max-size"),
    logKeep: s("log-keep"),
    tracking: s("tracking"),
    forking: v.forking === true,
    mainPidfile: s("main-pidfile"),
    ...(v.limit !== undefined ? { limits: v.limit as string[] } : {}),
    ...(s("nice") !== undefined ? { nice: s("nice") } : {}),
    ...(s("oom-score-adjust") !== undefined ? { oomScoreAdjust: s("oom-score-adjust") } : {}),
    ...policyOptionsFrom(input),
  };
}

/** `--cron`, `--cron-restart`, `--tz`, `--cron-catch-up`, `--watch*`, `--max-memory`. */
function policyOptionsFrom(input: CommandInput): LaunchOptions {
  const v = input.values;
  const s = (key: string) => typeof v[key] === "string" ? v[key] as string : undefined;
  const out: LaunchOptions = {};
  if (s("cron") !== undefined) out.cron = s("cron");
  if (s("cron-restart") !== undefined) out.cronRestart = s("cron-restart");
  if (s("tz") !== undefined) out.tz = s("tz");
  if (v["cron-catch-up"] === true) out.cronCatchUp = true;
  if (v.watch !== undefined) out.watch = v.watch as string[];
  if (v["watch-ignore"] !== undefined) out.watchIgnore = v["watch-ignore"] as string[];
  if (s("watch-delay") !== undefined) out.watchDelay = s("watch-delay");
  if (s("max-memory") !== undefined) out.maxMemory = s("max-memory");
  return out;
}

/** `--timeout DURATION` of start, stop and restart, in ms; `undefined` when not given. */
export function requestTimeoutFrom(input: CommandInput): number | undefined {
  const text = input.values.timeout;
  if (typeof text !== "string") return undefined;
  const ms = parseDuration(text);
  if (ms <= 0) throw new UsageError(`bad --timeout '${text}' (must be more than 0)`);
  return ms;
}
