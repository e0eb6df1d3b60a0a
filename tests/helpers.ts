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

/** The repository root (where `cli.ts` lives). */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
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

/**
 * Processes a test started, ended on dispose: each recorded process group
 * gets SIGKILL, then each recorded PID. Record a PID or group as soon as it
 * is known (e.g. read from a fixture's output), never find them by name.
 */
export class Reaper implements AsyncDisposable {
  readonly pids: Set<number> = new Set();
  readonly groups: Set<number> = new Set();
  readonly children: Deno.ChildProcess[] = [];

  /** Remember a PID to SIGKILL at the end. */
  pid(pid: number): number {
    this.pids.add(pid);
    return pid;
  }

  /** Remember a process group to SIGKILL at the end. */
  group(pgid: number): number {
    this.groups.add(pgid);
    return pgid;
  }

  /**
   * Spawn `cmd` detached (its own session and process group), recording
   * its group; stdout is piped unless given otherwise.
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

  async [Symbol.asyncDispose](): Promise<void> {
    for (const g of this.groups) killQuietly(-g);
    for (const p of this.pids) killQuietly(p);
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
