/**
 * Small /proc readers for the tests of orphans, subreapers and PID
 * namespaces: a process's children, state letter and parent, and the PIDs
 * a fixture wrote into a file; the children of the test that have a file
 * open; the argv that runs the CLI.
 *
 * @module
 */

import { CLI } from "./helpers.ts";

/** The children of `pid` (every thread's `children` file); [] when it is gone. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`);
      for (const w of text.split(" ")) if (w !== "") out.push(Number(w));
    }
  } catch { /* gone */ }
  return out;
}

/** The fields after the command name in `/proc/PID/stat` (state first), or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The state letter of `pid` (Z for a zombie), or undefined when it is gone. */
export function stateOf(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** The parent of `pid`, or undefined when it is gone. */
export function ppidOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f === undefined ? undefined : Number(f[1]);
}

/** The PIDs written one per line into `path` ([] when it does not exist yet). */
export function readPids(path: string): number[] {
  try {
    return Deno.readTextFileSync(path).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The children of this test process that have `path` open (a CLI waiting on
 * a PID file's lock keeps it open while it waits): what a test waits for
 * before it acts on a command it started but cannot otherwise watch.
 */
export function childrenWithOpen(path: string): number[] {
  try {
    path = Deno.realPathSync(path); // what /proc/PID/fd/N links to
  } catch { /* not there: compared as given */ }
  return childrenOf(Deno.pid).filter((pid) => {
    try {
      for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
        try {
          if (Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`) === path) return true;
        } catch { /* closed meanwhile */ }
      }
    } catch { /* gone */ }
    return false;
  });
}

/** The argv that runs the pidkit CLI with `args` (for tests that spawn it themselves). */
export function cliArgv(...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--quiet", CLI, ...args];
}
