/**
 * How pidkit starts another copy of itself (the background supervisor),
 * whichever way it was launched:
 *
 * - `deno run -A cli.ts` and a `deno install`ed command (whose shim runs
 *   `deno run` on the file URL): `Deno.execPath()` is the deno binary, so the
 *   copy is `deno run -A --no-config --quiet CLI_URL ARGS`, where CLI_URL is
 *   `cli.ts` beside this module (a `file:` or `https:` URL). `--no-config`
 *   keeps whatever `deno.json` or `package.json` sits in the caller's
 *   directory out of it (pidkit needs no configuration);
 * - a `deno compile`d pidkit: `Deno.execPath()` is the binary itself and it
 *   takes pidkit's own arguments, so the copy is `BINARY ARGS`;
 * - somebody else's `deno compile`d program that uses the service API
 *   (`startService`): the binary is not pidkit and its embedded `cli.ts`
 *   cannot be run by another process, so the copy is the `pidkit` command
 *   (`$PIDKIT_BIN`, else `pidkit` on `PATH`).
 *
 * The copy is started through `/bin/sh` with SIGUSR1 ignored, a disposition
 * that survives `exec` (see `sigusr1.ts`).
 *
 * @module
 */

/** The shell snippet that ignores SIGUSR1 and execs its arguments. */
const IGNORE_USR1 = 'trap "" USR1; exec "$0" "$@"';

/**
 * Whether this process is a `deno compile`d binary. `Deno.build.standalone`
 * says so; the module URL is the fallback for a Deno without it: local
 * modules live in the binary's embedded file system, which Deno mounts under
 * a `deno-compile-NAME` directory. (Modules compiled from a URL, as
 * `deno compile jsr:@pidkit/pidkit/cli` makes, keep their https: URLs.)
 *
 * @example
 * ```ts
 * import { isCompiled } from "./self_exec.ts";
 * console.log(isCompiled() ? "a compiled binary" : "deno run");
 * ```
 */
export function isCompiled(moduleUrl: string = import.meta.url): boolean {
  return (Deno.build as { standalone?: boolean }).standalone === true ||
    /\/deno-compile-[^/]*\//.test(moduleUrl);
}

/** The URL of the CLI entry, `cli.ts` at the package root. */
const CLI_URL = new URL("../../cli.ts", import.meta.url).href;

/**
 * The argument vector that runs pidkit with `args`, the way this process
 * was run. With `ignoreUsr1` (the default) it goes through `/bin/sh` with
 * SIGUSR1 ignored from the first instruction.
 */
export function selfCommand(args: string[], options: { ignoreUsr1?: boolean } = {}): string[] {
  const exe = Deno.execPath();
  let argv: string[];
  if (!isCompiled()) argv = [exe, "run", "-A", "--no-config", "--quiet", CLI_URL, ...args];
  else if (Deno.mainModule === CLI_URL) argv = [exe, ...args];
  else argv = [Deno.env.get("PIDKIT_BIN") || "pidkit", ...args];
  if (options.ignoreUsr1 === false || Deno.build.os === "windows") return argv;
  return ["/bin/sh", "-c", IGNORE_USR1, ...argv];
}

/**
 * The program that runs this pidkit, as absolute paths, for a unit file or
 * a crontab: the installed `pidkit` command on `PATH` that runs this very
 * `cli.ts` (a `deno install` shim), else the compiled binary, else
 * `deno run -A --no-config --quiet CLI` (a checkout, or an install from a
 * URL whose shim is not on `PATH`; Deno's cache must then hold it).
 *
 * @example
 * ```ts
 * import { selfProgram } from "./self_exec.ts";
 * console.log(selfProgram().join(" ")); // e.g. /usr/bin/deno run -A --no-config --quiet /opt/pidkit/cli.ts
 * ```
 */
export function selfProgram(): string[] {
  const exe = Deno.execPath();
  if (isCompiled()) {
    if (Deno.mainModule === CLI_URL || (Deno.build as { standalone?: boolean }).standalone) {
      return [exe];
    }
    return [Deno.env.get("PIDKIT_BIN") || installedShim() || "pidkit"];
  }
  const shim = installedShim(CLI_URL);
  if (shim !== undefined) return [shim];
  const cli = CLI_URL.startsWith("file:") ? decodeURIComponent(new URL(CLI_URL).pathname) : CLI_URL;
  return [exe, "run", "-A", "--no-config", "--quiet", cli];
}

/** A `pidkit` on `PATH` (absolute), one whose text names `url` when given (a deno install shim). */
function installedShim(url?: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const path = `${dir}/pidkit`;
    try {
      if (!Deno.statSync(path).isFile) continue;
      if (url === undefined) return path;
      // a shim is a small script; a binary is not read whole
      if (Deno.statSync(path).size > 64 * 1024) continue;
      if (Deno.readTextFileSync(path).includes(url)) return path;
    } catch { /* not here */ }
  }
  return undefined;
}
