/**
 * Helpers for tests of PID files nobody locks (daemons' own files): make a
 * file look as written before a process started, the way a PID file looks
 * once its daemon died and the kernel gave the PID to a newcomer.
 *
 * @module
 */

import { _setBeforeSignalHookForTesting, pidfdSupported } from "../../src/os/pidfd.ts";
import { readProcStat } from "../../src/os/proc.ts";
import { killQuietly, type Reaper } from "./helpers.ts";

/**
 * Set the modification time of `path` `seconds` into the past (default 60):
 * any process started since then "started after the file was last
 * written", which is what PID reuse looks like to the verification ladder.
 */
export function backdate(path: string, seconds = 60): void {
  const then = new Date(Date.now() - seconds * 1000);
  Deno.utimeSync(path, then, then);
}

/** Write `text` to `path` as a file last written `seconds` ago (see {@linkcode backdate}). */
export function writeOldFile(path: string, text: string, seconds = 60): void {
  Deno.writeTextFileSync(path, text);
  backdate(path, seconds);
}

/** Whether a test can make the kernel reuse a PID on purpose (root, pidfd, ns_last_pid). */
export const canReuse: boolean = Deno.uid() === 0 && pidfdSupported() &&
  writable("/proc/sys/kernel/ns_last_pid");

function writable(path: string): boolean {
  try {
    Deno.openSync(path, { write: true }).close();
    return true;
  } catch {
    return false;
  }
}

const tick = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(tick, 0, 0, ms);
}

/** A process that is not our child (a shell's), so its PID is freed as soon as it dies. */
async function grandchild(reaper: Reaper): Promise<{ pid: number; startTime: number }> {
  const sh = reaper.spawn(["sh", "-c", "sleep 1000 & echo $!; wait"], { stdout: "piped" });
  const reader = sh.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  await sh.stdout.cancel();
  const pid = Number(new TextDecoder().decode(value).trim());
  reaper.pid(pid);
  return { pid, startTime: readProcStat(pid)!.startTime };
}

/**
 * The hook: kill `pid`, wait until its PID is free, and start a newcomer
 * that gets the same PID. Returns the newcomer (undefined when another
 * process on the machine took the PID first: the round is inconclusive).
 */
function reuseHook(reaper: Reaper, got: { newcomer?: Deno.ChildProcess }) {
  return (pid: number) => {
    _setBeforeSignalHookForTesting(undefined); // once
    killQuietly(pid, "SIGKILL");
    for (let i = 0; i < 5000 && readProcStat(pid) !== undefined; i++) sleepSync(1);
    Deno.writeTextFileSync("/proc/sys/kernel/ns_last_pid", String(pid - 1));
    const child = reaper.spawn(["sleep", "1000"]);
    got.newcomer = child;
  };
}

/**
 * Run `act` on a process that a hook (run after pidkit's identity check,
 * right before its signal) kills and replaces by a newcomer with the same
 * PID. Returns the newcomer, or undefined when the kernel gave the PID to
 * another process 20 times in a row.
 */
export async function raceRound(
  reaper: Reaper,
  act: (target: { pid: number; startTime: number }) => Promise<unknown> | unknown,
): Promise<Deno.ChildProcess | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const target = await grandchild(reaper);
    const got: { newcomer?: Deno.ChildProcess } = {};
    _setBeforeSignalHookForTesting(reuseHook(reaper, got));
    try {
      await act(target);
    } finally {
      _setBeforeSignalHookForTesting(undefined);
    }
    if (got.newcomer?.pid === target.pid) return got.newcomer;
    if (got.newcomer) killQuietly(got.newcomer.pid); // another process took the PID: again
  }
  return undefined;
}
