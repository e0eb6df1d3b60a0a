/**
 * The watchdog of a `--forking` service (notify_hooks.ts has a simple
 * service's). Its leader exited at start-up, so what SIGABRT must reach,
 * and what the abort's grace waits for, is the main process (with none
 * known: every process of the tree, and the tree's end). Once the main
 * process has died, or its grace has run out, the instance ends as any
 * forking instance does (forking_start.ts `followForking`): the rest of
 * the tree and the main process's descendants, also those that left the
 * tree, are stopped together (`stopForking`), the exit counts as a
 * failure, and then the restart policy applies. That one path does the
 * stop, so a restart never overlaps a stop still running.
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import { signalProcess } from "../../os/pidfd.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import { forkingEnded } from "../pidfile/forking.ts";
import type { Machine } from "./context.ts";

/** Per tree: whether its watchdog fired, and what settles (with the log's line) once that abort is over. */
interface Abort {
  fired: boolean;
  over: Promise<string>;
  settle: (line: string) => void;
}

const aborts = new WeakMap<ProcessTree, Abort>();

function abortOf(tree: ProcessTree): Abort {
  let entry = aborts.get(tree);
  if (entry === undefined) {
    let settle!: (line: string) => void;
    const over = new Promise<string>((r) => settle = r);
    entry = { fired: false, over, settle };
    aborts.set(tree, entry);
  }
  return entry;
}

/**
 * How a forking instance's life ends: `ended` (its main process, or its
 * last process, exited: undefined) or its watchdog's abort is over (its
 * main process died of the SIGABRT or had its grace: the log's line), or
 * `woken` (a stop or a restart in place: undefined). A main process that
 * exits while its abort runs is the abort's: its line, once it is over.
 *
 * @example
 * ```ts
 * import { forkingLifeEnd } from "./forking_watchdog.ts";
 * // const watchdogLine = await forkingLifeEnd(tree, ended, machine.woken);
 * console.log(typeof forkingLifeEnd);
 * ```
 */
export async function forkingLifeEnd(
  tree: ProcessTree,
  ended: Promise<void>,
  woken: Promise<void>,
): Promise<string | undefined> {
  const abort = abortOf(tree);
  const interrupted = woken.then(() => undefined);
  const first = await Promise.race([ended.then(() => undefined), abort.over, interrupted]);
  if (first !== undefined || !abort.fired) return first;
  return await Promise.race([abort.over, interrupted]);
}

/**
 * The watchdog's abort of a forking instance that is still starting:
 * `undefined` while it has not fired; once it has, the log's line when its
 * abort is over (its main process died of the SIGABRT or had its grace),
 * or `null` when a stop or a restart in place came first. Its readiness
 * wait ends with the abort (`over`), so a main process that survives the
 * SIGABRT fails the start after the grace, not at `--ready-timeout`, and
 * one that becomes ready meanwhile is not reported started.
 *
 * @example
 * ```ts
 * import { startAborted } from "./forking_watchdog.ts";
 * // const line = await startAborted(tree, machine.woken);
 * console.log(typeof startAborted);
 * ```
 */
export async function startAborted(
  tree: ProcessTree,
  woken: Promise<void>,
): Promise<string | null | undefined> {
  const abort = abortOf(tree);
  if (!abort.fired) return undefined;
  return await Promise.race([abort.over, woken.then(() => null)]);
}

/**
 * What settles once the watchdog's abort of `tree` is over (never, when
 * it does not fire): a forking instance's readiness wait ends with it.
 *
 * @example
 * ```ts
 * import { abortOver } from "./forking_watchdog.ts";
 * // exited: Promise.race([ended, abortOver(tree)])
 * console.log(typeof abortOver);
 * ```
 */
export function abortOver(tree: ProcessTree): Promise<string> {
  return abortOf(tree).over;
}

/**
 * The watchdog of a forking service fired (`why`): the exit counts as a
 * failure; SIGABRT to the main process (through a pidfd, checked by its
 * start time: it is not our child), or with none known to every process
 * of the tree; then up to `graceMs` for it (or the tree) to die of it.
 * What follows is the instance's own end (see the module doc).
 *
 * @example
 * ```ts
 * import { forkingWatchdogFired } from "./forking_watchdog.ts";
 * // onWatchdog: (why) => void forkingWatchdogFired(machine, machine.tree!, why, 5000)
 * console.log(typeof forkingWatchdogFired);
 * ```
 */
export async function forkingWatchdogFired(
  m: Machine,
  tree: ProcessTree,
  why: string,
  graceMs: number,
): Promise<void> {
  const { name } = m.cfg;
  const main = m.main;
  m.forcedFailure = true;
  void m.enter("watchdog", { ...(main ? { pid: main.pid } : {}), reason: why });
  const abort = abortOf(tree);
  abort.fired = true;
  const what = main ? `main pid ${main.pid}` : "its processes (main process unknown)";
  // Each process once, by PID and start time (tree.signal would add the
  // group as a whole: a second SIGABRT into a handler still dumping).
  for (const p of main ? [main] : tree.members()) {
    signalProcess({ pid: p.pid, startTime: p.startTime }, "SIGABRT");
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    forkingEnded(tree, main).then(() => "exited" as const),
    new Promise<"grace">((r) => timer = setTimeout(() => r("grace"), graceMs)),
    m.woken.then(() => "woken" as const), // a stop or a restart takes over; no timer left behind
  ]);
  clearTimeout(timer);
  if (outcome === "woken") return;
  abort.settle(
    outcome === "exited"
      ? `${name}: ${what} exited after SIGABRT (watchdog)`
      : `${name}: ${what} did not exit within ${formatDuration(graceMs)} of SIGABRT (watchdog)`,
  );
}
