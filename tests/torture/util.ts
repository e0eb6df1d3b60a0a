/**
 * Shared pieces of the torture scenarios: fixture paths, random numbers,
 * processes run with a deadline.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The torture fixtures folder. */
export const TORTURE_FIXTURES: string = fileURLToPath(new URL("./fixtures", import.meta.url));

/** A random integer in [lo, hi]. */
export function randInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/** One element of `list`, at random. */
export function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)];
}

/** Sleep `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether we run as root (needed for mounts, chown, cgroups). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** What a command produced. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed at the deadline. */
  timedOut: boolean;
  ms: number;
}

/** Run a command to its end, capturing output; SIGKILL it after `timeoutMs`. */
export async function run(
  cmd: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; stdin?: string } = {},
): Promise<Output> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, options.timeoutMs ?? 30_000);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      timedOut,
      ms: performance.now() - t0,
    };
  } finally {
    clearTimeout(timer);
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
