/**
 * `pidkit signal NAME SIGNAL`: send SIGNAL to every member of the service's
 * tree directly (not through the supervisor, so SIGUSR1 and SIGHUP reach
 * the service itself).
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { requireOwnProc } from "../os/pid_namespace.ts";
import { parseSignal } from "../os/signals.ts";
import { inspectService, isRunningPhase } from "../service/inspect_service.ts";
import { resolveRunDir, validateName } from "../service/run_dir.ts";
import { attachTree } from "../tree/process_tree.ts";
import { printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit signal`. */
export async function run(input: CommandInput): Promise<number> {
  const [nameArg, sigArg] = input.positionals;
  const sig = parseSignal(sigArg);
  const name = validateName(nameArg);
  requireOwnProc(); // the tree's PIDs come from /proc
  const dir = resolveRunDir({
    dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
  });
  const info = await inspectService(dir, name);
  const ref = info.record?.tree;
  if (!isRunningPhase(info.phase) || ref === undefined) {
    throw new PidkitError(`${name} is not running`);
  }
  let count: number;
  try {
    count = attachTree(ref).signal(sig);
  } catch {
    throw new PidkitError(`${name} is not running`);
  }
  if (count === 0) throw new PidkitError(`${name} is not running`);
  if (input.values.json === true) {
    printOut(JSON.stringify({ name, signal: sig, pid: ref.pid, processes: count }));
  } else {
    printOut(`sent ${sig} to ${name} (pid ${ref.pid}, ${count} process${count === 1 ? "" : "es"})`);
  }
  return 0;
}
