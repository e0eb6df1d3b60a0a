/**
 * What the resident supervisor answers a start of a service it holds
 * already: "already running", with its PID, or what it is doing (starting,
 * restarting in N s) and the supervisor's PID; and whether a new
 * supervisor adopted or restarted it.
 *
 * @module
 */

import { formatDuration } from "../../os/duration.ts";
import type { StartResult } from "../control/supervisor_protocol.ts";
import type { ServiceMachine } from "../machine/service_machine.ts";

/** The answer to a start of a service this supervisor holds already. */
export function alreadyHeld(
  name: string,
  sup: ServiceMachine,
  tellAdoption: boolean,
): StartResult {
  // A --forking service's leader exited at start-up: only its main process counts.
  const pid = sup.state?.mainPid ?? (sup.cfg.options.forking ? sup.main?.pid : sup.tree?.pid);
  let error = `${name} is already running (${whatRuns(sup, pid)})`;
  const adopted = sup.adopting && tellAdoption;
  if (adopted) {
    error += `; its supervisor was gone, a new one (pid ${Deno.pid}) adopted it`;
  } else if (sup.restartedDue && tellAdoption) {
    error += `; its supervisor was gone, a new one (pid ${Deno.pid}) restarted it`;
  }
  const held = sup.lock?.check();
  if (held === "removed" || held === "replaced") {
    error += `; its PID file was deleted or replaced (pidkit restart ${name} recreates it)`;
  }
  return {
    ok: false,
    error,
    alreadyRunning: pid ?? 0,
    ...(adopted ? { adopted: true as const } : {}),
  };
}

/** `pid N`; with no process (yet): what the supervisor is doing, and its PID. */
function whatRuns(sup: ServiceMachine, pid: number | undefined): string {
  if (pid !== undefined) return `pid ${pid}`;
  const next = sup.state?.nextRestart;
  const doing = next && sup.state.phase === "restarting"
    ? `restarting in ${formatDuration(Math.max(0, Date.parse(next.at) - Date.now()))}, ` +
      `attempt ${next.attempt} of ${next.of}`
    : sup.state?.mainUnknown !== undefined
    ? "main process unknown"
    : "starting";
  return `${doing}; supervisor pid ${Deno.pid}`;
}
