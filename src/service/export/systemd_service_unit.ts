/**
 * One service as a systemd unit of its own (`pidkit export systemd`): for
 * handing a service to systemd to supervise, instead of pidkit. Every
 * option that has a systemd setting becomes that setting; every option
 * systemd cannot express becomes a comment in the unit saying what pidkit
 * did and what the unit does instead.
 *
 * The environment goes to an `EnvironmentFile=` (mode 0600) named by the
 * caller, never into the unit: unit files are world-readable, and
 * `Environment=` values are readable by every user through systemd's bus
 * (`systemctl show -p Environment`), while an environment file's contents
 * are not.
 *
 * @module
 */

import { UsageError } from "../../os/errors.ts";
import type { LimitValue } from "../../os/resource_limits.ts";
import { findProgram } from "../../tree/find_program.ts";
import { parseRetry, type RetryStep } from "../../tree/stop_schedule.ts";
import { READY_TIMEOUT_MS } from "../readiness/readiness.ts";
import type { ServiceOptions } from "../model/service_record.ts";
import {
  envFileLine,
  serviceUnitName,
  unitEnvironment,
  unitPath,
  unitQuote,
} from "./systemd_syntax.ts";

/**
 * A service as an export sees it: from a declaration or from a running
 * service's record.
 *
 * @example
 * ```ts
 * import type { ExportedService } from "./systemd_service_unit.ts";
 * const web: ExportedService = {
 *   name: "web", command: ["deno", "run", "-A", "server.ts"], cwd: "/srv/app",
 *   env: { PORT: "8080" },
 *   options: { restart: "on-failure", maxRestarts: 10, restartDelayMs: 100, retry: "TERM/10/KILL/5", tracking: "auto" },
 *   requires: ["db"], autostart: true, source: "/srv/app/pidkit.jsonc",
 * };
 * console.log(web.name);
 * ```
 */
export interface ExportedService {
  /** The service name (the unit is `NAME.service`). */
  name: string;
  /** The argv as pidkit runs it. */
  command: string[];
  /** Its working directory (absolute). */
  cwd: string;
  /** Its environment additions (declared `env` and env files, or `--env`). */
  env: Record<string, string>;
  /** `--user`. */
  user?: string;
  /** The options it runs with. */
  options: ServiceOptions;
  /** A PID file pidkit holds for it other than its run directory's default. */
  pidfile?: string;
  /** A log file other than its run directory's default. */
  log?: string;
  /** Services that must be ready before it starts (unit names follow from them). */
  requires: string[];
  /** Whether it starts at boot (`[Install]`); `autostart: false` ones do not. */
  autostart: boolean;
  /** Where it came from, for the unit's first line. */
  source: string;
}

/**
 * What {@linkcode serviceUnit} needs besides the service.
 *
 * @example
 * ```ts
 * import type { ServiceUnitOptions } from "./systemd_service_unit.ts";
 * const options: ServiceUnitOptions = { envFile: "/etc/systemd/system/web.env", path: "/usr/bin:/bin", version: "0.3.0" };
 * console.log(options.envFile);
 * ```
 */
export interface ServiceUnitOptions {
  /** Where the environment file will be (absolute); needed when the service has an environment. */
  envFile?: string;
  /** `PATH` for the service and for finding its program (default: the caller's). */
  path?: string;
  /** pidkit's version, for the header. */
  version: string;
}

/**
 * The texts {@linkcode serviceUnit} makes: the unit, and the environment
 * file when the service has an environment.
 *
 * @example
 * ```ts
 * import type { ServiceUnitText } from "./systemd_service_unit.ts";
 * const t: ServiceUnitText = { unit: "[Unit]\n", env: 'PORT="8080"\n' };
 * console.log(t.unit);
 * ```
 */
export interface ServiceUnitText {
  /** The unit file's text. */
  unit: string;
  /** The environment file's text (for `EnvironmentFile=`), when there is one. */
  env?: string;
}

/** The systemd name of each resource of `--limit`. */
const LIMIT_SETTING: Record<string, string> = {
  cpu: "LimitCPU",
  fsize: "LimitFSIZE",
  data: "LimitDATA",
  stack: "LimitSTACK",
  core: "LimitCORE",
  rss: "LimitRSS",
  nproc: "LimitNPROC",
  nofile: "LimitNOFILE",
  memlock: "LimitMEMLOCK",
  as: "LimitAS",
  locks: "LimitLOCKS",
  sigpending: "LimitSIGPENDING",
  msgqueue: "LimitMSGQUEUE",
  nice: "LimitNICE",
  rtprio: "LimitRTPRIO",
  rttime: "LimitRTTIME",
};

