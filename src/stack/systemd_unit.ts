/**
 * The systemd unit that brings a declaration back at boot: one unit per
 * file running `pidkit supervise --config FILE --dir DIR` (the file is the
 * truth; there is no save step), `Type=notify` (the supervisor sends
 * `READY=1` once the file is up), `ExecReload` with SIGHUP (re-read and
 * reconcile), `KillMode=process` (services outlive a killed supervisor and
 * are adopted by the next), and the comments needed to enable it.
 *
 * @module
 */

import { DEFAULT_RETRY, parseRetry, scheduleMs } from "../tree/stop_schedule.ts";
import { READY_TIMEOUT_MS } from "../service/readiness/readiness.ts";
import { unitEnvironment, unitPath, unitQuote } from "../service/export/systemd_syntax.ts";
import { UsageError } from "../os/errors.ts";
import { startLevels } from "./order.ts";
import type { ResolvedStack } from "./resolve.ts";

/**
 * What {@linkcode systemdUnit} needs.
 *
 * @example
 * ```ts
 * import type { SystemdUnitOptions } from "./systemd_unit.ts";
 * const options: SystemdUnitOptions = {
 *   file: "/srv/app/pidkit.jsonc", dir: "/run/pidkit", user: false,
 *   program: ["/usr/local/bin/pidkit"], version: "0.3.0",
 * };
 * console.log(options.dir);
 * ```
 */
export interface SystemdUnitOptions {
  /** The declaration file (absolute). */
  file: string;
  /** The run directory (absolute), baked into the unit. */
  dir: string;
  /** A user unit (`systemctl --user`), else a system unit. */
  user: boolean;
  /** The program that runs pidkit (absolute paths: see `selfProgram`). */
  program: string[];
  /** pidkit's version, for the header. */
  version: string;
  /** Procfile mode: `--procfile` and the formation. */
  procfile?: { formation?: string };
  /**
   * PATH for the unit (the caller's): an installed pidkit's shim runs
   * `deno` from PATH, and declared services start from it too.
   */
  path?: string;
}

/**
 * The unit's file name for a declaration: `pidkit-` and the name of the
 * file's directory (`/srv/app/pidkit.jsonc` -> `pidkit-app.service`).
 *
 * @example
 * ```ts
 * import { unitName } from "./systemd_unit.ts";
 * unitName("/srv/my app/pidkit.jsonc"); // "pidkit-my-app.service"
 * ```
 */
export function unitName(file: string): string {
  const parts = file.split("/").filter((p) => p !== "");
  const base = (parts.at(-2) ?? "root").replace(/[^A-Za-z0-9_.:-]+/g, "-").replace(/^-+|-+$/g, "");
  return `pidkit-${base || "stack"}.service`;
}

/**
 * The text of the unit for `stack` (see the module doc).
 *
 * @example
 * ```ts
 * import { systemdUnit } from "./systemd_unit.ts";
 * const text = systemdUnit({ base: "/srv/app", services: [] }, {
 *   file: "/srv/app/pidkit.jsonc", dir: "/run/pidkit", user: false,
 *   program: ["/usr/local/bin/pidkit"], version: "0.3.0",
 * });
 * console.log(text.includes("Type=notify")); // true
 * ```
 */
