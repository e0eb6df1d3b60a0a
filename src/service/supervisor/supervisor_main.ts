/**
 * The one entry of a resident supervisor process, however it was started:
 * in the background by a command that found none (`pidkit __supervise DIR`,
 * hidden from `--help`), or in the foreground (`pidkit supervise`). Both
 * disarm SIGUSR1 first, close every descriptor they inherited, drop the
 * V8 flags meant for them, then supervise the run directory.
 *
 * @module
 */

import { disarmSigusr1 } from "../../os/sigusr1.ts";
import { closeInherited } from "../../os/close_inherited.ts";
import {
  EARLIER_SUPERVISOR_V8_FLAGS,
  type LaunchAnswer,
  SUPERVISOR_V8_FLAGS,
} from "../control/supervisor_protocol.ts";

/** How a supervisor process runs; see {@linkcode runSupervisorProcess}. */
export interface SupervisorProcessOptions {
  /** The run directory (absolute), or how to find it (called once SIGUSR1 is disarmed). */
  dir: string | (() => string);
  /** `pidkit supervise`: stay when idle; messages to stderr as well. */
  foreground: boolean;
  /** Called once: listening, or why not. */
  onReady?: (answer: LaunchAnswer) => void;
  /** Serve the read-only HTTP server here (`supervise --http`). */
  http?: { hostname: string; port: number };
}

/**
 * Run this process as the resident supervisor of a run directory; its exit
 * status. Call it first thing in the process.
 *
 * @example
 * ```ts
 * import { runSupervisorProcess } from "./supervisor_main.ts";
 * Deno.exit(await runSupervisorProcess({ dir: "/tmp/pidkit-example", foreground: true }));
 * ```
 */
export async function runSupervisorProcess(options: SupervisorProcessOptions): Promise<number> {
  disarmSigusr1(); // a Deno process would open the inspector on SIGUSR1
  // Nothing of the caller stays open in the supervisor (a pipeline's write
  // end would wait for it) or leaks into a service: those get 0, 1 and 2.
  closeInherited();
  // The flags _launch_supervisor.ts (or a unit: examples/systemd/pidkit.service)
  // sets for the supervisor, not its services'.
  const v8Flags = Deno.env.get("DENO_V8_FLAGS");
  if (v8Flags === SUPERVISOR_V8_FLAGS || v8Flags === EARLIER_SUPERVISOR_V8_FLAGS) {
    Deno.env.delete("DENO_V8_FLAGS");
  }
  const dir = typeof options.dir === "string" ? options.dir : options.dir();
  // Loaded only now, so SIGUSR1 is disarmed as early as possible.
  const { superviseDir } = await import("./dir_supervisor.ts");
  return await superviseDir({
    dir,
    foreground: options.foreground,
    ...(options.onReady ? { onReady: options.onReady } : {}),
    ...(options.http ? { http: options.http } : {}),
  });
}

/**
 * `pidkit __supervise DIR`: a background resident supervisor for `args[0]`,
 * which answers the command that started it with one line on stdout.
 *
 * @example
 * ```ts
 * import { superviseCommand } from "./supervisor_main.ts";
 * Deno.exit(await superviseCommand(["/tmp/pidkit-example"]));
 * ```
 */
export async function superviseCommand(args: string[]): Promise<number> {
  return await runSupervisorProcess({
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
