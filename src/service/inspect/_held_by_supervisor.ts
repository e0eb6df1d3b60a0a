/**
 * A PID file held by a run directory's resident supervisor (a service
 * started with `--pidfile` outside its run directory): which service it
 * holds it for, from the records of that directory. Commands given the file
 * (`status`, `wait`, `stop --pidfile`) speak of, and act on, that service,
 * never of the supervisor, which holds every service of its directory; their
 * --exec, --name and --user are checked against the service's main process.
 *
 * @module
 */

import { supervisorLockOf } from "../../os/supervisor_lock.ts";
import type { ProbeResult } from "../../lock/probe.ts";
import { judgePidFile, type PidFileVerdict } from "../../lock/verify_pid_file.ts";
import { checkIdentity, hasIdentity, type ResolvedIdentity } from "../../os/process_identity.ts";
import { serviceNames } from "../model/run_dir.ts";
import { readServiceRecord } from "../model/service_record.ts";

/**
 * What holds `path` when `holder` (its lock holder) is a run directory's
 * supervisor: the service whose record names `path` (`name` undefined when
 * no readable record does); `undefined` when `holder` is no supervisor.
 *
 * @example
 * ```ts
 * import { heldBySupervisor } from "./_held_by_supervisor.ts";
 * const held = await heldBySupervisor("/srv/x.pid", 4242);
 * if (held) console.log(held.dir, held.name ?? "(no record names it)");
 * ```
 */
export async function heldBySupervisor(
  path: string,
  holder: number | undefined,
): Promise<{ dir: string; name: string | undefined } | undefined> {
  if (holder === undefined) return undefined;
  const held = supervisorLockOf(holder);
  if (typeof held !== "object") return undefined;
  for (const name of await serviceNames(held.dir).catch(() => [])) {
    try {
      const state = await readServiceRecord(`${held.dir}/${name}.json`);
      if (state?.pidfile === path) return { dir: held.dir, name };
    } catch { /* unreadable: not this one, as far as we can tell */ }
  }
  return { dir: held.dir, name: undefined };
}

/**
 * The verdict on a PID file that a run directory's supervisor holds for
 * service `name`, whose main process is `mainPid` (undefined when it has
 * none now): the identity options (`exec`, `name`, `user`) are checked
 * against that main process, never against the supervisor holding the
 * lock (which would always be "deno", and report the file as not that
 * program). Without identity options: the lock's verdict as it is.
 *
 * @example
 * ```ts
 * import { judgeHeldFile } from "./_held_by_supervisor.ts";
 * import { probe } from "../../lock/probe.ts";
 * import { resolveIdentity } from "../../os/process_identity.ts";
 * const path = "/srv/x.pid";
 * const v = judgeHeldFile(path, await probe(path), resolveIdentity({ name: "sleep" }), {
 *   name: "x",
 *   mainPid: 4243,
 * });
 * console.log(v.status);
 * ```
 */
export function judgeHeldFile(
  path: string,
  probed: ProbeResult,
  identity: ResolvedIdentity,
  service: { name: string; mainPid: number | undefined },
): PidFileVerdict {
  const verdict = judgePidFile(path, probed, {});
  if (!hasIdentity(identity) || verdict.status !== "running") return verdict;
  const { name, mainPid } = service;
  if (mainPid === undefined) {
    return {
      status: "mismatch",
      locked: true,
      pid: 0,
      reason: `service ${name} has no main process now to check`,
    };
  }
  const id = checkIdentity(mainPid, identity);
  if (!id.ok) return { status: "mismatch", locked: true, pid: mainPid, reason: id.reason };
  return {
    ...verdict,
    verifiedBy: ["lock", ...id.checked],
    detail: `its lock is held by the supervisor of service ${name}`,
  };
}
