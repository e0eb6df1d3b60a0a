/**
 * `pidkit run`'s host of one per-service machine, in the foreground (a
 * systemd unit, a container): its own poll loop and child subreaper, the
 * process's signals (SIGTERM/SIGINT stop the service with that signal
 * first; SIGHUP reopens the log and goes on to the tree with SIGUSR2, and
 * SIGUSR1 when it was started with it blocked), its control socket
 * (`DIR/NAME.run.sock`, _run_control.ts), no journal. The first start is
 * reported at spawn; an orphan of the name is refused, never adopted.
 *
 * @module
 */

import { messageLine } from "../../os/errors.ts";
import { FdPoller } from "../../os/fd_poller.ts";
import { adoptOrphans } from "../../os/orphan_reaper.ts";
import type { ServiceEventSink } from "../model/service_event.ts";
import { scanMarkedTrees } from "../inspect/marked_trees.ts";
import { RunControl } from "../control/_run_control.ts";
import {
  runSocketPath,
  type StartResult,
  type SupervisorConfig,
} from "../control/supervisor_protocol.ts";
import { exitStatus } from "./exit_text.ts";
import { NO_EVENTS, type SupervisionHost } from "./host.ts";
import { ServiceMachine } from "./service_machine.ts";

/** How `pidkit run` supervises; see {@linkcode supervise}. */
export interface RunOptions {
  /** Called once: the service is running, or it could not be started. */
  onStarted(result: StartResult): void | Promise<void>;
  /** `run` started with SIGUSR1 blocked: call `forward` for each SIGUSR1. */
  watchUsr1?: (forward: () => void) => void;
  /** Where the machine's lifecycle events go (default: nowhere). */
  events?: ServiceEventSink;
}

const SIGNALS_FORWARDED: Deno.Signal[] = ["SIGHUP", "SIGUSR2"];
const STOP_SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGINT"];

/**
 * Supervise `config` in the foreground until it is stopped or gives up.
 * Returns the exit status for the process: the service's last exit status
 * (128+N for signal N), 1 when it could not start.
 *
 * @example
 * ```ts
 * import { supervise } from "./run_host.ts";
 * // const code = await supervise(config, { onStarted: (r) => console.log(r.ok) });
 * console.log(typeof supervise);
 * ```
 */
export async function supervise(config: SupervisorConfig, options: RunOptions): Promise<number> {
  const host = new RunHost(config.dir, options);
  const machine = new ServiceMachine(config, host, { onStarted: options.onStarted });
  const end = await machine.run();
  if (end === "failed") return 1;
  return machine.lastExit ? exitStatus(machine.lastExit) : 0;
}

/** The host `pidkit run` gives its one machine (see the module doc). */
class RunHost implements SupervisionHost {
  readonly kind = "service" as const;
  readonly reaper = adoptOrphans(); // a child subreaper that reaps, also as a container's PID 1
  readonly events: ServiceEventSink;
  readonly reportsAtSpawn = true;
  readonly adoptsOrphans = false;
  readonly pidFileCheckMs = 250;
  readonly #dir: string;
  readonly #watchUsr1?: (forward: () => void) => void;
  #poller?: FdPoller;
  #control?: RunControl;

  constructor(dir: string, options: RunOptions) {
    this.#dir = dir;
    this.#watchUsr1 = options.watchUsr1;
    this.events = options.events ?? NO_EVENTS;
  }

  get poller(): FdPoller | undefined {
    return this.#poller;
  }

  markedTrees(name: string): ReturnType<SupervisionHost["markedTrees"]> {
    return scanMarkedTrees(this.#dir, name).get(name) ?? []; // no scan of its own to reuse
  }

  ensureDir(): void {}

  note(): void {}

  begin(machine: ServiceMachine): void {
    for (const sig of STOP_SIGNALS) {
      Deno.addSignalListener(sig, () => machine.requestStop(sig));
    }
    for (const sig of SIGNALS_FORWARDED) {
      Deno.addSignalListener(sig, () => {
        if (sig === "SIGHUP") machine.reopenLog();
        machine.signalTree(sig);
      });
    }
    this.#watchUsr1?.(() => machine.signalTree("SIGUSR1"));
  }

  async holding(machine: ServiceMachine): Promise<{ socket?: string }> {
    // The loop starts with the first descriptor watched.
    this.#poller = FdPoller.create();
    if (this.#poller === undefined) return {};
    const { name, dir } = machine.cfg;
    try {
      this.#control = RunControl.listen(machine, runSocketPath(dir, name), this.#poller);
    } catch (err) { // stop still works by SIGTERM; restart does not
      await machine.log?.line(`no control socket for ${name}: ${messageLine(err)}`);
    }
    return this.#control ? { socket: this.#control.path } : {};
  }

  async end(): Promise<void> {
    await this.#control?.close(); // a stop's answer goes out now, the lock released
    await this.#poller?.close();
    this.reaper.reaper?.reapNow();
    this.reaper.reaper?.stop();
  }
}
