/**
 * What a machine does once it holds its service's PID file, before the
 * first instance: the log, what the previous run left (a survivor refuses
 * the start, an orphan is adopted), the host's part (`pidkit run`'s
 * control socket), the output FIFO, the env file, the record, the notify
 * socket; and an adoption announced.
 *
 * @module
 */

import { messageLine } from "../../os/errors.ts";
import { readBootId, readProcStat } from "../../os/proc.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import { describeSurvivor } from "../inspect/inspect_service.ts";
import { LogSink } from "../output/log_sink.ts";
import { adoptedRecord, orphanToAdopt, removeLeftovers } from "./_previous_run.ts";
import { markedError, previousRun } from "./_pid_file_hold.ts";
import { openServiceOutput } from "./_service_output.ts";
import { servicePaths } from "../model/run_dir.ts";
import { writeServiceEnv } from "../model/service_env.ts";
import type { Machine } from "./context.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { openNotify } from "./notify_hooks.ts";
import { announceAdoption } from "./adopted_start.ts";

/**
 * Everything up to the first instance; `failed` when the start cannot go
 * on (reported), else the orphaned tree adopted, if any, and the record
 * the previous run left (for `--cron-catch-up`).
 *
 * @example
 * ```ts
 * import { takeHold } from "./take_hold.ts";
 * // in the machine, once the lock is held: const held = await takeHold(this);
 * console.log(typeof takeHold);
 * ```
 */
export async function takeHold(
  m: Machine,
): Promise<"failed" | { adopted?: ProcessTree; previous?: ServiceRecord }> {
  const { cfg } = m;
  if (cfg.log) {
    try {
      const { logMaxBytes: maxBytes, logKeep: keep } = cfg.options;
      m.log = await LogSink.open(cfg.log, {
        ...(maxBytes ? { rotation: { maxBytes, keep: keep ?? 5 } } : {}),
        ...(cfg.user ? { group: cfg.user.gid } : {}),
        times: true,
        onRotate: () => {
          try {
            m.host.events({ service: cfg.name, kind: "log-rotated" });
          } catch { /* the sink's problem */ }
        },
      });
    } catch (err) {
      return await m.fail(`cannot open log ${cfg.log}: ${messageLine(err)}`);
    }
  }
  // Not adopting: whatever wrote the log's unfinished last line is gone.
  if (!m.adopting) await m.log?.endOfOutput();
  if (m.host.reaper.problem) await m.log?.line(`orphans: ${m.host.reaper.problem}`);
  if (m.opts.firstLine) await m.log?.line(m.opts.firstLine);
  // Again once locked: a tree found now (its marker scanned after the lock
  // was taken) was there before this start, and nothing makes another.
  const found = await previousRun(m);
  const previous = found.record;
  let adopted: ProcessTree | undefined;
  if (previous) {
    // Checked again once locked (a race); adopting, the attach is the check.
    if (m.adopting && !found.marked?.holder) adopted = await orphanToAdopt(previous);
    const survivor = adopted ? undefined : await describeSurvivor(cfg.name, previous);
    if (survivor) {
      const error = found.marked ? markedError(cfg.name, found) : survivor.error;
      await m.log?.line(`not starting: ${error}`);
      return await m.fail(error, { alreadyRunning: survivor.pid });
    }
    if (!adopted && m.adopting) {
      return await m.fail(`${cfg.name}'s orphaned tree ended while being adopted`);
    }
    if (!adopted) await removeLeftovers(previous, cfg.name);
    const why = found.recordError ?? `its record ${cfg.state} did not name it`;
    if (adopted && found.marked) await m.log?.line(`found by its marker: ${why}`);
  }
  // The host's part (`pidkit run`: its poll loop and control socket).
  const { socket } = await m.host.holding?.(m) ?? {};
  // Only now: beside a survivor, its output FIFO is its own and stays.
  if (m.log) {
    const log = m.log;
    try {
      m.output = await openServiceOutput(
        cfg,
        m.host.poller,
        (bytes, taken, move) => log.write(bytes, taken, move),
      );
    } catch (err) {
      return await m.fail(`cannot set up ${cfg.name}'s output: ${messageLine(err)}`);
    }
    if (m.output === undefined) {
      await log.line(
        `${cfg.name}'s output goes through a pipe: a service that writes dies with its supervisor`,
      );
    }
  }
  // The values may be secrets: a 0600 file, never the state everyone reads.
  const unsaved = await writeServiceEnv(servicePaths(cfg.dir, cfg.name).env, cfg.env)
    .then(() => "", messageLine);
  if (unsaved && !adopted) return await m.fail(`cannot write ${cfg.name}'s env: ${unsaved}`);
  const now = new Date().toISOString();
  m.state = adopted ? adoptedRecord(previous!, adopted, Object.keys(cfg.env)) : {
    version: 2,
    name: cfg.name,
    phase: "starting",
    supervisor: {
      pid: Deno.pid,
      startTime: readProcStat("self")?.startTime ?? 0,
      kind: m.host.kind,
      ...(socket ? { socket } : {}),
    },
    command: cfg.command,
    cwd: cfg.cwd,
    envNames: Object.keys(cfg.env),
    ...(cfg.user ? { user: cfg.user.name } : {}),
    options: cfg.options,
    ...(cfg.origin ? { origin: cfg.origin } : {}),
    pidfile: cfg.pidfile,
    log: cfg.log ?? "-",
    restarts: 0,
    bootId: readBootId(),
    createdAt: now,
    updatedAt: now,
  };
  try {
    m.notify = await openNotify(m);
  } catch (err) {
    const why = `cannot set up ${cfg.name}: ${messageLine(err)}`;
    await m.end("failed", why);
    return await m.fail(why);
  }
  if (m.notify.socketPath) await m.save({ notifySocket: m.notify.socketPath });
  if (adopted) await announceAdoption(m, adopted, previous!);
  return { ...(adopted ? { adopted } : {}), ...(previous ? { previous } : {}) };
}
