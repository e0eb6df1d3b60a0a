/**
 * The entry of a background resident supervisor (`pidkit __supervise DIR`,
 * hidden from `--help`): disarm SIGUSR1 first, supervise the run directory,
 * answer the command that started it with one line on stdout.
 *
 * @module
 */

import { disarmSigusr1 } from "../os/sigusr1.ts";
import { closeInheritedOnExec } from "../os/cloexec.ts";
import { type LaunchAnswer, SUPERVISOR_V8_FLAGS } from "./supervisor_protocol.ts";

/** Run a background resident supervisor for the directory in `args[0]`; its exit status. */
export async function superviseCommand(args: string[]): Promise<number> {
  disarmSigusr1();
  closeInheritedOnExec(); // nothing of the starting command's caller leaks into a service
  // Ours (see _launch_supervisor.ts), not the services'.
  if (Deno.env.get("DENO_V8_FLAGS") === SUPERVISOR_V8_FLAGS) Deno.env.delete("DENO_V8_FLAGS");
  // Loaded only now, so SIGUSR1 is disarmed as early as possible.
  const { superviseDir } = await import("./dir_supervisor.ts");
  return await superviseDir({
    dir: args[0],
    foreground: false,
    onReady(answer: LaunchAnswer) {
      const bytes = new TextEncoder().encode(JSON.stringify(answer) + "\n");
      let off = 0;
      try {
        while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
        // Nothing is written after this: the command exits and the pipes close.
        Deno.stdout.close();
      } catch { /* the command went away first */ }
    },
  });
}
