/**
 * `pidkit stop NAME | --pidfile FILE [--retry SCHEDULE] [--json]`.
 *
 * A supervised service: write the schedule into `DIR/NAME.ctl`, SIGTERM the
 * supervisor (the PID file's lock holder as the kernel reports it), wait
 * until the lock is free, then make sure the tree is empty. An orphaned tree
 * (its supervisor was killed): stop the recorded tree directly. A foreign
 * PID file: stop its lock holder and the holder's descendants; a PID whose
 * lock is free is stale and is never signalled.
 *
 * @module
 */

import { requireOwnProc } from "../os/pid_namespace.ts";
import { PidkitError, UsageError } from "../os/errors.ts";
import { formatDuration } from "../os/duration.ts";
import { PidFile, probe, waitForRelease } from "../lock/pid_file.ts";
import {
  inspectService,
  resolveRunDir,
  type ServiceInfo,
  servicePaths,
  validateName,
} from "../service/services.ts";
import { absolutePath } from "../os/paths.ts";
import { hasFileOpen, isProcessAlive } from "../os/proc.ts";
import { signalProcess } from "../os/pidfd.ts";
import { readServiceRecord, type ServiceRecord } from "../service/service_record.ts";
import {
  controlPath,
  readControl,
  removeControl,
  type StopResult,
  writeControl,
} from "../service/supervisor_protocol.ts";
// retry.ts, not tree.ts: the whole tree module is only needed for an orphaned tree.
import { DEFAULT_RETRY, parseRetry, type RetryStep } from "../tree/stop_schedule.ts";
import { EXIT, printOut } from "./io.ts";
import { stopForeign, stopRoots } from "./stop_foreign.ts";
import { identityFromInput } from "./identity_options.ts";
import { judgePidFile } from "../lock/pid_file_verdict.ts";
import { type IdentityOptions, resolveIdentity } from "../os/process_identity.ts";
import { Progress } from "./stop_progress.ts";
import type { CommandInput } from "./spec.ts";
import { delay } from "../os/delay.ts";

/** What a stop did, for the text and JSON output. */
export interface StopOutcome {
  name: string;
  status: "stopped" | "not-running" | "stale";
  pid?: number;
  orphaned?: boolean;
  lastSignal?: string;
  signalsSent?: { signal: string; atMs: number; targets: number }[];
  durationMs?: number;
  survivors?: number[];
  note?: string;
}

/** Run `pidkit stop`. */
export async function run(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  const retry = typeof input.values.retry === "string" ? input.values.retry : undefined;
  if (retry !== undefined) parseRetry(retry);
  const pidfile = typeof input.values.pidfile === "string" ? input.values.pidfile : undefined;
  const name = input.positionals[0];
  requireOwnProc(); // every PID stop signals comes from /proc
  const identity = identityFromInput(input);
  let outcome: StopOutcome;
  if (name === undefined) {
    if (pidfile === undefined) throw new UsageError("missing NAME or --pidfile FILE");
    outcome = await stopPidFile(absolutePath(pidfile), retry, identity);
  } else {
    if (pidfile !== undefined) throw new UsageError("give NAME or --pidfile, not both");
    validateName(name);
    const dir = resolveRunDir({
      dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
    });
    outcome = await stopService(dir, name, { retry });
  }
  printOut(json ? JSON.stringify(outcome) : describe(outcome));
  return outcome.survivors?.length ? EXIT.failure : EXIT.ok;
}

/** The one-line text for a stop outcome. */
export function describe(o: StopOutcome): string {
  if (o.status === "not-running") return `${o.name} is not running${o.note ? ` (${o.note})` : ""}`;
  if (o.status === "stale") return `${o.name} is not running (${o.note})`;
  const pid = o.pid === undefined ? "" : ` (pid ${o.pid}${o.orphaned ? ", orphaned" : ""})`;
  const after = o.lastSignal ? ` after ${o.lastSignal.replace(/^SIG/, "")}` : "";
  const took = o.durationMs === undefined ? "" : ` in ${formatDuration(o.durationMs)}`;
  const left = o.survivors?.length ? `; still alive: ${o.survivors.join(", ")}` : "";
  return `stopped ${o.name}${pid}${after}${took}${left}${o.note ? ` (${o.note})` : ""}`;
}

