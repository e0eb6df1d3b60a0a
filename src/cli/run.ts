/**
 * `pidkit run NAME [options] -- CMD [ARGS...]`: the supervisor in the
 * foreground, for systemd units and containers. Exits with the service's
 * exit status (128+N when it died of signal N).
 *
 * SIGUSR1: a Deno process opens the V8 inspector on SIGUSR1, so `run`
 * cannot simply listen for it. It re-executes itself in place (same PID)
 * with SIGUSR1 blocked, then takes each SIGUSR1 with `sigwaitinfo` and
 * forwards it to the tree. Where that is impossible (no FFI, not Linux) it
 * ignores SIGUSR1 (see `src/os/sigusr1.ts`).
 *
 * @module
 */

import {
  disarmSigusr1,
  reexecWithSigusr1Blocked,
  sigusr1Blocked,
  watchBlockedSigusr1,
} from "../os/sigusr1.ts";
import { PidkitError } from "../os/errors.ts";
import { closeInherited } from "../os/close_inherited.ts";
import { printErr } from "./io.ts";
import { buildSupervisorConfig } from "../service/control/supervisor_config.ts";
import { launchOptionsFrom } from "./launch_options.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit run`. */
export async function run(input: CommandInput): Promise<number> {
  if (!sigusr1Blocked()) reexecWithSigusr1Blocked(); // returns only when it cannot
  const blocked = sigusr1Blocked();
  if (!blocked) disarmSigusr1();
  // Nothing of the caller's stays open here or leaks into the service: it
  // gets 0, 1 and 2 (and a --ready-fd of pidkit's own making).
  closeInherited();
  const config = buildSupervisorConfig(input.positionals[0], input.command, {
    ...launchOptionsFrom(input),
    foreground: true,
  });
  if (config.options.cron !== undefined || config.options.cronRestart !== undefined) {
    const { checkSchedules } = await import("../service/policies/service_policies.ts");
    await checkSchedules(config.options);
  }
  const [{ supervise }, { EventJournal }] = await Promise.all([
    import("../service/machine/run_host.ts"),
    import("../service/events/event_journal.ts"),
  ]);
  // Its events go into the run directory's journal (`pidkit events`), beside the resident supervisor's.
  const journal = EventJournal.open(config.dir);
  let failure: string | undefined;
  const code = await supervise(config, {
    events: journal.sink,
    onStarted(result) {
      if (!result.ok) {
        failure = result.error;
        if (result.logTail?.length) {
          printErr(
            `last lines of ${config.log}:\n${result.logTail.map((l) => `  ${l}`).join("\n")}`,
          );
        }
      }
    },
    ...(blocked ? { watchUsr1: (forward: () => void) => void watchBlockedSigusr1(forward) } : {}),
  });
  await journal.close();
  if (failure !== undefined && code !== 0) throw new PidkitError(failure);
  return code;
}
