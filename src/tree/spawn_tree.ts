/**
 * Starting a process tree: {@linkcode spawnTree} runs a command as the
 * leader of a new session and process group, marked and (where it can be)
 * in its own cgroup, and hands back its {@linkcode ProcessTree}.
 *
 * Everything here reads `/proc`: Linux only, and Deno needs `-A`.
 *
 * @module
 */

import { inNewSession } from "./new_session.ts";
import { findCgroup2, placeInCgroup } from "./cgroup.ts";
import { messageLine, TreeError, UsageError } from "../os/errors.ts";
import {
  cgroupLeaf,
  formatMarker,
  isValidName,
  isValidNonce,
  makeNonce,
  MARKER_VAR,
  NAME_RULE,
  nameFromProgram,
} from "./marker.ts";
import { type ProcessTree, type Tracking, treeOfSpawned, type TreeRef } from "./process_tree.ts";
import { checkProgram, findSetpriv } from "./find_program.ts";
import { spawnGated } from "./spawn_gated.ts";
import { requireProc } from "./_trackers.ts";
import { ownChild } from "../os/orphan_reaper.ts";
import { CLOCK_TICKS_PER_SECOND, readProcStat, readUptimeSeconds } from "../os/proc.ts";
import { applyResources, hasResources, type ProcessResources } from "../os/resource_limits.ts";

/**
 * Options for {@linkcode spawnTree}.
 *
 * @example
 * ```ts
 * import { spawnTree, type SpawnTreeOptions } from "@pidkit/pidkit/tree";
 * const options: SpawnTreeOptions = {
 *   name: "web",
 *   cwd: "/tmp",
 *   env: { PORT: "8080" },
 *   stdin: "null",
 *   stdout: "piped",
 *   tracking: "auto",
 * };
 * await using tree = await spawnTree(["sh", "-c", "echo listening on $PORT"], options);
 * console.log(await new Response(tree.stdout).text()); // "listening on 8080\n"
 * ```
 */
export interface SpawnTreeOptions extends ProcessResources {
  /** Working directory of the command. */
  cwd?: string;
  /** Extra environment variables (the marker `PIDKIT_SERVICE` is always added). */
  env?: Record<string, string>;
  /** Start from an empty environment (plus `env` and the marker). */
  clearEnv?: boolean;
  /** Run as this user id. */
  uid?: number;
  /** Run as this group id. */
  gid?: number;
  /**
   * Supplementary groups, with `uid` (as root). Deno cannot set them, so a
   * non-empty list starts the command through `setpriv(1)` (util-linux,
   * looked up in /usr/bin, /bin, /usr/sbin, /sbin only) and throws an
   * `"unsupported"` {@linkcode TreeError} when there is none. Without it a command started
   * with `uid` has no supplementary groups at all.
   */
  groups?: number[];
  /** Standard input: `"inherit"` (default), `"null"` or `"piped"` ({@linkcode ProcessTree.stdin}). */
  stdin?: "inherit" | "null" | "piped";
  /** Standard output: `"inherit"` (default), `"null"` or `"piped"`. */
  stdout?: "inherit" | "null" | "piped";
  /** Standard error: `"inherit"` (default), `"null"` or `"piped"`. */
  stderr?: "inherit" | "null" | "piped";
  /**
   * `"auto"` (default): a cgroup when a writable cgroup2 hierarchy works
   * here, else `"group"`. `"cgroup"`: a cgroup or a `"no-cgroup"`
   * {@linkcode TreeError}.
   * `"group"`: process group + session + marker.
   */
  tracking?: "auto" | Tracking;
  /**
   * The nonce of the marker (`NAME:NONCE`), 8 to 32 lowercase hex digits;
   * default: a random one. A supervisor picks it and records the marker
   * before it spawns, so a tree started just before the supervisor died is
   * still found by its marker.
   */
  nonce?: string;
  /** Name used in the marker and the cgroup name (1 to 64 of `A-Z a-z 0-9 . _ -`, not `.` or `..`); default: the program's base name. */
  name?: string;
  /**
   * This process is a child subreaper for the tree (see `becomeSubreaper`
   * in `orphan_reaper.ts`) and spawns nothing else: the orphans the kernel
   * reparents to it are members (group tracking), so a descendant that
   * clears its environment and leaves the session is still found.
   */
  adoptOrphans?: boolean;
}

/** The tree name: given (validated) or derived from the program. */
function treeName(given: string | undefined, program: string): string {
  if (given !== undefined) {
    if (!isValidName(given)) {
      throw new UsageError(`name must be ${NAME_RULE}, got '${given}'`);
    }
    return given;
  }
  return nameFromProgram(program);
}

/**
 * Start `command` (`[program, ...args]`) as the leader of a new process
 * tree: its own session and process group, the marker
 * `PIDKIT_SERVICE=<name>:<nonce>` in its environment, and (tracking
 * `"auto"` or `"cgroup"`) its own cgroup, entered before the command runs:
 * the leader waits at a start gate until it has been moved. A program that
 * cannot be found or run, or a `cwd` that is not a directory, is a
 * `"spawn-failed"` {@linkcode TreeError} here, not a tree that dies silently; no `/proc` is `"unsupported"`; a bad
 * argument (an empty command, a bad `name`, `nonce`, `tracking` or
 * `groups`) is a {@linkcode UsageError} naming it.
 *
 * @example
 * ```ts
 * import { spawnTree } from "@pidkit/pidkit/tree";
 *
 * const tree = await spawnTree(["sleep", "30"], { name: "nap", stdin: "null" });
 * console.log(tree.pid, tree.tracking, tree.ref.marker); // 1234 "cgroup" "nap:1f2e3d4c5b6a"
 * await tree.stop();
 * ```
 */