/** The options this module turns into settings or comments; any other gets a comment naming it. */
const HANDLED = new Set([
  "restart",
  "maxRestarts",
  "restartDelayMs",
  "retry",
  "readyAfterMs",
  "readyTcp",
  "readyFile",
  "tracking",
  "forking",
  "mainPidfile",
  "readyNotify",
  "readyFd",
  "readyTimeoutMs",
  "watchdogMs",
  "logMaxBytes",
  "logKeep",
  "limits",
  "nice",
  "oomScoreAdjust",
  "maxMemoryBytes",
  "cron",
  "cronRestart",
  "tz",
  "cronCatchUp",
  "watch",
  "watchIgnore",
  "watchDelayMs",
]);

/**
 * The unit (and environment file) of one service. Throws
 * {@linkcode UsageError} for what no unit can hold (a program not found, a
 * path with a newline), naming the service.
 *
 * @example
 * ```ts
 * import { serviceUnit } from "./systemd_service_unit.ts";
 * const { unit } = serviceUnit({
 *   name: "web", command: ["sh", "-c", "exec sleep 60"], cwd: "/", env: {},
 *   options: { restart: "always", maxRestarts: 10, restartDelayMs: 100, retry: "TERM/10/KILL/5", tracking: "auto" },
 *   requires: [], autostart: true, source: "example",
 * }, { version: "0.3.0" });
 * console.log(unit.includes("Restart=always")); // true
 * ```
 */
export function serviceUnit(s: ExportedService, options: ServiceUnitOptions): ServiceUnitText {
  const o = s.options;
  const path = s.env.PATH ?? options.path ?? Deno.env.get("PATH");
  const program = programOf(s, path);
  const deps = s.requires.map(serviceUnitName).join(" ");
  const unit: string[] = [
    `# ${s.name}: exported by pidkit ${options.version} (pidkit export systemd) from`,
    `# ${s.source}, for systemd to supervise instead of pidkit.`,
    "# Stop pidkit's copy before starting this one (pidkit down, or pidkit stop NAME).",
    "",
    "[Unit]",
    `Description=${oneLine(`${s.name} (exported by pidkit)`)}`,
    ...(deps
      ? ["# pidkit's dependsOn: started once these are ready.", `Requires=${deps}`, `After=${deps}`]
      : []),
    "",
    "[Service]",
    ...typeLines(o),
    `ExecStart=${[program, ...s.command.slice(1)].map(unitQuote).join(" ")}`,
    `WorkingDirectory=${pathValue(s, "cwd", s.cwd)}`,
    ...(s.user !== undefined ? [`User=${pathValue(s, "user", s.user)}`] : []),
    ...envLines(s, options.envFile, path),
    ...restartLines(o),
    ...stopLines(o.retry),
    ...resourceLines(o),
    ...policyLines(o),
    ...outputLines(s),
    ...otherLines(s),
    "",
    ...(s.autostart
      ? ["[Install]", "WantedBy=multi-user.target"]
      : ["# autostart: false: no [Install] section; start it with systemctl start."]),
    "",
  ];
  const env = Object.entries(s.env);
  return {
    unit: unit.join("\n"),
    ...(env.length > 0
      ? {
        env: [
          `# The environment of ${s.name} (pidkit export systemd): read by systemd as root`,
          "# through EnvironmentFile=, kept mode 0600 because values may be secrets.",
          ...env.map(([k, v]) => envFileLine(k, v)),
          "",
        ].join("\n"),
      }
      : {}),
  };
}

/** The absolute program: systemd runs an absolute path (or searches its own fixed path). */
function programOf(s: ExportedService, path: string | undefined): string {
  try {
    return findProgram(s.command[0] ?? "", { cwd: s.cwd, ...(path ? { path } : {}) });
  } catch (err) {
    throw new UsageError(`cannot export ${s.name}: ${(err as Error).message}`);
  }
}

function pathValue(s: ExportedService, what: string, value: string): string {
  const v = unitPath(value);
  if (v === undefined) {
    throw new UsageError(
      `cannot export ${s.name}: its ${what} ${JSON.stringify(value)} cannot go into a unit`,
    );
  }
  return v;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replaceAll("%", "%%");
}

