/**
 * `pidkit signal NAME SIGNAL [--main]`: send SIGNAL to every member of the
 * service's tree (or its main process alone) directly, not through the
 * supervisor, so SIGUSR1 and SIGHUP reach the service itself.
 *
 * @module
 */

import { signalService } from "../service/actions/signal_service.ts";
import { printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";

/** Run `pidkit signal`. */
export async function run(input: CommandInput): Promise<number> {
  const [name, signal] = input.positionals;
  const dir = typeof input.values.dir === "string" ? input.values.dir : undefined;
  const main = input.values.main === true;
  const sent = await signalService(name, signal, { dir, main });
  if (input.values.json === true) {
    printOut(JSON.stringify(sent));
  } else if (main) {
    printOut(`sent ${sent.signal} to ${name}'s main process (pid ${sent.pid})`);
  } else {
    const n = sent.processes;
    printOut(
      `sent ${sent.signal} to ${name} (${
        sent.pid === null ? "main process unknown" : `pid ${sent.pid}`
      }, ${n} process${n === 1 ? "" : "es"})`,
    );
  }
  return 0;
}
