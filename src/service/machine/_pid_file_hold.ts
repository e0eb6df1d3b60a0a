/**
 * A supervisor's hold on its service's name: the PID file at the path is
 * the one it holds, or it is taken again, or the name is no longer this
 * supervisor's (another one holds it: nothing more is started here); the
 * previous run of the name found by its record and by its marker; the run
 * directory made again after it was removed.
 *
 * @module
 */

import { messageLine } from "../../os/errors.ts";
import { PidFile } from "../../lock/pid_file.ts";
import { findPreviousRun, type PreviousRun } from "./_previous_run.ts";
import type { Machine } from "./context.ts";
import { adoptable } from "./_previous_run.ts";
import { describeSurvivor } from "../inspect/inspect_service.ts";
import type { ServiceRecord } from "../model/service_record.ts";
import { configFromRecord } from "../control/supervisor_config.ts";

/** The previous run: its record, and a live tree of the name found by its marker. */
export function previousRun(sup: Machine): Promise<PreviousRun> {
  return findPreviousRun(sup.cfg, (fresh) => sup.host.markedTrees(sup.cfg.name, fresh));
}

/**
 * Whether the supervisor's lock on the PID file is the file at the path
 * (checked before and after each spawn): when the file (or the run
 * directory) was removed, the path is taken again; when another supervisor
 * holds it now, the name is its: nothing more is started here.
 */
export async function holdPidFile(sup: Machine): Promise<boolean> {
  const lock = sup.lock!;
  if (sup.disowned) return false;
  if (lock.check() === "held") return true;
  sup.host.ensureDir();
  try {
    await takeAgain(sup);
    await sup.log?.line(`${sup.cfg.pidfile} was removed; taken again`);
    return true;
  } catch (err) {
    sup.disowned = true;
    sup.output = undefined; // the FIFO at the path is the new holder's
    await sup.log?.line(
      `${sup.cfg.name} is not this supervisor's any more: ${sup.cfg.pidfile} was removed and ` +
        `cannot be taken again (${messageLine(err)}); nothing more is started`,
    );
    return false;
  }
}

/** The end of a supervision that may not start its service (see holdPidFile). */
export async function notSpawned(sup: Machine, first: boolean): Promise<undefined> {
  sup.stopping = true;
  sup.wake();
  sup.lastExit = { success: false, code: null, signal: null };
  if (first) {
    await sup.report({
      ok: false,
      error: `${sup.cfg.name}: ${sup.cfg.pidfile} is held by another supervisor now`,
      reason: "failed",
    });
  }
  return undefined;
}

/**
 * The run directory was made again (see the resident supervisor's
 * checkPresence): the PID file at the path again, the log at its path
 * again, the record written again.
 */
export async function restorePresence(sup: Machine): Promise<void> {
  if (sup.lock === undefined || sup.disowned) return;
  if (!await holdPidFile(sup)) return;
  await sup.log?.reopen().catch(() => {});
  if (sup.output !== undefined) {
    await sup.log?.line(
      `${sup.cfg.name}'s output FIFO was removed with the directory: its output goes on to ` +
        `this log while this supervisor runs`,
    );
  }
  if (sup.state !== undefined) await sup.save({});
}

/**
 * No lock protocol stops a third party from deleting or replacing the
 * PID file; notice it within a second and say so in the log (status
 * reports it too, from /proc).
 */
export function watchPidFile(sup: Machine): void {
  sup.pidFileWatch = sup.lock!.watch((how) => {
    void (async () => {
      // Removed: made again at once (a status must not say "not running"
      // while it runs). Replaced: what is there now is someone else's.
      if (how === "removed" && !sup.disowned && await retake(sup)) {
        await sup.log?.line(
          `${sup.cfg.pidfile} was removed by another process; ${sup.cfg.name} keeps running ` +
            `and the file is made again`,
        );
        return;
      }
      await sup.log?.line(
        `${sup.cfg.pidfile} was ${how} by another process; ${sup.cfg.name} keeps running ` +
          `(pidkit restart ${sup.cfg.name} recreates the file)`,
      );
    })();
  }, { intervalMs: sup.host.pidFileCheckMs }); // a resident supervisor: 1 s (200 services, 200 stats a second)
}

/** Take the PID file at the path again, and write the record again; false when it cannot. */
async function retake(sup: Machine): Promise<boolean> {
  try {
    await takeAgain(sup);
  } catch {
    return false;
  }
  if (sup.state !== undefined) await sup.save({});
  return true;
}

/**
 * The PID file at the path acquired again with the held PID (throws when
 * it cannot), the old lock closed and watched no more, the new one watched.
 */
async function takeAgain(sup: Machine): Promise<void> {
  const lock = sup.lock!;
  const again = await PidFile.acquire(sup.cfg.pidfile, {
    removeOnExit: false,
    durable: false,
    ...(lock.pid > 0 ? { pid: lock.pid } : {}),
  });
  // Emptied on purpose (a restart back-off, an unknown main process): empty again.
  if (sup.pidCleared) await again.clear().catch(() => {});
  sup.pidFileWatch?.[Symbol.dispose]();
  await lock.release().catch(() => {}); // the path names another file: only closed
  sup.lock = again;
  watchPidFile(sup);
}

/** "Already running" for a tree found by its marker alone: what the record missed. */
export function markedError(name: string, found: PreviousRun): string {
  const { ref, holder } = found.marked!;
  const why = found.recordError !== undefined
    ? `its record cannot be read: ${found.recordError}`
    : found.marked!.noRecord
    ? "it has no record"
    : "its record does not name it";
  const by = holder
    ? `; supervisor pid ${holder.pid} holds it (its run directory or PID file was removed)`
    : `, orphaned: its supervisor is gone; pidkit stop ${name} stops it`;
  return `${name} is already running (pid ${ref.pid}, found by its marker ${ref.marker}; ` +
    `${why}${by})`;
}

/**
 * Before the lock: a tree left running by the previous run (found by its
 * record, or by its marker whatever the record says). A host that adopts
 * no orphans (`pidkit run`), an orphan that cannot be adopted, or one a
 * live supervisor holds: the start ends (`failed`, reported). The
 * resident supervisor adopts an orphan: with the configuration its record
 * holds, not the one it was given.
 */
export async function checkPrevious(sup: Machine): Promise<{
  failed?: true;
  early?: { pid: number; error: string };
  previous?: ServiceRecord;
}> {
  const found = await previousRun(sup);
  const previous = found.record;
  const early = previous && await describeSurvivor(sup.cfg.name, previous);
  if (!early && sup.opts.adoptOnly) {
    await sup.fail(`${sup.cfg.name} has no orphaned tree to adopt`);
    return { failed: true };
  }
  if (early) {
    // The tree is alive (describeSurvivor found it); it is attached once locked.
    const error = found.marked ? markedError(sup.cfg.name, found) : early.error;
    if (!sup.host.adoptsOrphans || !adoptable(previous) || found.marked?.holder) {
      await sup.fail(error, { alreadyRunning: early.pid });
      return { failed: true };
    }
    try {
      sup.cfg = configFromRecord(sup.cfg.dir, sup.cfg.name, previous);
    } catch (err) { // its recorded user is gone, say
      await sup.fail(`${error}; cannot adopt it: ${messageLine(err)}`, {
        alreadyRunning: early.pid,
      });
      return { failed: true };
    }
    sup.adopting = true;
  }
  return { ...(early ? { early } : {}), ...(previous ? { previous } : {}) };
}