/** `Type=` and what goes with it: readiness, the watchdog, the start timeout. */
function typeLines(o: ServiceOptions): string[] {
  const out: string[] = [];
  const notify = o.readyNotify === true || o.watchdogMs !== undefined;
  if (o.forking) {
    out.push("Type=forking");
    if (o.mainPidfile !== undefined) {
      out.push(`PIDFile=${unitPath(o.mainPidfile) ?? o.mainPidfile}`);
    } else {out.push(
        "# pidkit found the daemon among the tree's processes; systemd guesses (GuessMainPID=yes).",
      );}
    if (o.readyNotify) {
      out.push(
        "# pidkit --ready-notify: a forking service cannot be Type=notify too; ready when the first process exits.",
      );
    }
  } else if (o.readyNotify) {
    out.push("Type=notify");
  } else {
    out.push("# Started once it runs (pidkit's default readiness).", "Type=exec");
  }
  if (notify) {
    out.push(
      "# pidkit takes sd_notify messages from every process of the tree.",
      "NotifyAccess=all",
    );
  }
  if (o.forking || o.readyNotify) {
    out.push(`TimeoutStartSec=${seconds(o.readyTimeoutMs ?? READY_TIMEOUT_MS)}`);
  }
  if (o.watchdogMs !== undefined) out.push(`WatchdogSec=${seconds(o.watchdogMs)}`);
  const unsaid: string[] = [];
  if (o.readyAfterMs !== undefined) {
    unsaid.push(`once it has lived ${seconds(o.readyAfterMs)} (--ready-after)`);
  }
  if (o.readyTcp !== undefined) {
    unsaid.push(`once ${o.readyTcp} accepts TCP connections (--ready-tcp)`);
  }
  if (o.readyFile !== undefined) unsaid.push(`once ${o.readyFile} exists (--ready-file)`);
  if (o.readyFd !== undefined) unsaid.push(`once it writes a line to fd ${o.readyFd} (--ready-fd)`);
  if (unsaid.length > 0) {
    out.push(
      `# pidkit counted it ready ${unsaid.join(", ")}${
        o.readyTimeoutMs !== undefined ? `, within ${seconds(o.readyTimeoutMs)}` : ""
      }:`,
      "# systemd has no such condition; units After= this one start once it runs",
      "# (or make the service send READY=1 and use Type=notify).",
    );
  }
  return out;
}

function envLines(
  s: ExportedService,
  envFile: string | undefined,
  path: string | undefined,
): string[] {
  const out: string[] = [];
  if (path !== undefined && s.env.PATH === undefined) {
    out.push(
      "# pidkit started it with the PATH of the shell that ran it; systemd's default PATH is shorter.",
      `Environment=${unitEnvironment("PATH", path)}`,
    );
  }
  if (Object.keys(s.env).length === 0) return out;
  if (envFile === undefined) {
    throw new UsageError(`cannot export ${s.name}: no place for its environment file`);
  }
  out.push(
    "# Its environment, in a file of mode 0600: Environment= lines would be readable by every",
    "# user (unit files are world-readable; systemctl show prints Environment= to anyone).",
    `EnvironmentFile=${pathValue(s, "environment file", envFile)}`,
  );
  return out;
}

function restartLines(o: ServiceOptions): string[] {
  if (o.restart === "no") return ["Restart=no"];
  return [
    `Restart=${o.restart}`,
    `RestartSec=${seconds(o.restartDelayMs)}`,
    `# pidkit doubles the delay after each restart in a row (up to 30s) and gives up after`,
    `# ${o.maxRestarts} in a row (--max-restarts); systemd waits RestartSec= each time and gives up`,
    "# after StartLimitBurst= starts within StartLimitIntervalSec= (its defaults: 5 in 10s).",
  ];
}

/**
 * The stop schedule (items alternate: a signal, a wait): `SIG/T/KILL/T2`
 * and `SIG/T` map exactly; any other is approximated by its first signal
 * and wait, with a comment.
 */
