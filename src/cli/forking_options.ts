/**
 * `--forking` and `--main-pidfile FILE` of `start` and `run` (their start-up
 * is bounded by `--ready-timeout`, a readiness option): parsed and checked before anything starts (see src/service/forking.ts).
 *
 * @module
 */

import { PidkitError, UsageError } from "../os/errors.ts";
import { absolutePath, parentDir } from "../os/paths.ts";
import type { ServiceOptions } from "../service/service_record.ts";
import type { CommandInput, OptionSpec } from "./spec.ts";

/** The option specs, for the command table. */
export const FORKING_OPTIONS: Record<string, OptionSpec> = {
  forking: {
    type: "boolean",
    description: "CMD forks a daemon and exits 0 (systemd Type=forking); that is start-up",
  },
  "main-pidfile": {
    type: "string",
    valueName: "FILE",
    description: "with --forking: the daemon's own PID file, naming the main process",
  },
};

/** The forking fields of the service options (none without `--forking`). */
export function parseForkingOptions(input: CommandInput): Partial<ServiceOptions> {
  const text = (key: string) => {
    const v = input.values[key];
    return typeof v === "string" ? v : undefined;
  };
  const forking = input.values.forking === true;
  const main = text("main-pidfile");
  if (!forking) {
    if (main !== undefined) throw new UsageError("--main-pidfile needs --forking");
    return {};
  }
  if (main === "") throw new UsageError("--main-pidfile needs a file name");
  return {
    forking: true,
    ...(main !== undefined ? { mainPidfile: absolutePath(main) } : {}),
  };
}

/**
 * Check the main PID file's place before the service starts: not pidkit's
 * own PID file, in an existing directory that the service's user may write
 * (root may write anywhere but on a read-only file system, found out later).
 */
export function checkMainPidfile(
  mainPidfile: string,
  options: { pidfile: string; uid?: number; gid?: number },
): void {
  if (mainPidfile === options.pidfile) {
    throw new UsageError(
      `--main-pidfile ${mainPidfile} is pidkit's own PID file; give the daemon's own`,
    );
  }
  const dir = parentDir(mainPidfile);
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch {
    throw new PidkitError(`--main-pidfile ${mainPidfile}: directory ${dir} does not exist`);
  }
  if (!st.isDirectory) {
    throw new PidkitError(`--main-pidfile ${mainPidfile}: ${dir} is not a directory`);
  }
  const uid = options.uid ?? Deno.uid();
  if (uid === 0 || uid === null) return;
  const mode = st.mode ?? 0o777;
  const gid = options.gid ?? Deno.gid();
  const writable = st.uid === uid
    ? (mode & 0o200) !== 0
    : st.gid === gid
    ? (mode & 0o020) !== 0
    : (mode & 0o002) !== 0;
  if (!writable) {
    throw new PidkitError(
      `--main-pidfile ${mainPidfile}: the service (uid ${uid}) cannot write in ${dir}`,
    );
  }
}
