/**
 * Starting a child in a session of its own, cheaply.
 *
 * `Deno.Command` with `detached: true` calls `setsid` in the child between
 * fork and exec, which rules out `posix_spawn`: the parent is forked whole,
 * page tables and all. For a resident supervisor of many services (~60 MiB)
 * that costs 12-19 ms per start, against 2 ms for a `posix_spawn`
 * (bench/dir_supervisor_bench.ts). Running the command through setsid(1)
 * instead, without `detached`, gives the same result: the child is not a
 * process group leader, so setsid(1) calls `setsid()` and execs the command
 * in place (same PID, now session and group leader), before it runs
 * anything of its own.
 *
 * Not used when a uid or gid is set (Deno forks for those anyway) or where
 * there is no setsid(1).
 *
 * @module
 */

const CANDIDATES = ["/usr/bin/setsid", "/bin/setsid"];
let found: string | null | undefined;

/** The setsid(1) program, or `undefined` where there is none. */
function setsidProgram(): string | undefined {
  if (found === undefined) {
    found = null;
    for (const path of CANDIDATES) {
      try {
        const st = Deno.statSync(path);
        if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) {
          found = path;
          break;
        }
      } catch { /* not there */ }
    }
  }
  return found ?? undefined;
}

/**
 * `program args...` to be started in a new session with `options` (which
 * ask for `detached: true`): the same, or through setsid(1) without
 * `detached`, which Deno can start with `posix_spawn`.
 *
 * @example
 * ```ts
 * import { inNewSession } from "./new_session.ts";
 * const s = inNewSession("/bin/sh", ["-c", "sleep 1"], { detached: true });
 * const child = new Deno.Command(s.program, { ...s.options, args: s.args }).spawn();
 * await child.status;
 * ```
 */
export function inNewSession(
  program: string,
  args: string[],
  options: Deno.CommandOptions,
): { program: string; args: string[]; options: Deno.CommandOptions } {
  const setsid = setsidProgram();
  if (
    !options.detached || setsid === undefined || options.uid !== undefined ||
    options.gid !== undefined
  ) {
    return { program, args, options };
  }
  return { program: setsid, args: [program, ...args], options: { ...options, detached: false } };
}