/** Total wait of a schedule in ms; Infinity with `forever`. */
function scheduleMs(steps: RetryStep[]): number {
  if (steps.some((s) => s.forever)) return Infinity;
  return steps.reduce((t, s) => t + (s.timeoutMs ?? 0), 0);
}

/**
 * Stop service `name` of run directory `dir`. Waits until the PID file lock
 * is free and the tree is empty.
 */
export async function stopService(
  dir: string,
  name: string,
  options: { retry?: string } = {},
): Promise<StopOutcome> {
  const info = await inspectService(dir, name);
  const state = info.record;
  const pidfile = state?.pidfile ?? servicePaths(dir, name).pidfile;
  const retry = options.retry ?? state?.options.retry ?? DEFAULT_RETRY;
  const verdict = info.verdict;
  if (verdict?.status === "running" && !verdict.locked && verdict.target) {
    // A daemon's own unlocked PID file in the run dir (no pidkit state).
    return { name, status: "stopped", ...await stopRoots([verdict.target], retry) };
  }
  switch (info.phase) {
    case "running":
    case "reloading":
    case "starting":
    case "stopping":
      return await stopSupervised(dir, name, pidfile, retry, info.supervisorPid, state, info);
    case "orphaned":
      return await stopOrphan(name, pidfile, retry, state!);
    case "unknown":
      throw new PidkitError(`cannot tell whether ${name} runs: ${info.error ?? "unknown error"}`);
    default:
      return { name, status: "not-running" };
  }
}

async function stopSupervised(
  dir: string,
  name: string,
  pidfile: string,
  retry: string,
  supervisorPid: number | undefined,
  state: ServiceRecord | undefined,
  info?: ServiceInfo,
): Promise<StopOutcome> {
  if (supervisorPid === undefined) {
    throw new PidkitError(`cannot find the process holding ${pidfile} (is /proc mounted?)`);
  }
  const control = controlPath(dir, name);
  const steps = parseRetry(retry);
  const t0 = performance.now();
  await writeControl(control, { retry, requestedBy: Deno.pid, at: new Date().toISOString() });
  // Through a pidfd, checked once open to still hold the PID file: a
  // supervisor that just exited and whose PID was reused is never hit.
  // "gone": it just exited; the lock tells.
  signalProcess({ pid: supervisorPid }, "SIGTERM", () => holdsFile(supervisorPid, pidfile));
  const progress = new Progress(name, steps);
  const limit = scheduleMs(steps) + 10_000;
  let released: boolean;
  try {
    released = await waitForRelease(pidfile, {
      ...(Number.isFinite(limit) ? { timeout: limit } : {}),
    });
  } finally {
    progress.done();
  }
  if (released && info?.pidfileLost && state) {
    // The PID file was deleted under the supervisor: its lock cannot tell
    // when it is done. Wait for the supervisor itself (same PID and start time).
    const until = Date.now() + limit;
    while (isProcessAlive(state.supervisor.pid, state.supervisor.startTime) && Date.now() < until) {
      await delay(10);
    }
    released = !isProcessAlive(state.supervisor.pid, state.supervisor.startTime);
  }
  const durationMs = performance.now() - t0;
  if (!released) {
    throw new PidkitError(
      `${name} did not stop within ${
        formatDuration(limit)
      }: supervisor pid ${supervisorPid} still holds ${pidfile}`,
    );
  }
  const result = await readControl(control);
  await removeControl(control);
  const report = result && "signalsSent" in result ? result as StopResult : undefined;
  // The supervisor releases the lock only after the tree is empty, and then
  // reports. Without a report it may have been killed meanwhile, leaving the
  // tree alive: stop it directly.
  if (report === undefined) {
    // A tree spawned but not yet recorded when the supervisor died shows as orphaned.
    const again = await inspectService(dir, name).catch(() => undefined);
    if (again?.phase === "orphaned" && again.record?.tree) {
      return await stopOrphan(name, pidfile, retry, again.record);
    }
    const latest = (await readServiceRecord(servicePaths(dir, name).state).catch(() =>
      undefined
    )) ??
      state;
    const tree = latest?.tree ?? state?.tree;
    const orphan = tree ? await tryAttach(tree) : undefined;
    if (orphan && orphan.members().length > 0) {
      return await stopOrphan(name, pidfile, retry, latest!);
    }
  }
  return {
    name,
    status: "stopped",
    pid: report?.pid ?? state?.tree?.pid,
    lastSignal: report?.signalsSent.at(-1)?.signal,
    signalsSent: report?.signalsSent,
    durationMs,
    survivors: report?.survivors ?? [],
  };
}

