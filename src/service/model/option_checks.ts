/**
 * Checks of `start`/`run` options that need no machinery: kept apart from
 * the modules that use the options (forking.ts, ready_fd.ts), so that
 * `pidkit start`, which only checks them, does not load those.
 *
 * @module
 */

import { PidkitError, UsageError } from "../../os/errors.ts";
import { parentDir } from "../../os/paths.ts";
import { modeAllows } from "../../os/file_access.ts";

/** The largest descriptor `--ready-fd` takes. */
export const MAX_READY_FD = 255;

/**
 * Check a `--ready-fd` value: a whole number from 3 to 255 (0, 1 and 2 are
 * the service's stdin, stdout and stderr). Throws {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { parseReadyFd } from "./option_checks.ts";
 * parseReadyFd("3"); // 3
 * ```
 */
export function parseReadyFd(text: string): number {
  if (!/^\d{1,3}$/.test(text)) {
    throw new UsageError(`bad options.readyFd '${text}' (use a descriptor number from 3 to 255)`);
  }
  const n = Number(text);
  if (n <= 2) {
    throw new UsageError(
      `bad options.readyFd ${n}: 0, 1 and 2 are the service's stdin, stdout and stderr (use 3 to 255)`,
    );
  }
  if (n > MAX_READY_FD) throw new UsageError(`bad options.readyFd ${n} (use 3 to 255)`);
  return n;
}

/**
 * Check the main PID file's place before the service starts: not pidkit's
 * own PID file, in an existing directory that the service's user may write
 * (root may write anywhere but on a read-only file system, found out later).
 *
 * @example
 * ```ts
 * import { checkMainPidfile } from "./option_checks.ts";
 * checkMainPidfile("/tmp/nginx.pid", { pidfile: "/tmp/pidkit/web.pid" });
 * ```
 */
export function checkMainPidfile(
  mainPidfile: string,
  options: { pidfile: string; uid?: number; gid?: number },
): void {
  if (mainPidfile === options.pidfile) {
    throw new UsageError(
      `options.mainPidfile ${mainPidfile} is pidkit's own PID file; give the daemon's own`,
    );
  }
  const dir = parentDir(mainPidfile);
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch {
    throw new PidkitError(`options.mainPidfile ${mainPidfile}: directory ${dir} does not exist`);
  }
  if (!st.isDirectory) {
    throw new PidkitError(`options.mainPidfile ${mainPidfile}: ${dir} is not a directory`);
  }
  const uid = options.uid ?? Deno.uid();
  if (uid === 0 || uid === null) return;
  const gid = options.gid ?? Deno.gid() ?? -1;
  if (!modeAllows({ ...st, mode: st.mode ?? 0o777 }, { uid, gid }, "write")) {
    throw new PidkitError(
      `options.mainPidfile ${mainPidfile}: the service (uid ${uid}) cannot write in ${dir}`,
    );
  }
}
