/**
 * The entry of a background supervisor (`pidkit __supervise NAME`, hidden
 * from `--help`): disarm SIGUSR1 first, read the configuration line from
 * stdin, supervise, answer `start` with one line on stdout.
 *
 * @module
 */

import { disarmSigusr1 } from "../os/sigusr1.ts";
import { closeInheritedOnExec } from "../os/cloexec.ts";
import type { StartResult, SupervisorConfig } from "./supervisor_protocol.ts";

/** Run a background supervisor; returns its exit status. */
export async function superviseCommand(_args: string[]): Promise<number> {
  disarmSigusr1();
  closeInheritedOnExec(); // nothing of `pidkit start`'s caller leaks into the service
  // Loaded only now, so SIGUSR1 is disarmed as early as possible.
  const { supervise } = await import("./supervisor.ts");
  const config = JSON.parse(await new Response(Deno.stdin.readable).text()) as SupervisorConfig;
  return await supervise(config, {
    foreground: false,
    onStarted(result: StartResult) {
      const bytes = new TextEncoder().encode(JSON.stringify(result) + "\n");
      let off = 0;
      try {
        while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
        // Nothing is written after this: `start` exits and the pipes close.
        Deno.stdout.close();
      } catch { /* start went away first */ }
    },
  });
}