async function tryAttach(ref: NonNullable<ServiceRecord["tree"]>) {
  const { attachTree } = await import("../tree/process_tree.ts");
  try {
    return attachTree(ref);
  } catch {
    return undefined;
  }
}

async function stopOrphan(
  name: string,
  pidfile: string,
  retry: string,
  state: ServiceRecord,
): Promise<StopOutcome> {
  const tree = await tryAttach(state.tree!);
  if (tree === undefined) return { name, status: "not-running" };
  const progress = new Progress(name, parseRetry(retry));
  let report;
  try {
    report = await tree.stop({ retry, onProgress: (e) => progress.step(e.signal, e.timeoutMs) });
  } finally {
    progress.done();
  }
  await clearStalePidFile(pidfile);
  return {
    name,
    status: "stopped",
    pid: state.tree!.pid,
    orphaned: true,
    lastSignal: report.signalsSent.at(-1)?.signal,
    signalsSent: report.signalsSent,
    durationMs: report.durationMs,
    survivors: report.survivors,
  };
}

/** Remove a stale PID file the safe way: take its lock, then release (unlink) it. */
async function clearStalePidFile(pidfile: string): Promise<void> {
  try {
    const lock = await PidFile.acquire(pidfile, { removeOnExit: false });
    await lock.release();
  } catch { /* someone else holds it now, or it cannot be opened: leave it */ }
}

/**
 * `stop --pidfile FILE`: a pidkit service's PID file, anyone's locked one,
 * or a daemon's unlocked one (verified by the ladder and the identity
 * options; see pid_file_verdict.ts).
 */
async function stopPidFile(
  path: string,
  retry: string | undefined,
  identity: IdentityOptions = {},
): Promise<StopOutcome> {
  const verdict = judgePidFile(path, await probe(path), resolveIdentity(identity));
  if (verdict.status === "absent") return { name: path, status: "not-running" };
  if (verdict.status === "stale") {
    return {
      name: path,
      status: "stale",
      note: `stale PID file: ${verdict.reason}; nothing signalled`,
    };
  }
  if (verdict.status === "mismatch") {
    throw new PidkitError(`${path}: not that program: ${verdict.reason}; nothing signalled`);
  }
  if (!verdict.locked) {
    // A daemon's own PID file without a lock: its main process (verified by
    // PID and start time) and descendants, each signal through a pidfd.
    const outcome = await stopRoots([verdict.target!], retry ?? DEFAULT_RETRY);
    return { name: path, status: "stopped", ...outcome };
  }
  const own = await ownService(path);
  if (own) return await stopService(own.dir, own.name, { retry });
  // holderPid is undefined when the process that took the lock is gone (a
  // child that inherited the descriptor holds it): stopForeign finds who has
  // the file open.
  const outcome = await stopForeign(path, verdict.holderPid, verdict.pid, retry ?? DEFAULT_RETRY);
  return { name: path, status: "stopped", ...outcome };
}

/** The pidkit service whose state file (beside `path`) names `path` as its PID file. */
async function ownService(path: string): Promise<{ dir: string; name: string } | undefined> {
  const m = /^(.*)\/([^/]+)\.pid$/.exec(path);
  if (!m) return undefined;
  try {
    const state = await readServiceRecord(`${m[1]}/${m[2]}.json`);
    return state?.pidfile === path ? { dir: m[1], name: m[2] } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` has `path` open (the lock holder does; a lost file counts too). */
function holdsFile(pid: number, path: string): boolean {
  try {
    const st = Deno.statSync(path);
    if (hasFileOpen(pid, st.dev, st.ino!)) return true;
  } catch { /* deleted under it: see below */ }
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      let link: string | undefined;
      try {
        link = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
      } catch { /* closed meanwhile */ }
      if (link === path || link === `${path} (deleted)`) return true;
    }
  } catch { /* gone, or not ours to read */ }
  return false;
}
