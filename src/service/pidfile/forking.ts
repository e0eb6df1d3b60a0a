/**
 * Forking services (`start|run NAME --forking [--main-pidfile FILE]`),
 * systemd's `Type=forking` with pidkit's guarantees:
 *
 * - the leader exiting 0 after forking is start-up, not an exit; exiting
 *   non-zero, or not exiting within the ready timeout, is a failed start;
 * - with a main PID file, the service is ready once the leader exited 0
 *   and the file, written since the start, names a live process of the
 *   service's tree: the service's main PID. A PID outside the tree is
 *   refused;
 * - without a main PID file, the main process is guessed as systemd guesses
 *   it (`GuessMainPID=`): once the leader has exited, the one process of
 *   the tree whose parent is not in the tree (the child the leader left
 *   behind); when it exits while others remain, the guess is made again.
 *   With several such processes the main process is unknown: the PID file
 *   is left empty, never naming the leader that exited;
 * - the service then lives as long as its main process (with none known: as
 *   long as its tree has members).
 *
 * What the group tier sees: a daemon that clears its environment and calls
 * `setsid` (nginx does both) leaves the process group, the session and the
 * marker behind, so the group tier cannot see it. The main PID file names
 * it: it counts as the tree's when it started between the leader's start
 * and the leader's exit (it was forked during start-up), and from then on
 * its descendants are found by parentage (src/tree/process_family.ts).
 *
 * @module
 */

import { Pidfd } from "../../os/pidfd.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  isDeadState,
  isProcessAlive,
  readProcStat,
  readUptimeSeconds,
} from "../../os/proc.ts";
import type { ProcessTree, TreeExit } from "../../tree/process_tree.ts";
import { firstLinePid } from "../../lock/unlocked_pid_file.ts";
import { delay } from "../../os/delay.ts";

/** How a forking service's start-up is judged. */
export interface ForkingCheck {
  /** The daemon's own PID file (`--main-pidfile`), absolute. */
  mainPidfile?: string;
  /** How long the leader may take to exit and the main PID file to be filled, ms. */
  timeoutMs: number;
  /** When the leader was spawned (ms since the epoch): an older main PID file is left over. */
  spawnedAtMs: number;
  /**
   * The tree was adopted (its supervisor was killed during the start): the
   * leader is not our child, so its exit status is unknown, and its exit
   * counts as the start-up's (what it left decides).
   */
  adopted?: boolean;
}

/** The main process of a forking service. */
export interface MainProcess {
  /** Its PID. */
  pid: number;
  /** Its start time in clock ticks after boot. */
  startTime: number;
}

/** What the start-up of a forking service came to; `guessed`: without a main PID file. */
export type ForkingStart =
  | { ok: true; main?: MainProcess; guessed?: MainGuess }
  | { ok: false; error: string; exit?: TreeExit; notReady?: true }
  | { ok: false; stopped: true };

const POLL_MS = 20;

/**
 * Wait for a forking service to start: the leader exits 0, then (with a
 * main PID file) the file names a live member of the tree. Resolves with
 * the main process, or why the start failed; `stopped` settles when a stop
 * was asked for meanwhile.
 *
 * @example
 * ```ts
 * import { spawnTree } from "../../tree/spawn_tree.ts";
 * import { awaitForkingStart } from "./forking.ts";
 * const spawnedAtMs = Date.now();
 * const tree = await spawnTree(["sh", "-c", "sleep 30 & echo $! > /tmp/d.pid"], { name: "d" });
 * const start = await awaitForkingStart(tree, {
 *   mainPidfile: "/tmp/d.pid",
 *   timeoutMs: 5000,
 *   spawnedAtMs,
 * }, new Promise(() => {}));
 * console.log(start.ok && start.main?.pid);
 * await tree.stop();
 * ```
 */
