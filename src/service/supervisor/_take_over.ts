/**
 * What a resident supervisor does, as it starts, with what the previous
 * one left of each name (dir_supervisor.ts): an orphan found by its record
 * or its marker is adopted; a tree that died while no supervisor ran gets
 * its restart policy or its books closed; anything else is left alone.
 *
 * @module
 */

import { messageLine } from "../../os/errors.ts";
import type { TreeRef } from "../../tree/process_tree.ts";
import {
  adoptable,
  diedUnsupervised,
  orphanConfig,
  readPreviousState,
  readRecordOrError,
  settleUnsupervised,
} from "../machine/_previous_run.ts";
import { recordedMainProcess } from "../inspect/recorded_main.ts";
import { survivingTree } from "../inspect/inspect_service.ts";
import { servicePaths } from "../model/run_dir.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { configFromRecord } from "../control/supervisor_config.ts";
import type { StartResult, SupervisorConfig } from "../control/supervisor_protocol.ts";

/** The resident supervisor, as the take-over sees it. */
export interface TakeOverHost {
  /** The run directory. */
  dir: string;
  /** The live trees of the directory found by their markers as it started. */
  marked: Map<string, TreeRef[]>;
  /** The services it holds, each with the end of its supervision. */
  services: Map<string, { done: Promise<void> }>;
  /** Start (or adopt) one service. */
  start(
    config: SupervisorConfig,
    options?: { adoptOnly?: boolean; firstLine?: string; restartedDue?: boolean },
  ): Promise<StartResult>;
  /** A line in the journal. */
  note(text: string): Promise<void>;
}

/** What the previous supervisor left of `name`: adopted, restarted, settled, or left alone. */
export async function takeOver(
  host: TakeOverHost,
  name: string,
): Promise<"adopted" | "restarted" | false> {
  const paths = servicePaths(host.dir, name);
  const read = readRecordOrError(paths.state);
  const { recordError } = read;
  let record = read.record;
  const marked = (host.marked.get(name) ?? []).filter((ref) =>
    ref.marker !== record?.tree?.marker && ref.marker !== record?.spawning
  );
  // Only what could be alive without its supervisor; `run` without a log
  // (its output went to a terminal or pipe that is gone) is not adopted.
  if (record?.log === "-") return false;
  if (record !== undefined && !adoptable(record) && marked.length === 0) return false;
  let config: SupervisorConfig;
  try {
    config = record
      ? configFromRecord(host.dir, name, record)
      : marked.length > 0
      ? orphanConfig(host.dir, name, marked[0])
      : undefined!;
  } catch (err) {
    await host.note(`cannot adopt ${name}: ${messageLine(err)}`);
    return false;
  }
  if (config === undefined) return false;
  const alive = (record && await survivingTree(record)) || marked.length > 0;
  if (alive) {
    const answer = await host.start(config, { adoptOnly: true });
    if (!answer.ok && answer.adopted === true) {
      if (recordError !== undefined) {
        await host.note(
          `${name} adopted by its marker: its record could not be read (${recordError}); ` +
            `its command and restart policy are unknown: it is not restarted`,
        );
      }
      return "adopted";
    }
    if (!answer.ok && answer.alreadyRunning !== undefined) {
      await host.note(`${name} not adopted: ${answer.error}`);
      return false;
    }
    // Ended while being adopted (a start gate that never opened, say): it
    // died. Its supervision must be over before another can begin.
    await host.services.get(name)?.done;
    record = readPreviousState(paths.state) ?? record;
    if (record === undefined || await survivingTree(record)) return false;
  }
  if (record === undefined || !diedUnsupervised(record)) return false;
  if (recordedMainProcess(record) !== undefined) {
    // A daemon that left the session and cleared its environment: the group
    // tier sees no tree, but its main process runs. Never a second one.
    await host.note(
      `${name} not adopted: its main process (pid ${record.mainPid}) runs outside the tree ` +
        `the group tier tracks (it left the session); it is not started a second time`,
    );
    return false;
  }
  return await unsupervisedDeath(host, name, record, config);
}

/**
 * `name`'s tree died while no supervisor ran (or a restart was due when
 * its supervisor was killed): its restart policy decides, its exit status
 * unknown (a failure). A resident supervisor killed while it waited to
 * restart: that restart is due now (the count starts again). Not for
 * `pidkit run`'s services: their unit decides (diedUnsupervised).
 */
async function unsupervisedDeath(
  host: TakeOverHost,
  name: string,
  record: ServiceRecord,
  config: SupervisorConfig,
): Promise<"restarted" | false> {
  const due = record.phase === "restarting";
  // A --cron task (waiting, or whose run died unsupervised): its schedule goes on.
  const scheduled = record.phase !== "stopping" && record.options.cron !== undefined;
  const pid = record.tree?.pid;
  const what = due
    ? `its supervisor (pid ${record.supervisor.pid}) was killed while it waited to restart it`
    : record.phase === "scheduled"
    ? `its supervisor (pid ${record.supervisor.pid}) was killed while ${name} waited for its ` +
      `next run`
    : `${name}${pid ? ` (pid ${pid})` : ""} died while no supervisor ran (exit status unknown)`;
  const restart = scheduled || (record.phase !== "stopping" &&
    (due || record.options.restart === "always" || record.options.restart === "on-failure"));
  if (!restart) {
    const settled = await settleUnsupervised(host.dir, name, record, what);
    if (settled) await host.note(`${name}: ${what}`);
    return false;
  }
  const line = scheduled
    ? `${what}; its schedule goes on (--cron ${record.options.cron})`
    : `${what}; restarting ${name} (--restart ${record.options.restart})`;
  // Not awaited: its readiness must not hold up every command.
  void host.start(config, { firstLine: line, restartedDue: true }).then((r) => {
    if (!r.ok) void host.note(`restarting ${name} failed: ${r.error}`);
  });
  await host.note(line);
  return "restarted";
}
