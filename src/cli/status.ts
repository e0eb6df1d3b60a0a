/**
 * `pidkit status [NAME | --pidfile FILE] [--json]`: is it running? Exit 0
 * running (also starting, stopping, and orphaned: its tree still runs),
 * 1 stale PID file, 3 not running, 4 cannot tell.
 *
 * Start-up time matters here (scripts call it in loops), so this module
 * imports only what it needs: no `node:` modules, no process-tree code.
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  readCmdline,
  readProcStat,
  readUptimeSeconds,
} from "../os/proc.ts";
import { locatePid } from "../os/pid_namespace.ts";
import {
  inspectPidFile,
  inspectService,
  isRunningPhase,
  listServices,
  resolveRunDir,
  type ServiceInfo,
  type ServicePhase,
  validateName,
} from "../service/services.ts";
import { formatDuration } from "../os/duration.ts";
import { absolutePath } from "../os/paths.ts";
import { EXIT, printErr, printOut, useColor } from "./io.ts";
import { commandLine, paintPhase, printJson } from "./format.ts";
import type { CommandInput } from "./spec.ts";
import { identityFromInput } from "./identity_options.ts";

/** The exit status `status` gives for a phase. */
export function exitCodeFor(phase: ServicePhase): number {
  if (isRunningPhase(phase)) return EXIT.ok;
  switch (phase) {
    case "stale":
      return EXIT.stale;
    case "stopped":
    case "failed":
      return EXIT.notRunning;
    default:
      return EXIT.unknown;
  }
}

/** The `--json` shape of one service (every key always present; `null` when not known). */
export interface StatusJson {
  name: string;
  state: ServicePhase;
  exitCode: number;
  pid: number | null;
  supervisorPid: number | null;
  startedAt: string | null;
  uptimeMs: number | null;
  restarts: number | null;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  command: string[] | null;
  pidfile: string | null;
  log: string | null;
  error: string | null;
  /** The PID file was deleted or replaced under a running supervisor. */
  pidfileLost: boolean;
  /** Whether a process holds the PID file's lock (`null` when there is no file). */
  locked: boolean | null;
  /** How "running" was verified: `lock`, `start-time`, `recorded-start-time`, `exec`, `name`, `user`. */
  verifiedBy: string[] | null;
  /** Why a PID file is stale or names another program (`null` otherwise). */
  reason: string | null;
  /** The lines after the PID of a file with more than a PID (postmaster.pid), as they are. */
  extraLines: string[] | null;
  /** The last `STATUS=` text the service sent over sd_notify. */
  statusText: string | null;
  /**
   * The process `pid` names, as the kernel numbers it here: `pid` itself,
   * unless the lock holder lives in another PID namespace (a container),
   * where `pid` is that namespace's number. Uptime and command come from it.
   */
  kernelPid: number | null;
  /** `pid` is a PID of the lock holder's (nested) PID namespace, not of ours. */
  namespaced: boolean;
}

/** Build the JSON record of a service (reads the leader's start time for the uptime). */
export function statusJson(info: ServiceInfo, pidfile: string | null): StatusJson {
  const where = info.pid !== undefined && info.probe?.status === "running"
    ? locatePid(info.pid, info.probe.holderPid)
    : undefined;
  // A stale file's PID may be anyone here (pid 1 of a container long gone): nothing is read for it.
  const live = isRunningPhase(info.phase);
  const kernelPid = !live ? undefined : where ? where.kernelPid : info.pid;
  const up = kernelPid !== undefined ? uptimeMs(kernelPid) : undefined;
  // A bare PID file (no state): the command of the process it names.
  const command = info.record?.command ??
    (info.record === undefined && up !== undefined ? readCmdline(kernelPid!) : undefined);
  return {
    name: info.name,
    state: info.phase,
    exitCode: exitCodeFor(info.phase),
    pid: info.pid ?? null,
    supervisorPid: info.supervisorPid ?? null,
    startedAt: up === undefined ? null : new Date(Date.now() - up).toISOString(),
    uptimeMs: up ?? null,
    restarts: info.record?.restarts ?? null,
    lastExit: info.record?.lastExit ?? null,
    command: command ?? null,
    pidfile: info.record?.pidfile ?? pidfile,
    log: info.record?.log ?? null,
    error: info.error ?? null,
    pidfileLost: info.pidfileLost ?? false,
    ...verdictFields(info),
    statusText: info.record?.statusText ?? null,
    kernelPid: kernelPid ?? null,
    namespaced: where?.namespaced ?? false,
  };
}

/** `locked`, `verifiedBy` and `reason` of the JSON record, from the lock or the PID file verdict. */
function verdictFields(
  info: ServiceInfo,
): Pick<StatusJson, "locked" | "verifiedBy" | "reason" | "extraLines"> {
  const v = info.verdict;
  if (v === undefined) {
    const held = info.probe?.status === "running";
    return {
      locked: info.probe === undefined || info.probe.status === "absent" ? null : held,
      verifiedBy: held ? ["lock"] : null,
      reason: null,
      extraLines: null,
    };
  }
  if (v.status === "absent") {
    return { locked: null, verifiedBy: null, reason: null, extraLines: null };
  }
  return {
    locked: v.locked,
    verifiedBy: v.status === "running" ? v.verifiedBy : null,
    reason: v.status === "running" ? null : v.reason,
    extraLines: v.status !== "mismatch" && v.extraLines ? v.extraLines : null,
  };
}

