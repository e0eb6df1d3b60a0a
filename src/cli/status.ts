/**
 * `pidkit status [NAME | --pidfile FILE] [--json]`: is it running? Exit 0
 * running (also starting, stopping, and orphaned: its tree still runs),
 * 1 stale PID file, 3 not running, 4 cannot tell. The data comes from
 * src/service/inspect/service_status.ts; this module prints it.
 *
 * Start-up time matters here (scripts call it in loops), so this module
 * imports only what it needs: no `node:` modules, no process-tree code.
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import { resolveRunDir, serviceNames } from "../service/model/run_dir.ts";
import {
  pidFileStatus,
  type ServiceStatus,
  serviceStatus,
  serviceStatusDetail,
} from "../service/inspect/service_status.ts";
import { formatDuration } from "../os/duration.ts";
import { EXIT, printErr, printOut, useColor } from "./io.ts";
import { commandLine, paintPhase, printJson } from "./format.ts";
import type { CommandInput } from "./spec.ts";
import { IDENTITY_OPTIONS } from "./identity_specs.ts";

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
  // The identity options' readers (process_identity.ts, passwd.ts) load only when one is given.
  const identity = Object.keys(IDENTITY_OPTIONS).some((k) => input.values[k] !== undefined)
    ? (await import("./identity_options.ts")).identityFromInput(input)
    : {};
  if (pidfile !== undefined) {
    if (name !== undefined) throw new UsageError("give NAME or --pidfile, not both");
    const s = await pidFileStatus(pidfile, identity);
    if (json) printJson(s);
    else printOut(describe(s, true));
    return s.exitCode;
  }
  const dir = input.values.dir as string | undefined;
  if (name !== undefined) {
    const { status: s, recorded, dir: runDir } = await serviceStatusDetail(name, { dir });
    if (json) printJson(s);
    else if (s.state === "stopped" && !recorded) {
      printOut(`${name}: not running (no such service in ${runDir})`);
    } else printOut(describe(s, false));
    return s.exitCode;
  }
  const runDir = resolveRunDir({ dir });
  let names: string[];
  try {
    names = await serviceNames(runDir);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    if (json) {
      printErr(JSON.stringify({ error: `pidkit status: ${err.message}`, code: EXIT.unknown }));
    } else printErr(`pidkit status: ${err.message}`);
    return EXIT.unknown;
  }
  const all = await Promise.all(names.map((n) => serviceStatus(n, { dir: runDir })));
  if (json) printJson({ dir: runDir, services: all });
  else if (all.length === 0) printOut(`no services in ${runDir}`);
  else printOut(all.map((s) => describe(s, false)).join("\n\n"));
  if (all.length === 0) return EXIT.notRunning;
  // Several services: 0 only when all run; otherwise the highest status (4 > 3 > 1).
  return Math.max(...all.map((s) => s.exitCode));
}

/** ` (pid N)`; for a PID of another namespace the kernel's PID, then the one written. */
function pidNote(s: ServiceStatus): string {
  if (s.pid === null && s.mainUnknown !== null) {
    const n = s.mainUnknown;
    return n === 0
      ? "; main process unknown"
      : `; main process unknown (${n} process${n === 1 ? "" : "es"})`;
  }
  if (s.pid === null) return "";
  if (!s.namespaced) return ` (pid ${s.pid})`;
  const here = s.kernelPid === null ? "pid unknown here" : `pid ${s.kernelPid}`;
  return ` (${here}; pid ${s.pid} in its namespace)`;
}

/** The human form: a headline and indented details. */
function describe(s: ServiceStatus, plainFile: boolean): string {
  const color = useColor();
  const r = s.restart;
  const due = r
    ? ` in ${formatDuration(r.inMs)} (attempt ${r.attempt} of ${r.of})`
    : s.state === "scheduled" && s.nextRun
    ? `, next run in ${formatDuration(s.nextRun.inMs)}`
    : "";
  const head = `${s.name}: ${paintPhase(s.state, color)}${due}${pidNote(s)}`;
  const rows: [string, string][] = [];
  const add = (k: string, v: string | null | undefined) => {
    if (v !== null && v !== undefined && v !== "") rows.push([k, v]);
  };
  if (s.state === "stale" && s.reason !== null && s.error === null) {
    add("note", `${s.reason}; nothing is signalled`);
  } else if (s.state === "stale" && s.locked === true) {
    // --exec, --name or --user named another program than the lock's.
    add("note", "its lock is held, but not by the program asked for; nothing is signalled");
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
  add(
    plainFile ? "lock holder" : "supervisor",
    s.supervisorStopped
      ? `${s.supervisorPid} (stopped: it does not answer; kill -CONT ${s.supervisorPid} resumes it)`
      : s.supervisorPid?.toString(),
  );
  if (s.extraLines) add("file also says", s.extraLines.join(" | "));
  if (s.uptimeMs !== null) add("uptime", formatDuration(s.uptimeMs));
  add("restarts", s.restarts?.toString());
  if (s.nextRun) {
    add(`next ${s.nextRun.action}`, `${s.nextRun.at} (in ${formatDuration(s.nextRun.inMs)})`);
  }
  if (s.policyAction) {
    const p = s.policyAction;
    add(`last ${p.policy} ${p.action}`, `${p.at}: ${p.reason}`);
  }
  if (s.lastExit) {
    // A --forking service's main process is not pidkit's child: its status is unknown.
    const how = s.lastExit.signal ??
      (s.lastExit.code === null ? "status unknown" : `code ${s.lastExit.code}`);
    add("last exit", `${how} at ${s.lastExit.at}`);
  }
  add("command", s.command ? commandLine(s.command) : null);
  add(plainFile ? "pid file" : "pidfile", s.pidfile);
  add("log", s.log);
  add("declared in", s.file);
  add("error", s.error);
  const w = Math.max(0, ...rows.map(([k]) => k.length)) + 1;
  return [head, ...rows.map(([k, v]) => `  ${(k + ":").padEnd(w)} ${v}`)].join("\n");
}
