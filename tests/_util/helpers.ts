/**
 * Test helpers: temporary directories that remove themselves, fixture
 * processes that are always ended by the PID or process group recorded at
 * spawn time, and the real CLI run as a subprocess.
 *
 * Every helper here is for `using`/`await using`, so a failing assertion
 * still cleans up.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { cgroupKill, findCgroup2, removeCgroup, waitCgroupEmpty } from "../../src/tree/cgroup.ts";
import { readCgroupV2Path } from "../../src/os/proc.ts";

/** The repository root (where `cli.ts` lives). */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
/** The CLI entry. */
export const CLI: string = `${ROOT}/cli.ts`;
/** The fixtures folder. */
export const FIXTURES: string = `${ROOT}/tests/fixtures`;

/** A temporary directory removed (recursively) on dispose. */
export interface TempDir extends AsyncDisposable, Disposable {
  /** Its absolute path. */
  path: string;
  /** `path` joined with `name`. */
  join(name: string): string;
}

/** Make a temporary directory that `await using` removes. */
export function tempDir(prefix = "pidkit-test-"): TempDir {
  const path = Deno.makeTempDirSync({ prefix });
  const remove = () => {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  };
  return {
    path,
    join: (name: string) => `${path}/${name}`,
    [Symbol.dispose]: remove,
    [Symbol.asyncDispose]: () => Promise.resolve(remove()),
  };
}

/** Send `sig` to `target` (a PID, or a negative process group), ignoring "no such process". */
export function killQuietly(target: number, sig: Deno.Signal = "SIGKILL"): void {
  try {
    Deno.kill(target, sig);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Start time (field 22 of /proc/PID/stat) of a live process, or undefined. */
export function startTimeOf(pid: number): number | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = s[s.lastIndexOf(")") + 2];
    if (state === "Z" || state === "X") return undefined;
    return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return undefined;
  }
}

/**
 * Processes a test started, ended on dispose: each recorded process group
 * gets SIGKILL, then each recorded PID. Record a PID or group as soon as it
 * is known (e.g. read from a fixture's output), never find them by name.
 *
 * PIDs are recorded with their start time and are signalled only while that
 * still matches, so a PID the kernel reused (pid_max may be small) is never
 * hit. A group is signalled unless its PID now names a different process
 * (the kernel reuses a PGID only once no member of the old group is left).
 */
export class Reaper implements AsyncDisposable {
  readonly pids: Map<number, number | undefined> = new Map();
  readonly groups: Map<number, number | undefined> = new Map();
  readonly children: Deno.ChildProcess[] = [];
  readonly cgroups: Set<string> = new Set();

  /** Remember a PID to SIGKILL at the end. */
  pid(pid: number, startTime: number | undefined = startTimeOf(pid)): number {
    if (!this.pids.has(pid)) this.pids.set(pid, startTime);
    return pid;
  }

  /**
   * Remember a process group to SIGKILL at the end, and the pidkit cgroup
   * its leader is in (if any), to kill and remove it too: a supervisor
   * killed here cannot remove its tree's cgroup itself.
   */
  group(pgid: number, startTime: number | undefined = startTimeOf(pgid)): number {
    if (!this.groups.has(pgid)) this.groups.set(pgid, startTime);
    const cgroup = pidkitCgroupOf(pgid);
    if (cgroup !== undefined) this.cgroups.add(cgroup);
    return pgid;
  }

  /**
   * Spawn `cmd` detached (its own session and process group), recording
   * its group and PID.
   */
  spawn(cmd: string[], options: Deno.CommandOptions = {}): Deno.ChildProcess {
    const child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
      detached: true,
      ...options,
    }).spawn();
    this.group(child.pid);
    this.pid(child.pid);
    this.children.push(child);
    return child;
  }

  /** SIGKILL every recorded group and PID that is still ours. */
  killAll(): void {
    // PIDs first: a recorded supervisor must not restart anything meanwhile.
    for (const [p, start] of this.pids) {
      const now = startTimeOf(p);
      if (now !== undefined && now === start) killQuietly(p);
    }
    for (const [g, start] of this.groups) {
      const now = startTimeOf(g);
      if (now === undefined || now === start) killQuietly(-g);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.killAll();
    for (const dir of this.cgroups) await removeTestCgroup(dir);
    for (const c of this.children) {
      try {
        await c.stdout?.cancel();
      } catch { /* not piped, or already consumed */ }
      try {
        await c.stderr?.cancel();
      } catch { /* not piped, or already consumed */ }
      await c.status;
    }
  }
}

/** The directory of the pidkit cgroup (`.../pidkit/NAME-NONCE`) that `pid` is in, if any. */
function pidkitCgroupOf(pid: number): string | undefined {
  const path = readCgroupV2Path(pid);
  if (path === undefined || !/\/pidkit\/[^/]+$/.test(path)) return undefined;
  const mount = findCgroup2()?.mountPoint;
  return mount === undefined ? undefined : `${mount}${path}`;
}

/**
 * Kill whatever is left in a pidkit cgroup a test recorded and remove it
 * (a no-op when pidkit already did).
 */
async function removeTestCgroup(dir: string): Promise<void> {
  try {
    cgroupKill(dir);
    await waitCgroupEmpty(dir, 5000);
    await removeCgroup(dir);
  } catch { /* already gone */ }
}

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode runCli}. */
export interface RunCliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Standard input text. */
  stdin?: string;
  /** Kill the CLI after this many ms (a hang is a failure). Default 30 s. */
  timeoutMs?: number;
}

/** Run `deno run -A cli.ts ...args` and capture its output and exit code. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const timer = setTimeout(() => killQuietly(child.pid), options.timeoutMs ?? 30_000);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `predicate` every `intervalMs` until it is true; throw after `timeoutMs`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 10, what = "condition" } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Whether an external program is on PATH. */
export function hasProgram(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Whether a process is live (exists and is not a zombie), read from /proc. */
export function alive(pid: number): boolean {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = s[s.lastIndexOf(")") + 2];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Whether `path` exists (without following a symlink). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
