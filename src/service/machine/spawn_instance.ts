/**
 * A new instance of the service: the PID file checked, the marker
 * recorded before the spawn, the tree spawned with the notify
 * environment and shims, its output to the log, the PID file and record
 * updated, its readiness watched (ready_watch.ts).
 *
 * @module
 */

import { messageLine } from "../../os/errors.ts";
import { formatMarker, makeNonce } from "../../tree/marker.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import { spawnTree, type SpawnTreeOptions } from "../../tree/spawn_tree.ts";
import { pump } from "../output/log_sink.ts";
import { RUN_DIR_VAR } from "../inspect/marked_trees.ts";
import { holdPidFile, notSpawned } from "./_pid_file_hold.ts";
import { spawnIdentity, userIds } from "./_service_output.ts";
import { serviceEnv } from "../control/supervisor_config.ts";
import type { Machine } from "./context.ts";
import { armWhenReady, hasReadyConditions } from "./ready_watch.ts";
import { startedLine } from "./attempt_tail.ts";

/**
 * Spawn an instance; undefined when none could be (a first start's
 * failure is reported). `first`: someone is told of this start;
 * `awaited`: and waits for its readiness (else the deadline is watched
 * here).
 *
 * @example
 * ```ts
 * import { spawnInstance } from "./spawn_instance.ts";
 * // in the machine's loop: const tree = await spawnInstance(this, first, awaited);
 * console.log(typeof spawnInstance);
 * ```
 */
export async function spawnInstance(
  m: Machine,
  first: boolean,
  awaited: boolean,
): Promise<ProcessTree | undefined> {
  const { cfg } = m;
  // Record the marker before spawning: a supervisor killed between the
  // spawn and the state write below leaves a tree status and stop can
  // still find.
  const nonce = makeNonce();
  if (!await holdPidFile(m)) return notSpawned(m, first);
  await m.save({ spawning: formatMarker(cfg.name, nonce), tree: undefined });
  // The service's output waits in its FIFO until the started line is
  // written: that line comes first in the log.
  m.output?.pause();
  try {
    return await spawnPaused(m, first, awaited, nonce);
  } finally {
    m.output?.resume();
  }
}

const warnedGroups = new WeakSet<Machine>();

async function spawnPaused(
  m: Machine,
  first: boolean,
  awaited: boolean,
  nonce: string,
): Promise<ProcessTree | undefined> {
  const { cfg } = m;
  const piped = m.log !== undefined;
  const notify = m.notify!;
  let tree: ProcessTree;
  try {
    const prep = await notify.prepareSpawn();
    // The `--user`'s ids (userIds); the missing setpriv(1) said once.
    const ids: SpawnTreeOptions = userIds(cfg.user, (text) => {
      if (!warnedGroups.has(m)) void m.log?.line(text);
      warnedGroups.add(m);
    });
    const as = spawnIdentity(cfg, m.output, prep.wrap(cfg.command), ids);
    tree = await spawnTree(as.command, {
      nonce,
      cwd: cfg.cwd,
      // The run directory beside the marker: the tree is found without any file (marked_trees.ts).
      env: { ...serviceEnv(cfg, prep.env), [RUN_DIR_VAR]: cfg.dir },
      clearEnv: cfg.inheritedEnv !== undefined,
      ...as.ids,
      stdin: "null",
      // Through the output FIFO when there is one (the shim opens it);
      // else a pipe to the log, or our own stdout and stderr (`run`).
      stdout: m.output ? "null" : piped ? "piped" : "inherit",
      stderr: m.output ? "null" : piped ? "piped" : "inherit",
      tracking: cfg.options.tracking,
      limits: cfg.options.limits,
      nice: cfg.options.nice,
      oomScoreAdjust: cfg.options.oomScoreAdjust,
      name: cfg.name,
      adoptOrphans: m.host.reaper.reaper !== undefined,
    });
  } catch (err) {
    const msg = `cannot start ${cfg.name}: ${messageLine(err)}`;
    const recorded = { success: false, code: 127, signal: null };
    if (first) {
      await m.failStart(msg, { reason: "failed", logLine: msg, recorded });
    } else {
      await m.closeInstance({ logLine: msg, recorded });
    }
    return undefined;
  }
  if (!await holdPidFile(m)) {
    // Another supervisor took the name while this tree was spawned: it
    // may have started one of its own; this one goes.
    await tree.stop({ retry: "KILL/2" }).catch(() => {});
    return notSpawned(m, first);
  }
  m.tree = tree;
  notify.attach(tree);
  armWhenReady(m, tree, awaited);
  // Queued before any output is pumped (the pipes) or handed over (the FIFO, paused).
  const started = m.log?.line(startedLine(cfg.name, tree.pid, cfg.command));
  m.output?.resume();
  if (tree.stdout && m.log) m.pumps.push(pump(tree.stdout, m.log));
  if (tree.stderr && m.log) m.pumps.push(pump(tree.stderr, m.log));
  await m.lock!.update({ pid: tree.pid });
  m.pidCleared = false;
  await started;
  const change = {
    tree: tree.ref,
    spawning: undefined,
    serviceStartedAt: new Date().toISOString(),
    mainPid: undefined,
    mainStartTime: undefined,
    mainUnknown: undefined,
    nextRestart: undefined,
  };
  if (first && awaited && readyWhenSpawned(m)) {
    // `start` waits for a readiness that holds at once: written with it
    // (simple_start.ts), one record write on its path instead of two.
    m.deferredSpawn = { details: { pid: tree.pid }, change };
    return tree;
  }
  // A restart with readiness conditions is "starting" until they hold (ready_watch.ts);
  // a forking one until its leader exited and its conditions held (forking_start.ts).
  const readyAtOnce = !first && !cfg.options.forking && !hasReadyConditions(m);
  await m.enter(readyAtOnce ? ["spawn", "ready"] : "spawn", { pid: tree.pid }, change);
  return tree;
}

/**
 * Whether a simple service is ready as soon as it is spawned:
 * `--ready-after 0` and no other condition (port, file, READY=1,
 * notification fd).
 */
function readyWhenSpawned(m: Machine): boolean {
  const o = m.cfg.options;
  return !o.forking && o.readyAfterMs === 0 && o.readyTcp === undefined &&
    o.readyFile === undefined && m.notify!.conditions().length === 0;
}