export function systemdUnit(stack: ResolvedStack, options: SystemdUnitOptions): string {
  const name = unitName(options.file);
  const ctl = options.user ? "systemctl --user" : "systemctl";
  const where = options.user ? "~/.config/systemd/user/" : "/etc/systemd/system/";
  const args = [
    ...options.program,
    "supervise",
    options.procfile ? "--procfile" : "--config",
    options.file,
    "--dir",
    options.dir,
    ...(options.procfile?.formation ? ["--formation", options.procfile.formation] : []),
  ];
  const start = startTimeoutSeconds(stack);
  const stop = stopTimeoutSeconds(stack);
  const lines = [
    `# pidkit: the services of ${options.file}, brought back at boot.`,
    `# Made by \`pidkit startup systemd\` (pidkit ${options.version}); made again after`,
    "# moving pidkit or Deno (the paths below are absolute).",
    "#",
    `# Install: save as ${where}${name} (\`pidkit startup systemd --write\` does), then`,
    `#   ${ctl} daemon-reload`,
    `#   ${ctl} enable --now ${name}`,
    ...(options.user
      ? [
        "# A user unit starts at boot only with lingering: loginctl enable-linger $USER",
      ]
      : []),
    "#",
    "# The file is the truth: after an edit, apply it with",
    `#   ${ctl} reload ${name}   (SIGHUP: read again and reconciled, as pidkit up)`,
    `# or pidkit up -c ${options.file} --dir ${options.dir}: both take turns on`,
    `# ${options.dir}/stack.lock. Services started by hand in ${options.dir} are held by`,
    "# this supervisor too, and stopped with it.",
    "",
    "[Unit]",
    `Description=pidkit: services of ${options.file}`,
    "After=network.target",
    "",
    "[Service]",
    "# READY=1 comes from the supervisor (the main process) once the file is up;",
    "# STATUS= says what runs and what failed (systemctl status).",
    "Type=notify",
    "NotifyAccess=main",
    "# env --ignore-signal=USR1: Deno would open its inspector on SIGUSR1 before",
    "# pidkit disarms it.",
    `ExecStart=/usr/bin/env --ignore-signal=USR1 ${args.map(unitQuote).join(" ")}`,
    "ExecReload=/bin/kill -HUP $MAINPID",
    `WorkingDirectory=${unitPathOf(stack.base)}`,
    "# A small young generation, no optimizing compiler and a collection once quiet",
    "# (--expose-gc) for the supervisor; it removes them from its environment before",
    "# it starts a service.",
    "Environment=DENO_V8_FLAGS=--max-semi-space-size=1,--lite-mode,--expose-gc",
    ...(options.path
      ? [
        "# The PATH of the shell that made this unit: the pidkit command's deno, and what",
        "# declared services find (they start from PATH, HOME, LANG... of the supervisor).",
        `Environment=${unitEnvironment("PATH", options.path)}`,
      ]
      : []),
    "# KillMode=process: only the supervisor is signalled. systemctl stop is all it",
    "# takes (it stops every service itself, each on its own schedule); when the",
    "# supervisor dies (SIGKILL, OOM) its services run on and the restarted unit",
    "# adopts them instead of starting them twice. The price: systemd logs them as",
    "# left-over processes on that restart, and a supervisor that outlives",
    "# TimeoutStopSec is killed alone (pidkit down ends what it left).",
    "KillMode=process",
    "# The longest chain of ready timeouts, and the longest stop schedule.",
    `TimeoutStartSec=${start}`,
    `TimeoutStopSec=${stop}`,
    "Restart=on-failure",
    ...(options.user ? [] : ["# Per-service cgroups below the unit's own.", "Delegate=yes"]),
    "",
    "[Install]",
    `WantedBy=${options.user ? "default.target" : "multi-user.target"}`,
    "",
  ];
  return lines.join("\n");
}

/** The sum over the start levels of each level's longest ready timeout, plus 30 s. */
function startTimeoutSeconds(stack: ResolvedStack): number {
  const byName = new Map(stack.services.map((s) => [s.name, s]));
  let ms = 0;
  for (const level of startLevels(stack.services)) {
    ms += Math.max(
      0,
      ...level.map((n) => Number(byName.get(n)?.launch.readyTimeout ?? READY_TIMEOUT_MS)),
    );
  }
  return Math.ceil(ms / 1000) + 30;
}

/** The longest stop schedule of any service (they stop together), plus 15 s; `infinity` for `forever`. */
function stopTimeoutSeconds(stack: ResolvedStack): string {
  let ms = 15_000; // the default schedule, TERM/10/KILL/5
  for (const s of stack.services) {
    const total = scheduleMs(parseRetry(s.launch.retry ?? DEFAULT_RETRY));
    if (!Number.isFinite(total)) return "infinity";
    ms = Math.max(ms, total);
  }
  return String(Math.ceil(ms / 1000) + 15);
}

/** A path for a unit setting, or a UsageError for one no unit can hold. */
function unitPathOf(path: string): string {
  const value = unitPath(path);
  if (value === undefined) {
    throw new UsageError(`cannot write ${JSON.stringify(path)} into a unit file`);
  }
  return value;
}
