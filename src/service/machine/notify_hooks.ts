/**
 * What the machine does with what its service tells it (service_notify.ts):
 * the socket and descriptor opened with the machine's hooks, the
 * watchdog's abort-then-stop, a new main process (`MAINPID=`), and the
 * phases the service announces, which go through the machine's `enter`.
 *
 * @module
 */

import { signalProcess } from "../../os/pidfd.ts";
import { isTreeMember } from "../../tree/tree_member.ts";
import { ServiceNotify } from "../readiness/service_notify.ts";
import type { Machine } from "./context.ts";
import { forkingWatchdogFired } from "./forking_watchdog.ts";

/** How long a main process aborted by the watchdog has to die of SIGABRT before the stop. */
const ABORT_GRACE_MS = 5000;

/**
 * The sd_notify socket, notification fd and watchdog the options ask for.
 *
 * @example
 * ```ts
 * import { openNotify } from "./notify_hooks.ts";
 * // once the machine holds its lock: m.notify = await openNotify(m);
 * console.log(typeof openNotify);
 * ```
 */
export function openNotify(m: Machine): Promise<ServiceNotify> {
  const { cfg } = m;
  return ServiceNotify.open({
    name: cfg.name,
    dir: cfg.dir,
    options: cfg.options,
    ...(cfg.user ? { user: cfg.user } : {}),
    log: (text) => void m.log?.line(text),
    save: (change) => m.save(change),
    phase: () => m.state.phase,
    enter: (input, details) => {
      const pid = m.state.mainPid ?? m.tree?.pid;
      void m.enter(input, { ...(pid ? { pid } : {}), ...details });
    },
    onWatchdog: (why) => void watchdogFired(m, why),
    onMainPid: (pid) => mainPidChanged(m, pid),
    poller: m.host.poller,
  });
}

/**
 * The watchdog fired: SIGABRT to the main process, a moment for it to
 * dump core and die of it (systemd's TimeoutAbortSec), then the tree is
 * stopped on the schedule; the exit counts as a failure. A forking
 * service's is forking_watchdog.ts's.
 */
async function watchdogFired(m: Machine, why: string): Promise<void> {
  const tree = m.tree;
  if (tree === undefined || m.stopping) return;
  // Its leader exited at start-up: the main process is what is aborted and waited for.
  if (m.cfg.options.forking) return await forkingWatchdogFired(m, tree, why, ABORT_GRACE_MS);
  m.forcedFailure = true;
  const main = m.state.mainPid ?? tree.pid;
  void m.enter("watchdog", { pid: main, reason: why });
  // Through a pidfd (src/os/pidfd.ts): a main process that is not our child
  // (MAINPID=, --forking, an adopted leader) may die and its PID be reused
  // meanwhile; the leader is checked by its recorded start time.
  if (main === tree.pid) signalProcess({ pid: main, startTime: tree.ref.startTime }, "SIGABRT");
  else signalProcess({ pid: main }, "SIGABRT", () => isTreeMember(tree.ref, main));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([tree.status, new Promise((r) => timer = setTimeout(r, ABORT_GRACE_MS))]);
  clearTimeout(timer);
  await tree.stop({ retry: m.cfg.options.retry }).catch(() => {});
}

/** `MAINPID=`: a member of the tree is the main process now (PID file and state). */
async function mainPidChanged(m: Machine, pid: number): Promise<void> {
  if (m.tree === undefined || pid === (m.state.mainPid ?? m.tree.pid)) return;
  await m.log?.line(`${m.cfg.name}: main pid is now ${pid} (MAINPID=)`);
  await m.lock?.update({ pid }).catch(() => {});
  await m.save({ mainPid: pid });
}
