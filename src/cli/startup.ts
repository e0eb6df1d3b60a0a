/**
 * `pidkit startup systemd [-c FILE] [--dir DIR] [--user] [--write]`: print
 * (or, with `--write`, install) the unit that runs `pidkit supervise
 * --config FILE` at boot, with the absolute path of the pidkit that ran
 * this command. The text is src/stack/systemd_unit.ts.
 *
 * @module
 */

import { messageLine, PidkitError, UsageError } from "../os/errors.ts";
import { absolutePath } from "../os/paths.ts";
import { selfProgram } from "../os/self_exec.ts";
import { VERSION } from "../os/version.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";
import { systemdUnit, unitName } from "../stack/systemd_unit.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";
import { loadFromOptions } from "./up.ts";

/** `pidkit startup`. */
export async function run(input: CommandInput): Promise<number> {
  const v = input.values;
  const system = input.positionals[0];
  if (system !== "systemd") {
    throw new UsageError(`unknown init system '${system}' (pidkit startup knows systemd)`);
  }
  const user = v.user === true;
  const loaded = await loadFromOptions(v);
  const dir = unitRunDir(typeof v.dir === "string" ? v.dir : loaded.stack.dir, user);
  const text = systemdUnit(loaded.stack, {
    file: loaded.file,
    dir,
    user,
    program: selfProgram(),
    ...(Deno.env.get("PATH") ? { path: Deno.env.get("PATH")! } : {}),
    version: VERSION,
    ...(loaded.kind === "procfile"
      ? { procfile: typeof v.formation === "string" ? { formation: v.formation } : {} }
      : {}),
  });
  // `pidkit up` from this shell must find the same run directory as the unit.
  let here: string | undefined;
  try {
    here = typeof v.dir === "string" ? dir : resolveRunDir({ dir: loaded.stack.dir });
  } catch { /* reported by up itself */ }
  const notes = [
    here !== undefined && here !== dir
      ? `note: the unit runs ${dir}; pidkit up in this shell would use ${here}: give it --dir ${dir} (or PIDKIT_DIR=${dir})`
      : undefined,
    // A system unit has no User=: made by a user who is not root, it would run that
    // user's services as root.
    !user && Deno.uid() !== null && Deno.uid() !== 0
      ? "note: a system unit runs its supervisor and services as root; --user makes a unit that runs as you"
      : undefined,
  ].filter((n) => n !== undefined);
  if (v.write !== true) {
    printOut(text);
    for (const n of notes) printErr(n);
    return EXIT.ok;
  }
  const name = unitName(loaded.file);
  const unitDir = user ? userUnitDir() : "/etc/systemd/system";
  const path = `${unitDir}/${name}`;
  let before: string | undefined;
  try {
    before = await Deno.readTextFile(path);
  } catch { /* a new unit */ }
  const ctl = user ? "systemctl --user" : "systemctl";
  if (before === text) {
    printOut(`${path} is up to date`);
  } else {
    const { writeFileAtomic } = await import("../os/atomic_write.ts");
    try {
      await Deno.mkdir(unitDir, { recursive: true });
      await writeFileAtomic(path, text, { mode: 0o644 });
    } catch (err) {
      throw cannotInstall(path, err, user);
    }
    printOut(`${before === undefined ? "wrote" : "updated"} ${path}`);
  }
  printOut(`now: ${ctl} daemon-reload && ${ctl} enable --now ${name}`);
  if (user) printOut("and, to start it at boot without a login: loginctl enable-linger $USER");
  for (const n of notes) printErr(n);
  return EXIT.ok;
}

// One line instead of Deno's stack trace, with what to do about the usual cause: a
// system unit written by a user who is not root.
function cannotInstall(path: string, err: unknown, user: boolean): PidkitError {
  const denied = err instanceof Deno.errors.PermissionDenied;
  const hint = denied && !user ? " (a system unit needs root; --user installs a user unit)" : "";
  return new PidkitError(
    `cannot write ${path}: ${denied ? "permission denied" : messageLine(err)}${hint}`,
    { cause: err },
  );
}

/**
 * The run directory the unit names: `--dir` or the file's `dir`, else
 * `$PIDKIT_DIR`, else `/run/pidkit` (a system unit) or
 * `$XDG_RUNTIME_DIR/pidkit` (a user unit). Never a per-login directory
 * for a system unit: `/run/user/0` does not exist at boot.
 */
function unitRunDir(given: string | undefined, user: boolean): string {
  if (given !== undefined && given !== "") return absolutePath(given);
  const env = Deno.env.get("PIDKIT_DIR");
  if (env) return absolutePath(env);
  if (!user) return "/run/pidkit";
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  if (!runtime) throw new UsageError("no XDG_RUNTIME_DIR for a user unit: give --dir DIR");
  return `${runtime}/pidkit`;
}

function userUnitDir(): string {
  const config = Deno.env.get("XDG_CONFIG_HOME");
  if (config) return `${config}/systemd/user`;
  const home = Deno.env.get("HOME");
  if (!home) throw new UsageError("no HOME for the user unit directory");
  return `${home}/.config/systemd/user`;
}
