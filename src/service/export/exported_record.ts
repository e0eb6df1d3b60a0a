/**
 * A running (or stopped) service of a run directory as
 * `pidkit export systemd NAME...` exports it: from its record (`NAME.json`,
 * its command and options) and its environment file (`NAME.env`, mode 0600).
 *
 * @module
 */

import { UsageError } from "../../os/errors.ts";
import { findPasswdEntry } from "../../os/passwd.ts";
import { servicePaths } from "../model/run_dir.ts";
import { readServiceEnv } from "../model/service_env.ts";
import { readServiceRecord } from "../model/service_record.ts";
import type { ExportedService } from "./systemd_service_unit.ts";

/**
 * The service `name` of run directory `dir` as an export sees it (a service
 * started without --user by a non-root supervisor: as that user, `User=`).
 * Throws
 * {@linkcode UsageError} when the directory has no such service, or its
 * recorded environment values are missing.
 *
 * @example
 * ```ts
 * import { exportedRecord } from "./exported_record.ts";
 * const web = await exportedRecord("/run/pidkit", "web");
 * console.log(web.command, web.options.restart);
 * ```
 */
export async function exportedRecord(dir: string, name: string): Promise<ExportedService> {
  const paths = servicePaths(dir, name);
  const record = await readServiceRecord(paths.state);
  if (record === undefined) throw new UsageError(`no service ${name} in ${dir}`);
  const env = readServiceEnv(paths.env) ?? record.env ?? {};
  const missing = (record.envNames ?? []).filter((k) => !(k in env));
  if (missing.length > 0) {
    throw new UsageError(
      `cannot export ${name}: ${paths.env} lacks the values of ${missing.join(", ")}`,
    );
  }
  // Without --user it ran as its supervisor's user, who wrote the record:
  // a system unit without User= would run it as root.
  const user = record.user ?? ranAs(paths.state);
  return {
    name,
    command: record.command,
    cwd: record.cwd,
    env,
    ...(user !== undefined ? { user } : {}),
    options: record.options,
    ...(record.pidfile !== paths.pidfile ? { pidfile: record.pidfile } : {}),
    ...(record.log && record.log !== "-" && record.log !== paths.log ? { log: record.log } : {}),
    requires: [],
    autostart: true,
    source: record.origin
      ? `${record.origin.file} (service ${name} running in ${dir})`
      : `pidkit start ${name} (running in ${dir})`,
  };
}

/** The user (name, else uid) who owns `path` when not root; `undefined` for root. */
function ranAs(path: string): string | undefined {
  let uid: number | null;
  try {
    uid = Deno.statSync(path).uid;
  } catch {
    return undefined;
  }
  if (uid === null || uid === 0) return undefined;
  return findPasswdEntry(String(uid))?.name ?? String(uid);
}