function uptimeMs(pid: number): number | undefined {
  const st = readProcStat(pid);
  if (!st) return undefined;
  return Math.max(
    0,
    Math.round((readUptimeSeconds() - st.startTime / CLOCK_TICKS_PER_SECOND) * 1000),
  );
}

/**
 * `pidkit status`. Its exit status says what runs (1 is a stale PID file),
 * so an error that keeps it from telling, such as a run dir it may not
 * trust, is 4 (cannot tell), not the usual 1.
 */
export async function run(input: CommandInput): Promise<number> {
  try {
    return await report(input);
  } catch (err) {
    if (!(err instanceof PidkitError) || err instanceof UsageError) throw err;
    const text = `pidkit status: ${err.message}`;
    printErr(
      input.values.json === true ? JSON.stringify({ error: text, code: EXIT.unknown }) : text,
    );
    return EXIT.unknown;
  }
}

async function report(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  const pidfile = input.values.pidfile as string | undefined;
  const name = input.positionals[0];
  const identity = identityFromInput(input);
  if (pidfile !== undefined) {
    if (name !== undefined) throw new UsageError("give NAME or --pidfile, not both");
    const path = absolutePath(pidfile);
    const s = statusJson(await inspectPidFile(path, identity), path);
    if (json) printJson(s);
    else printOut(describe(s, true));
    return s.exitCode;
  }
  if (name !== undefined) validateName(name);
  const dir = resolveRunDir({ dir: input.values.dir as string | undefined });
  if (name !== undefined) {
    const info = await inspectService(dir, name);
    const s = statusJson(info, `${dir}/${name}.pid`);
    if (json) printJson(s);
    else if (info.phase === "stopped" && !info.record) {
      printOut(`${name}: not running (no such service in ${dir})`);
    } else printOut(describe(s, false));
    return s.exitCode;
  }
  let names: string[];
  try {
    names = await listServices(dir);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    if (json) {
      printErr(JSON.stringify({ error: `pidkit status: ${err.message}`, code: EXIT.unknown }));
    } else printErr(`pidkit status: ${err.message}`);
    return EXIT.unknown;
  }
  const all = await Promise.all(
    names.map(async (n) => statusJson(await inspectService(dir, n), `${dir}/${n}.pid`)),
  );
  if (json) printJson({ dir, services: all });
  else if (all.length === 0) printOut(`no services in ${dir}`);
  else printOut(all.map((s) => describe(s, false)).join("\n\n"));
  if (all.length === 0) return EXIT.notRunning;
  // Several services: 0 only when all run; otherwise the highest status (4 > 3 > 1).
  return Math.max(...all.map((s) => s.exitCode));
}

/** ` (pid N)`; for a PID of another namespace the kernel's PID, then the one written. */
function pidNote(s: StatusJson): string {
  if (s.pid === null) return "";
  if (!s.namespaced) return ` (pid ${s.pid})`;
  const here = s.kernelPid === null ? "pid unknown here" : `pid ${s.kernelPid}`;
  return ` (${here}; pid ${s.pid} in its namespace)`;
}

/** The human form: a headline and indented details. */
function describe(s: StatusJson, plainFile: boolean): string {
  const color = useColor();
  const head = `${s.name}: ${paintPhase(s.state, color)}${pidNote(s)}`;
  const rows: [string, string][] = [];
  const add = (k: string, v: string | null | undefined) => {
    if (v !== null && v !== undefined && v !== "") rows.push([k, v]);
  };
  if (s.state === "stale" && s.reason !== null && s.error === null) {
    add("note", `${s.reason}; nothing is signalled`);
  } else if (s.state === "stale") {
    add("note", "the PID file's lock is free: nothing holds it; its PID is never signalled");
  }
  if (s.state === "running" && s.locked === false) {
    add("lock", `none (unlocked PID file); verified by ${s.verifiedBy?.join(", ")}`);
  }
  if (s.pidfileLost) {
    add("note", "the PID file was deleted or replaced by someone else; the service still runs");
  }
  if (s.state === "orphaned") {
    add("note", "the supervisor is gone but the tree still runs; `pidkit stop` stops it");
  }
  add("status", s.statusText);
  add(plainFile ? "lock holder" : "supervisor", s.supervisorPid?.toString());
  if (s.extraLines) add("file also says", s.extraLines.join(" | "));
  if (s.uptimeMs !== null) add("uptime", formatDuration(s.uptimeMs));
  add("restarts", s.restarts?.toString());
  if (s.lastExit) {
    // A --forking service's main process is not pidkit's child: its status is unknown.
    const how = s.lastExit.signal ??
      (s.lastExit.code === null ? "status unknown" : `code ${s.lastExit.code}`);
    add("last exit", `${how} at ${s.lastExit.at}`);
  }
  add("command", s.command ? commandLine(s.command) : null);
  add(plainFile ? "pid file" : "pidfile", s.pidfile);
  add("log", s.log);
  add("error", s.error);
  const w = Math.max(0, ...rows.map(([k]) => k.length)) + 1;
  return [head, ...rows.map(([k, v]) => `  ${(k + ":").padEnd(w)} ${v}`)].join("\n");
}
