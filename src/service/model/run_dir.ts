/**
 * The run directory of named services and what lives in it: where it is
 * ({@linkcode resolveRunDir}), which service names are allowed, the files of
 * a service, and the names of the services it holds.
 *
 * @module
 */

import { PidFileError, UsageError } from "../../os/errors.ts";
import { absolutePath } from "../../os/paths.ts";
import { isValidName, NAME_RULE } from "../../tree/marker.ts";

/**
 * Options for {@linkcode resolveRunDir}.
 *
 * @example
 * ```ts
 * import { resolveRunDir, type RunDirOptions } from "@pidkit/pidkit/service";
 * const options: RunDirOptions = { dir: Deno.env.get("MY_DIR") };
 * console.log(resolveRunDir(options));
 * ```
 */
export interface RunDirOptions {
  /** An explicit run directory (`--dir`); wins over the environment. */
  dir?: string;
  /**
   * Create the directory when it is missing (commands that start services).
   * Reading commands leave it alone: nothing is created by `status`.
   */
  create?: boolean;
}

/**
 * The run directory: `dir`, else `$PIDKIT_DIR`, else
 * `$XDG_RUNTIME_DIR/pidkit`, else `/run/pidkit` for root, else
 * `$TMPDIR/pidkit-UID` (or `/tmp/pidkit-UID`). The per-user directories are
 * created mode 0700, the others 0750 (group members may read states and
 * logs when the owner gives the directory a group: see docs/security.md, "Who
 * can read what"), and only with `create: true`; an existing directory keeps its
 * mode. The
 * per-user temporary directory is refused (with {@linkcode PidFileError},
 * reason `"permission"`) when it is a symlink, not a directory, or owned by
 * another user, since anyone can create names under the temp dir.
 *
 * @example
 * ```ts
 * import { resolveRunDir } from "@pidkit/pidkit/service";
 * const dir = resolveRunDir({ dir: Deno.env.get("MY_DIR") });
 * console.log(`services live in ${dir}`);
 * ```
 */
export function resolveRunDir(options: RunDirOptions = {}): string {
  const env = (k: string) => {
    const v = Deno.env.get(k);
    return v === undefined || v === "" ? undefined : v;
  };
  const uid = Deno.uid();
  let dir: string;
  let personal = false;
  let shared = false;
  if (options.dir !== undefined && options.dir !== "") dir = options.dir;
  else if (env("PIDKIT_DIR")) dir = env("PIDKIT_DIR")!;
  else if (env("XDG_RUNTIME_DIR")) {
    dir = `${env("XDG_RUNTIME_DIR")}/pidkit`;
    personal = true;
  } else if (uid === 0) dir = "/run/pidkit";
  else {
    dir = `${env("TMPDIR") ?? "/tmp"}/pidkit-${uid ?? "user"}`;
    personal = shared = true;
  }
  dir = absolutePath(dir);
  if (options.create) makeRunDir(dir, personal ? 0o700 : 0o750);
  if (shared) checkOwnDir(dir, uid);
  else if (options.create) checkTrustedDir(dir, uid);
  return dir;
}

function makeRunDir(dir: string, mode: number): void {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new PidFileError(dir, "not-a-file", `run dir ${dir} exists and is not a directory`);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new PidFileError(
        dir,
        "permission",
        `cannot create run dir ${dir}: permission denied (use --dir or PIDKIT_DIR)`,
      );
    }
    throw new PidFileError(dir, "io", `cannot create run dir ${dir}: ${(err as Error).message}`);
  }
}

/**
 * A run dir that services are started in must be writable by nobody but us
 * (and root): whoever else can create names there can plant a symlink at
 * NAME.log or NAME.ctl before we open it and have the supervisor write
 * through it -- as root, anywhere. So refuse a directory owned by another
 * user, or one that everyone may write.
 */
function checkTrustedDir(dir: string, uid: number | null): void {
  if (uid === null) return;
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch {
    return; // makeRunDir reported what is wrong
  }
  const owner = st.uid;
  if (owner !== null && owner !== uid && owner !== 0) {
    throw new PidFileError(
      dir,
      "permission",
      `refusing run dir ${dir}: owned by uid ${owner}, who could redirect our files; ` +
        `use a directory you own (--dir or PIDKIT_DIR)`,
    );
  }
  if (((st.mode ?? 0) & 0o002) !== 0) {
    throw new PidFileError(
      dir,
      "permission",
      `refusing run dir ${dir}: anyone may write in it and redirect our files; ` +
        `use a directory only you can write (--dir or PIDKIT_DIR)`,
    );
  }
}

