/**
 * Where a background service's output goes: through its output FIFO
 * (`DIR/NAME.out`, output_fifo.ts), so the service outlives a supervisor that
 * is SIGKILLed or OOM-killed even when it writes, and a later supervisor can
 * read on from it. A pipe (the service dies with its supervisor on its next
 * write) only where the FIFO cannot be had: no FFI, or a `--user` that
 * cannot reach the run directory to open it.
 *
 * @module
 */

import type { FdPoller } from "../os/fd_poller.ts";
import { OutputFifo, type OutputHandler } from "./output_fifo.ts";
import type { SupervisorConfig } from "./supervisor_protocol.ts";
import { servicePaths } from "./run_dir.ts";

/**
 * The output FIFO of service `cfg.name`, read by the supervisor's `poller`
 * and handed to `onOutput`; `undefined` where only a pipe will do (no
 * poller: no FFI). Throws when something else is at the FIFO's path (it is
 * left alone).
 */
export async function openServiceOutput(
  cfg: Pick<SupervisorConfig, "dir" | "name" | "user">,
  poller: FdPoller | undefined,
  onOutput: OutputHandler,
): Promise<OutputFifo | undefined> {
  if (poller === undefined || (cfg.user && !canReach(cfg.dir, cfg.user))) return undefined;
  return await OutputFifo.open(servicePaths(cfg.dir, cfg.name).output, {
    poller,
    onOutput,
    ...(cfg.user ? { uid: cfg.user.uid, gid: cfg.user.gid } : {}),
  });
}

/** Whether `user` may search `dir` (by its mode bits; supplementary groups not counted). */
function canReach(dir: string, user: { uid: number; gid: number }): boolean {
  if (user.uid === 0) return true;
  const st = Deno.statSync(dir);
  const mode = st.mode ?? 0;
  if (st.uid === user.uid) return (mode & 0o100) !== 0;
  if (st.gid === user.gid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}