export async function awaitForkingStart(
  tree: ProcessTree,
  check: ForkingCheck,
  stopped: Promise<unknown>,
): Promise<ForkingStart> {
  const deadline = Date.now() + check.timeoutMs;
  let isStopped = false;
  stopped.then(() => isStopped = true, () => isStopped = true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), check.timeoutMs));
  const first = await Promise.race([tree.status, late, stopped.then(() => "stopped" as const)]);
  clearTimeout(timer);
  if (first === "stopped" || isStopped) return { ok: false, stopped: true };
  if (first === "late") {
    return {
      ok: false,
      error:
        `its first process (pid ${tree.pid}) did not exit within ${seconds(check.timeoutMs)}: ` +
        `a --forking service must fork into the background and exit 0`,
      notReady: true,
    };
  }
  const unknown = first.code === null && first.signal === null;
  if (!first.success && !(check.adopted && unknown)) {
    const how = first.signal ? `signal ${first.signal}` : `code ${first.code}`;
    return { ok: false, error: `exited during start-up with ${how}`, exit: first };
  }
  const leaderExitTicks = Math.ceil(readUptimeSeconds() * CLOCK_TICKS_PER_SECOND) + 1;
  if (check.mainPidfile === undefined) {
    const guessed = guessMainProcess(tree);
    if (guessed.processes > 0) {
      return { ok: true, guessed, ...(guessed.main ? { main: guessed.main } : {}) };
    }
    return {
      ok: false,
      error: "its first process exited 0 and left no process behind that pidkit can see " +
        "(give --main-pidfile for a daemon that leaves the session and clears its environment)",
      exit: first,
    };
  }
  let why = `${check.mainPidfile} was not written`;
  for (;;) {
    const found = readMainPid(check.mainPidfile, check.spawnedAtMs);
    if (typeof found === "number") {
      const st = readProcStat(found);
      if (st !== undefined && !isDeadState(st.state)) {
        // cgroup tier: membership is exact. Group tier: also a process forked
        // during start-up (between the leader's start and its exit).
        const inTree = tree.members().some((m) => m.pid === found) ||
          (tree.tracking === "group" && st.startTime >= tree.ref.startTime &&
            st.startTime <= leaderExitTicks);
        if (!inTree) {
          return {
            ok: false,
            error: `${check.mainPidfile} names pid ${found}, which is not part of the service's ` +
              `process tree; refusing it as the main process`,
          };
        }
        return { ok: true, main: { pid: found, startTime: st.startTime } };
      }
      why = `${check.mainPidfile} names pid ${found}, which is not running`;
    } else if (found !== undefined) why = found.error;
    if (isStopped) return { ok: false, stopped: true };
    if (Date.now() >= deadline) {
      return {
        ok: false,
        error: `not ready within ${seconds(check.timeoutMs)}: ${why}`,
        notReady: true,
      };
    }
    await delay(POLL_MS);
  }
}

/** The main process of a forking service as guessed without a main PID file. */
export interface MainGuess {
  /** The main process, when there is exactly one candidate. */
  main?: MainProcess;
  /** How many live processes the service has (besides the exited leader). */
  processes: number;
}

/**
 * Guess the main process of a `--forking` service whose leader has exited,
 * as systemd does without `PIDFile=`: the one live member of the tree whose
 * parent is not a member (the child the leader left; its own children are
 * not candidates). None when there are several (or no member at all).
 *
 * @example
 * ```ts
 * import { spawnTree } from "../../tree/spawn_tree.ts";
 * import { guessMainProcess } from "./forking.ts";
 * const tree = await spawnTree(["sh", "-c", "sleep 30 & exit 0"], { name: "d" });
 * await tree.status;
 * console.log(guessMainProcess(tree).main?.pid); // the sleep
 * await tree.stop();
 * ```
 */
export function guessMainProcess(tree: ProcessTree): MainGuess {
  const members = tree.members().filter((m) => m.pid !== tree.pid);
  const pids = new Set(members.map((m) => m.pid));
  const tops = members.filter((m) => !pids.has(m.ppid));
  if (tops.length !== 1) return { processes: members.length };
  return { main: { pid: tops[0].pid, startTime: tops[0].startTime }, processes: members.length };
}

/**
 * The PID in the main PID file: a number, `undefined` while it is missing,
 * empty or older than the start, or `{ error }` for content that is no PID.
 *
 * @example
 * ```ts
 * import { readMainPid } from "./forking.ts";
 * console.log(readMainPid("/run/nginx.pid", Date.now() - 60_000));
 * ```
 */
export function readMainPid(path: string, sinceMs: number): number | { error: string } | undefined {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile) return { error: `${path} is not a regular file` };
  // Left over from an earlier run (its PID may be anyone's now): wait for the new one.
  if ((st.mtime?.getTime() ?? 0) < sinceMs - 10) return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  if (text.trim() === "") return undefined;
  const found = firstLinePid(text);
  if (found === undefined) {
    const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
    return { error: `${path} holds ${shown}, not a PID` };
  }
  return found.pid;
}

/**
 * Resolves when a forking service has ended: its main process exited
 * (watched through a pidfd where there is one), or, without a main
 * process, its tree has no member left. `onTick` runs about every second
 * while the main process lives (the supervisor notes its descendants then,
 * to stop them once it is gone).
 *
 * @example
 * ```ts
 * import { forkingEnded } from "./forking.ts";
 * import { spawnTree } from "../../tree/spawn_tree.ts";
 * const tree = await spawnTree(["sleep", "1"], { name: "nap" });
 * await forkingEnded(tree, undefined);
 * ```
 */
export async function forkingEnded(
  tree: ProcessTree,
  main: MainProcess | undefined,
  onTick?: () => void,
): Promise<void> {
  if (main === undefined) {
    await tree.done();
    return;
  }
  const fd = Pidfd.open(main.pid);
  if (fd === "gone") return;
  try {
    if (!isProcessAlive(main.pid, main.startTime)) return;
    // Look often at first (a daemon forks its workers right after it
    // starts), then about every second.
    for (let ms = 25; isProcessAlive(main.pid, main.startTime); ms = Math.min(ms * 2, 1000)) {
      onTick?.();
      if (fd !== undefined) await fd.waitExit(ms);
      else await delay(Math.min(ms, 100));
    }
  } finally {
    fd?.close();
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