function checkOwnDir(dir: string, uid: number | null): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return; // nothing there yet: nothing to trust
    throw err;
  }
  if (st.isSymlink || !st.isDirectory) {
    throw new PidFileError(
      dir,
      "permission",
      `refusing run dir ${dir}: it is a ${
        st.isSymlink ? "symlink" : "file"
      }, not a directory (use --dir or PIDKIT_DIR)`,
    );
  }
  if (uid !== null && st.uid !== uid) {
    throw new PidFileError(
      dir,
      "permission",
      `refusing run dir ${dir}: owned by uid ${st.uid}, not by you (uid ${uid}); use --dir or PIDKIT_DIR`,
    );
  }
  if ((st.mode ?? 0) & 0o077) {
    try {
      Deno.chmodSync(dir, 0o700);
    } catch { /* ours but not changeable: leave it */ }
  }
}

/**
 * Check a service name: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, and
 * not `.` or `..` (so a name can never leave the run directory). Returns the
 * name; throws {@linkcode UsageError} otherwise.
 *
 * @example
 * ```ts
 * import { validateName } from "./run_dir.ts";
 * validateName("web-1"); // "web-1"
 * // validateName("../etc") throws UsageError
 * ```
 */
export function validateName(name: string): string {
  if (!isValidName(name)) {
    throw new UsageError(`bad service name '${name}' (use ${NAME_RULE})`);
  }
  return name;
}

/** The files of a service in a run directory. */
export interface ServicePaths {
  /** `DIR/NAME.pid`: the leader's PID, locked by the supervisor. */
  pidfile: string;
  /** `DIR/NAME.json`: the state, written atomically by the supervisor. */
  state: string;
  /** `DIR/NAME.log`: the service's output (mode 0640). */
  log: string;
  /** `DIR/NAME.env`: the `--env` values (mode 0600; the state file lists only their names). */
  env: string;
  /**
   * `DIR/NAME.out`: the FIFO the service writes its output to and the
   * supervisor reads (it outlives a supervisor that is killed).
   */
  output: string;
}

/**
 * The default files of service `name` in run directory `dir` (the name is
 * validated). A service started with `--pidfile` or `--log` records the
 * paths it really uses in its state file.
 *
 * @example
 * ```ts
 * import { servicePaths } from "./run_dir.ts";
 * servicePaths("/run/pidkit", "web").state; // "/run/pidkit/web.json"
 * ```
 */
export function servicePaths(dir: string, name: string): ServicePaths {
  validateName(name);
  return {
    pidfile: `${dir}/${name}.pid`,
    state: `${dir}/${name}.json`,
    log: `${dir}/${name}.log`,
    env: `${dir}/${name}.env`,
    output: `${dir}/${name}.out`,
  };
}

/**
 * The names of the services in run directory `dir`: every valid name with
 * a `.pid` or `.json` file, sorted. A missing directory has none; one that
 * cannot be read throws {@linkcode PidFileError} (reason `"permission"`).
 *
 * @example
 * ```ts
 * import { resolveRunDir, serviceNames } from "./run_dir.ts";
 * for (const name of await serviceNames(resolveRunDir())) console.log(name);
 * ```
 */
export async function serviceNames(dir: string): Promise<string[]> {
  return await Promise.resolve(namesIn(dir));
}

/**
 * The body of {@linkcode serviceNames}, synchronous on purpose: a run dir is
 * one small directory, and the first asynchronous file operation of a
 * process costs ~1.5 ms of start-up (`list`, `status`).
 */
function namesIn(dir: string): string[] {
  const names = new Set<string>();
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const m = /^(.+)\.(pid|json)$/.exec(entry.name);
      if (m && isValidName(m[1])) names.add(m[1]);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new PidFileError(dir, "permission", `cannot read run dir ${dir}: permission denied`);
    }
    if (err instanceof Deno.errors.NotADirectory) {
      throw new PidFileError(dir, "not-a-file", `run dir ${dir} is not a directory`);
    }
    throw err;
  }
  return [...names].sort();
}
