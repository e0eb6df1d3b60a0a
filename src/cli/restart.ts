/**
 * `pidkit restart NAME [--retry S] [--json]`: restart through the service
 * layer (src/service/actions/restart_service.ts) and print like `start`.
 *
 * @module
 */

import { restartService } from "../service/actions/restart_service.ts";
import { ServiceStartError } from "../service/control/service_errors.ts";
import { EXIT, printErr, printOut } from "./io.ts";
import { mainNote, startFailed } from "./start.ts";
import { describe, progressDisplay } from "./stop.ts";
import type { CommandInput } from "./spec.ts";
import { requestTimeoutFrom } from "./launch_options.ts";

/** Run `pidkit restart`. */
export async function run(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  const retry = typeof input.values.retry === "string" ? input.values.retry : undefined;
  let r;
  try {
    r = await restartService(input.positionals[0], {
      dir: typeof input.values.dir === "string" ? input.values.dir : undefined,
      retry,
      timeout: requestTimeoutFrom(input),
      onProgress: progressDisplay(),
      onStopped(stopped) {
        if (!json && stopped.status === "stopped") printErr(describe(stopped));
      },
    });
  } catch (err) {
    if (err instanceof ServiceStartError) return startFailed(err, json);
    throw err;
  }
  const { name, status, pid, supervisorPid, pidfile, state, log } = r;
  printOut(
    json
      ? JSON.stringify({ name, status, pid, supervisorPid, pidfile, state, log })
      : `${status} ${name} (${mainNote(r)})`,
  );
  if (!json) {
    const hint = await declarationHint(name, state);
    if (hint) printErr(hint);
  }
  return EXIT.ok;
}

/**
 * A service `pidkit up` started restarts with what it was started with (its
 * record), as compose's and supervisorctl's `restart` do; when its file
 * declares it differently now, say that `up` applies the file.
 */
async function declarationHint(name: string, state: string): Promise<string | undefined> {
  try {
    const { readServiceRecord } = await import("../service/model/service_record.ts");
    const origin = (await readServiceRecord(state))?.origin;
    if (origin === undefined) return undefined;
    const { loadStack } = await import("../stack/load.ts");
    const { stack } = await loadStack({ file: origin.file });
    const now = stack.services.find((s) => s.name === name);
    if (now?.hash === origin.hash) return undefined;
    return `note: ${origin.file} ${
      now ? "declares it differently now" : "no longer declares it"
    }; restart reuses what it was started with, pidkit up -c ${origin.file} applies the file`;
  } catch {
    return undefined; // the file no longer reads: up says why
  }
}
