/**
 * Sabotage: a third party deletes or replaces a held PID file. No lock
 * protocol can prevent it; the holder must notice within a second
 * (PidFile.watch), must not delete the replacement when it releases, and
 * the replacement's owner must keep it.
 *
 * @module
 */

import { tempDir } from "../helpers.ts";
import { PidFile } from "../../mod.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { exists, sleep } from "./util.ts";

const KINDS = ["delete", "replace with a file", "replace with a symlink", "rename away"] as const;

export const sabotageLib: Scenario = {
  name: "sabotage-pidfile",
  shows:
    "a held PID file deleted, replaced by a file or a symlink, or renamed away: PidFile.watch " +
    "reports it within a second and release never removes what a third party put there.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 40, 4);
    await using dir = tempDir("pidkit-torture-");
    const latencies: number[] = [];
    await Promise.all(KINDS.map(async (kind, k) => {
      for (let i = 0; i < n; i++) {
        tally.rounds++;
        tally.faults++;
        const path = dir.join(`sab-${k}-${i}.pid`);
        const pid = await PidFile.acquire(path, { removeOnExit: false });
        let noticed: number | undefined;
        let t0 = 0;
        using _w = pid.watch(() => noticed ??= performance.now() - t0, { intervalMs: 100 });
        await sleep(Math.random() * 100);
        t0 = performance.now();
        if (kind === "delete") Deno.removeSync(path);
        else if (kind === "replace with a file") {
          Deno.writeTextFileSync(`${path}.new`, "1\n");
          Deno.renameSync(`${path}.new`, path);
        } else if (kind === "replace with a symlink") {
          Deno.symlinkSync("/dev/null", `${path}.new`);
          Deno.renameSync(`${path}.new`, path);
        } else Deno.renameSync(path, `${path}.moved`);
        while (noticed === undefined && performance.now() - t0 < 1500) await sleep(20);
        if (noticed === undefined || noticed > 1000) {
          tally.violation(`${kind}: not noticed within 1 s (${noticed?.toFixed(0) ?? "never"})`);
        } else latencies.push(noticed);
        await pid.release();
        if (kind.startsWith("replace") && !exists(path)) {
          tally.violation(`${kind}: release removed the third party's file`);
        }
      }
    }));
    latencies.sort((a, b) => a - b);
    if (latencies.length) {
      tally.note(
        `noticed after median ${latencies[latencies.length >> 1].toFixed(0)} ms, ` +
          `max ${latencies[latencies.length - 1].toFixed(0)} ms (watch interval 100 ms)`,
      );
    }
    return tally.result();
  },
};
