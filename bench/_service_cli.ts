/**
 * Shared by the service benchmarks: the CLI run against one run dir, and a
 * process's CPU time.
 *
 * @module
 */

/** Where the repository is (with a trailing slash). */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** A function that runs `pidkit ARGS` with `PIDKIT_DIR=dir` and collects its output. */
export function pidkitIn(dir: string): (args: string[]) => Promise<Deno.CommandOutput> {
  return (args) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${ROOT}cli.ts`, ...args],
      env: { PIDKIT_DIR: dir },
      stdout: "piped",
      stderr: "piped",
    }).output();
}

/** utime + stime of `pid` in ms (10 ms ticks), from /proc/PID/stat. */
export function cpuMs(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}