export async function spawnTree(
  command: string[],
  options: SpawnTreeOptions = {},
): Promise<ProcessTree> {
  if (!Array.isArray(command) || command.length === 0 || typeof command[0] !== "string") {
    throw new UsageError(
      `command must be a non-empty list [program, ...args], got ${JSON.stringify(command)}`,
    );
  }
  requireProc("spawnTree");
  const want = options.tracking ?? "auto";
  if (!["auto", "cgroup", "group"].includes(want)) {
    throw new UsageError(
      `tracking must be "auto", "cgroup" or "group", got ${JSON.stringify(want)}`,
    );
  }
  const name = treeName(options.name, command[0]);
  if (options.nonce !== undefined && !isValidNonce(options.nonce)) {
    throw new UsageError(`nonce must be 8 to 32 lowercase hex digits, got '${options.nonce}'`);
  }
  const marker = formatMarker(name, options.nonce ?? makeNonce());
  const env = { ...options.env, [MARKER_VAR]: marker };
  const cmdOptions: Deno.CommandOptions = {
    cwd: options.cwd,
    env,
    clearEnv: options.clearEnv,
    uid: options.uid,
    gid: options.gid,
    stdin: options.stdin ?? "inherit",
    stdout: options.stdout ?? "inherit",
    stderr: options.stderr ?? "inherit",
    detached: true,
  };
  if (options.cwd !== undefined) checkCwd(command[0], options.cwd);
  const path = options.env?.PATH ?? (options.clearEnv ? undefined : Deno.env.get("PATH"));
  checkProgram(command[0], { path, cwd: options.cwd });
  let argv = command;
  if (options.groups !== undefined && options.groups.length > 0) {
    argv = withGroups(command, options);
    delete cmdOptions.uid; // setpriv switches, after setting the groups
    delete cmdOptions.gid;
  }

  let child: Deno.ChildProcess;
  let cgroupPath: string | undefined;
  let startTime: number | undefined;
  const inCgroup = want !== "group" && (want === "cgroup" || findCgroup2() !== undefined);
  if (inCgroup || hasResources(options)) {
    // Limits, nice and OOM score are set while the leader waits at the
    // gate: the command runs under them from its first instruction.
    child = await spawnGated(argv, cmdOptions, (pid) => {
      startTime = readProcStat(pid)?.startTime;
      applyResources(pid, options);
      if (!inCgroup) return;
      try {
        cgroupPath = placeInCgroup(pid, cgroupLeaf(marker));
      } catch (err) {
        if (want === "cgroup") throw err;
      }
    });
  } else {
    try {
      const leader = inNewSession(argv[0], argv.slice(1), cmdOptions);
      child = new Deno.Command(leader.program, { ...leader.options, args: leader.args }).spawn();
      ownChild(child); // Deno reaps it: an orphan reaper must not
    } catch (err) {
      throw new TreeError("spawn-failed", `cannot start ${command[0]}: ${messageLine(err)}`, {
        cause: err,
      });
    }
    startTime = readProcStat(child.pid)?.startTime;
  }
  const ref: TreeRef = {
    pid: child.pid,
    // Unknown only when the leader already exited and was reaped: then a
    // start time a little in the past keeps its descendants' (later) ones in.
    startTime: startTime ??
      Math.max(0, Math.floor((readUptimeSeconds() - 1) * CLOCK_TICKS_PER_SECOND)),
    pgid: child.pid,
    sid: child.pid,
    marker,
    tracking: cgroupPath !== undefined ? "cgroup" : "group",
  };
  if (cgroupPath !== undefined) ref.cgroupPath = cgroupPath;
  return treeOfSpawned(ref, child, options.adoptOrphans === true);
}

/**
 * The working directory must be a directory: else the spawn fails with a
 * raw error naming whatever program starts the leader (setsid), not `cwd`.
 */
function checkCwd(program: string, cwd: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(cwd);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "does not exist" : messageLine(err);
    throw new TreeError("spawn-failed", `cannot start ${program}: working directory ${cwd} ${why}`);
  }
  if (!info.isDirectory) {
    throw new TreeError(
      "spawn-failed",
      `cannot start ${program}: working directory ${cwd} is not a directory`,
    );
  }
}

/** `command` behind `setpriv`, which sets the groups, then gid and uid, then execs it. */
function withGroups(command: string[], options: SpawnTreeOptions): string[] {
  const { uid, gid, groups = [] } = options;
  if (uid === undefined || gid === undefined) {
    throw new UsageError(`groups need uid and gid, got uid ${uid} and gid ${gid}`);
  }
  if (!groups.every((g) => Number.isInteger(g) && g >= 0)) {
    throw new UsageError(`groups must be integers >= 0, got ${JSON.stringify(groups)}`);
  }
  const setpriv = findSetpriv();
  if (setpriv === undefined) {
    throw new TreeError(
      "unsupported",
      "supplementary groups need setpriv(1) from util-linux, not found in /usr/bin, /bin, /usr/sbin or /sbin",
    );
  }
  return [
    setpriv,
    `--reuid=${uid}`,
    `--regid=${gid}`,
    `--groups=${groups.join(",")}`,
    "--",
    ...command,
  ];
}
