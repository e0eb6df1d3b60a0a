/**
 * Stop the program behind any PID file (`pidkit stop --pidfile FILE`): a
 * pidkit service's PID file, anyone's locked one, or a daemon's unlocked
 * one (verified by the ladder and the identity options; see
 * `verify_pid_file.ts`). A PID whose lock is free and that fails the
 * ladder is stale and is never signalled.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import { probe } from "../../lock/probe.ts";
import { judgePidFile } from "../../lock/verify_pid_file.ts";
import { type IdentityOptions, resolveIdentity } from "../../os/process_identity.ts";
import { readServiceRecord } from "../model/service_record.ts";
import { heldBySupervisor, judgeHeldFile } from "../inspect/_held_by_supervisor.ts";
import { inspectService } from "../inspect/inspect_service.ts";
import { DEFAULT_RETRY } from "../../tree/stop_schedule.ts";
import { stopForeign, stopRoots } from "../pidfile/_stop_foreign.ts";
import {
  askedSchedule,
  type ServiceStopProgress,
  stopServiceIn,
  type StopServiceResult,
} from "./stop_service.ts";

/**
 * Stop the holder of PID file `path` (absolute) and its descendants, or a
 * daemon's main process named by its unlocked file, on the schedule
 * `retry`. `identity` (exec, name, user) must match too, else
 * {@linkcode PidkitError} ("not that program") and nothing is signalled.
 *
 * @example
 * ```ts
 * import { stopPidFile } from "./stop_pid_file.ts";
 * const r = await stopPidFile("/run/nginx.pid", { identity: { exec: "/usr/sbin/nginx" } });
 * console.log(r.status);
 * ```
 */
export async function stopPidFile(
  path: string,
  options: {
    retry?: string;
    identity?: IdentityOptions;
    onProgress?: (event: ServiceStopProgress) => void;
  } = {},
): Promise<StopServiceResult> {
  const { identity = {} } = options;
  const schedule = askedSchedule(options.retry); // a bad schedule: refused before anything
  const retry = schedule?.steps ?? DEFAULT_RETRY;
  const probed = await probe(path);
  const resolved = resolveIdentity(identity);
  // A file a run directory's supervisor holds: --exec, --name and --user
  // check the service's main process, not the supervisor.
  const held = probed.status === "running"
    ? await ownService(path) ?? await supervisedService(path, probed.holderPid)
    : undefined;
  const verdict = held
    ? judgeHeldFile(path, probed, resolved, {
      name: held.name,
      mainPid: (await inspectService(held.dir, held.name)).pid,
    })
    : judgePidFile(path, probed, resolved);
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
    const outcome = await stopRoots([verdict.target!], retry);
    return { name: path, status: "stopped", ...outcome };
  }
  const own = held ?? await ownService(path) ?? await supervisedService(path, verdict.holderPid);
  if (own) {
    return await stopServiceIn(own.dir, own.name, {
      schedule,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  // holderPid is undefined when the process that took the lock is gone (a
  // child that inherited the descriptor holds it): stopForeign finds who has
  // the file open.
  const outcome = await stopForeign(path, verdict.holderPid, verdict.pid, retry);
  return { name: path, status: "stopped", ...outcome };
}

/**
 * The service a run directory's resident supervisor holds `path` for (a
 * service started with `--pidfile` elsewhere). A supervisor holding a file
 * that no record of its directory names is never stopped instead: that
 * would stop every service it holds.
 */
async function supervisedService(
  path: string,
  holder: number | undefined,
): Promise<{ dir: string; name: string } | undefined> {
  const held = await heldBySupervisor(path, holder);
  if (held === undefined) return undefined;
  if (held.name !== undefined) return { dir: held.dir, name: held.name };
  throw new PidkitError(
    `${path} is held by pid ${holder}, the resident supervisor of ${held.dir}, but no service ` +
      `record there names it; nothing signalled (pidkit status --dir ${held.dir} lists its services)`,
  );
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
