/**
 * Where a background service's output goes: through its output FIFO
 * (`DIR/NAME.out`, output_fifo.ts), so the service outlives a supervisor that
 * is SIGKILLed or OOM-killed even when it writes, and a later supervisor can
 * read on from it. A pipe (the service dies with its supervisor on its next
 * write) only where the FIFO cannot be had: no FFI, or a `--user` that
 * cannot reach the run directory when setpriv(1) cannot open it for it.
 *
 * @module
 */

import type { FdPoller } from "../../os/fd_poller.ts";
import { OutputFifo, type OutputHandler } from "../output/output_fifo.ts";
import type { SupervisorConfig } from "../control/supervisor_protocol.ts";
import { canSearch } from "../../os/file_access.ts";
import { servicePaths } from "../model/run_dir.ts";
import { findSetpriv } from "../../tree/find_program.ts";
import type { SpawnTreeOptions } from "../../tree/spawn_tree.ts";

/**
 * The output FIFO of service `cfg.name`, read by the supervisor's `poller`
 * and handed to `onOutput`; `undefined` where only a pipe will do (no
 * poller: no FFI; or a `--user` that cannot search the run directory when
 * setpriv(1) is missing or we are not root). A `--user` that can search it
 * opens the FIFO itself (it is chowned to the user); one that cannot (a
 * 0750 run directory of another group) gets it opened by its start shim
 * while still root, before setpriv drops to the user: see
 * {@linkcode shimDropsPrivileges}. Throws when something else is at the
 * FIFO's path (it is left alone).
 */
export async function openServiceOutput(
  cfg: Pick<SupervisorConfig, "dir" | "name" | "user">,
  poller: FdPoller | undefined,
  onOutput: OutputHandler,
): Promise<OutputFifo | undefined> {
  if (poller === undefined) return undefined;
  const asRoot = shimDropsPrivileges(cfg);
  if (cfg.user && !asRoot && !canSearch(cfg.dir, cfg.user)) return undefined;
  return await OutputFifo.open(servicePaths(cfg.dir, cfg.name).output, {
    poller,
    onOutput,
    ...(cfg.user ? { uid: cfg.user.uid, gid: cfg.user.gid, keepOwner: asRoot } : {}),
  });
}

/**
 * Whether a `--user` service's start shim runs as root and drops to the
 * user with setpriv(1) after opening the output FIFO: when the user cannot
 * search the run directory (mode 0750, another group), we are root and
 * setpriv is there.
 */
export function shimDropsPrivileges(cfg: Pick<SupervisorConfig, "dir" | "user">): boolean {
  return cfg.user !== undefined && !canSearch(cfg.dir, cfg.user) && Deno.uid() === 0 &&
    findSetpriv() !== undefined;
}

/**
 * The command to spawn and the ids to spawn it with: `command` behind the
 * output FIFO's shim when there is one (`output`), as `ids` (the `--user`'s);
 * or, when the shim must open the FIFO as root ({@linkcode shimDropsPrivileges}),
 * as root, the shim dropping to the user through setpriv(1).
 */
export function spawnIdentity(
  cfg: Pick<SupervisorConfig, "dir" | "user">,
  output: OutputFifo | undefined,
  command: string[],
  ids: SpawnTreeOptions,
): { command: string[]; ids: SpawnTreeOptions } {
  if (output === undefined) return { command, ids };
  if (!shimDropsPrivileges(cfg)) return { command: output.wrap(command), ids };
  return { command: output.wrap(asUser(cfg.user!, command)), ids: {} };
}

/**
 * uid, gid and, as root where setpriv(1) exists, the `--user`'s
 * supplementary groups; without setpriv, `warn` says they are dropped.
 */
export function userIds(
  user: SupervisorConfig["user"],
  warn: (text: string) => void,
): SpawnTreeOptions {
  if (user === undefined) return {};
  const { uid, gid, groups = [] } = user;
  if (groups.length === 0 || Deno.uid() !== 0) return { uid, gid };
  if (findSetpriv() !== undefined) return { uid, gid, groups };
  warn(`setpriv(1) not found: ${user.name} runs without its supplementary groups (${groups})`);
  return { uid, gid };
}

/**
 * `command` run as `user` through setpriv(1): real and effective ids, and
 * its supplementary groups (none when it has none).
 */
function asUser(
  user: { uid: number; gid: number; groups?: number[] },
  command: string[],
): string[] {
  const groups = user.groups ?? [];
  return [
    findSetpriv()!,
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    groups.length > 0 ? `--groups=${groups.join(",")}` : "--clear-groups",
    "--",
    ...command,
  ];
}
