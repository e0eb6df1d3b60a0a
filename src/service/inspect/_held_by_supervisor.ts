/**
 * A PID file held by a run directory's resident supervisor (a service
 * started with `--pidfile` outside its run directory): which service it
 * holds it for, from the records of that directory. Commands given the file
 * (`status`, `wait`, `stop --pidfile`) speak of, and act on, that service,
 * never of the supervisor, which holds every service of its directory.
 *
 * @module
 */

import { supervisorLockOf } from "../../os/supervisor_lock.ts";
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