function stopLines(retry: string): string[] {
  let steps: RetryStep[];
  try {
    steps = parseRetry(retry);
  } catch {
    return [`# pidkit stop schedule ${retry}: not understood; systemd's default applies.`];
  }
  const signal = steps[0]?.signal;
  const wait = steps[1]?.timeoutMs;
  const out: string[] = [];
  if (signal !== undefined && signal !== "SIGTERM") out.push(`KillSignal=${signal}`);
  if (wait !== undefined && Number.isFinite(wait)) out.push(`TimeoutStopSec=${seconds(wait)}`);
  const exact = signal !== undefined && wait !== undefined && !steps.some((s) => s.forever) &&
    (steps.length === 2 || (steps.length === 4 && steps[2].signal === "SIGKILL"));
  if (exact && steps.length === 2) out.push("SendSIGKILL=no");
  if (!exact) {
    out.push(
      `# pidkit stop schedule ${retry}: systemd sends KillSignal=, waits TimeoutStopSec=, then SIGKILL.`,
    );
  }
  return out;
}

function resourceLines(o: ServiceOptions): string[] {
  const out: string[] = [];
  for (const [name, { soft, hard }] of Object.entries(o.limits ?? {})) {
    const setting = LIMIT_SETTING[name];
    if (setting === undefined) out.push(`# pidkit --limit ${name}: no systemd setting`);
    else out.push(`${setting}=${limitValue(soft)}${soft === hard ? "" : `:${limitValue(hard)}`}`);
  }
  if (o.nice !== undefined) out.push(`Nice=${o.nice}`);
  if (o.oomScoreAdjust !== undefined) out.push(`OOMScoreAdjust=${o.oomScoreAdjust}`);
  if (o.tracking !== "auto") {
    out.push(
      `# pidkit --tracking ${o.tracking}: systemd always tracks the tree by the unit's cgroup.`,
    );
  }
  return out;
}

/** `--max-memory` as `MemoryMax=`; schedules and watching as comments (timer and path units). */
function policyLines(o: ServiceOptions): string[] {
  const out: string[] = [];
  if (o.maxMemoryBytes !== undefined) {
    out.push(
      "# pidkit --max-memory: restarted through its stop schedule when the tree's resident memory",
      "# (sampled each second) went over it; MemoryMax= is the cgroup's hard limit instead: the",
      "# kernel reclaims, then OOM-kills at it (needs the memory controller), and Restart= applies.",
      `MemoryMax=${o.maxMemoryBytes}`,
    );
  }
  const tz = o.tz !== undefined ? ` (${o.tz})` : "";
  if (o.cron !== undefined) {
    out.push(
      `# pidkit --cron ${
        oneLine(o.cron)
      }${tz}: started at each tick; systemd: a .timer unit (OnCalendar=).`,
    );
  }
  if (o.cronRestart !== undefined) {
    out.push(
      `# pidkit --cron-restart ${
        oneLine(o.cronRestart)
      }${tz}: restarted at each tick; systemd: a .timer unit`,
      "# starting a oneshot service that runs systemctl restart.",
    );
  }
  if (o.watch !== undefined && o.watch.length > 0) {
    out.push(
      `# pidkit --watch ${
        oneLine(o.watch.join(" "))
      }: restarted on a change; systemd: a .path unit (PathChanged=).`,
    );
  }
  return out;
}

function limitValue(v: LimitValue): string {
  return v === "unlimited" ? "infinity" : String(v);
}

function outputLines(s: ExportedService): string[] {
  const out: string[] = [];
  const o = s.options;
  if (s.log !== undefined && unitPath(s.log) !== undefined) {
    out.push(`StandardOutput=append:${unitPath(s.log)}`, "StandardError=inherit");
  } else {
    out.push(`# Output goes to the journal: journalctl -u ${serviceUnitName(s.name)}`);
  }
  if (o.logMaxBytes !== undefined) {
    out.push(
      `# pidkit rotated its log at ${o.logMaxBytes} bytes keeping ${
        o.logKeep ?? 5
      } (--log-max-size, --log-keep);`,
      "# systemd does not rotate append: files (journald rotates the journal; or use logrotate).",
    );
  }
  if (s.pidfile !== undefined) {
    out.push(`# pidkit held the PID file ${s.pidfile} (locked); systemd keeps none for it.`);
  }
  return out;
}

/** A comment for each option this module does not know (added to pidkit after it). */
function otherLines(s: ExportedService): string[] {
  return Object.entries(s.options)
    .filter(([k, v]) => !HANDLED.has(k) && v !== undefined)
    .map(([k, v]) =>
      `# pidkit option ${k}=${oneLine(JSON.stringify(v))}: not expressed for systemd.`
    );
}

/** Milliseconds as a systemd time span (`10s`, `1500ms`). */
function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}
