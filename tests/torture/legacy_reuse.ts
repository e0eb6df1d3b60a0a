/**
 * PID files nobody locks, the way daemons leave them: files naming PIDs
 * the kernel has given to unrelated processes since (written before they
 * started), files rewritten or touched while their daemon lives, files from
 * before this boot, JSON records whose start time is another process's,
 * files touched after a reuse but checked with --exec, and the race where
 * the verified daemon dies and its PID is reused between the check and the
 * signal (root only). What the verification ladder and the pidfd must
 * give: a reused PID is never "running" and never signalled, a live
 * daemon's touched file is never "stale", and the unrelated processes are
 * all alive at the end (harmed: 0).
 *
 * @module
 */

import { verifyPidFile } from "../../mod.ts";
import { stopRoots } from "../../src/tree/process_family.ts";
import { signalProcess } from "../../src/os/pidfd.ts";
import { readProcStat } from "../../src/os/proc.ts";
import { bootTimeMs } from "../../src/lock/unlocked_pid_file.ts";
import { alive, Reaper, tempDir } from "../_util/helpers.ts";
import { canReuse, raceRound } from "../_util/legacy_helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { pick, randInt } from "./util.ts";

const SH = Deno.realPathSync("/bin/sh");

export const legacyReuse: Scenario = {
  name: "legacy-reuse",
  shows:
    "unlocked PID files naming reused PIDs, touched and rewritten files, files from an earlier " +
    "boot, verification-vs-signal races: a reused PID is never running nor signalled, a live " +
    "daemon's file never stale (unrelated processes harmed: 0).",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 1200, 60);
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    const victims: number[] = [];
    for (let i = 0; i < 30; i++) victims.push(reaper.spawn(["sleep", "600"]).pid);
    await new Promise((r) => setTimeout(r, 30));
    const boot = bootTimeMs().ms;
    const startMs = (pid: number) => boot + readProcStat(pid)!.startTime * 10;
    let races = 0;
    let stops = 0;
    for (let i = 0; i < n; i++) {
      tally.rounds++;
      const path = dir.join(`r${i % 50}.pid`);
      const victim = pick(victims.filter(alive));
      if (victim === undefined) {
        tally.violation("every unrelated process was harmed");
        break;
      }
      const kind = i % 6;
      if (kind === 0) {
        // Written before the victim started (30 ms to a day, after this boot; 25 ms is the ladder's tolerance), then the PID reused.
        tally.faults++;
        // (after this boot: the boot rule alone must not be what catches it)
        const start = startMs(victim);
        const before = start - randInt(30, Math.max(31, Math.min(86_400_000, start - boot - 2000)));
        write(path, `${victim}\n`, before);
        await expectStaleAndStop(tally, path, `reused pid ${victim}`);
      } else if (kind === 1) {
        // From before this boot.
        tally.faults++;
        write(path, `${victim}\n`, boot - randInt(1000, 10_000_000));
        await expectStaleAndStop(tally, path, `pre-boot file naming ${victim}`);
      } else if (kind === 2) {
        // A JSON record whose start time is not the victim's.
        tally.faults++;
        const st = readProcStat(victim)!.startTime;
        write(path, JSON.stringify({ pid: victim, startTime: st + randInt(1, 1000) }), Date.now());
        await expectStaleAndStop(tally, path, `json record of another start time, pid ${victim}`);
      } else if (kind === 3) {
        // Touched after the reuse (the ladder says running): --exec of the
        // daemon's program still refuses the victim (it runs sleep).
        tally.faults++;
        write(path, `${victim}\n`, Date.now());
        const v = await verifyPidFile(path, { exec: SH });
        if (v.status !== "mismatch") {
          tally.violation(`touched file naming ${victim} with --exec ${SH}: ${v.status}`);
        }
      } else if (kind === 4) {
        // A live daemon whose file is rewritten or touched: running, never stale.
        const daemon = reaper.spawn(["sleep", "600"]);
        await new Promise((r) => setTimeout(r, randInt(0, 3)));
        write(path, `${daemon.pid}\n`, Date.now());
        if (i % 2 === 0) Deno.utimeSync(path, new Date(), new Date(Date.now() + randInt(0, 5000)));
        const v = await verifyPidFile(path);
        if (v.status !== "running") {
          tally.violation(`live daemon ${daemon.pid}, file rewritten/touched: ${v.status}`);
        } else if (i % 12 === 4) {
          stops++;
          const r = await stopRoots([v.target!], "TERM/2/KILL/2");
          if (r.survivors.length > 0) tally.violation(`daemon ${daemon.pid} survived its stop`);
        }
        try {
          daemon.kill("SIGKILL");
        } catch { /* stopped above */ }
        await daemon.status;
      } else if (canReuse && i % 12 === 5) {
        // The verified daemon dies and its PID is reused between check and signal.
        tally.faults++;
        const newcomer = await raceRound(reaper, (t) => {
          const outcome = signalProcess(t, "SIGKILL");
          if (outcome !== "gone") tally.violation(`signal after reuse of ${t.pid}: ${outcome}`);
        });
        if (newcomer === undefined) {
          tally.note("a race round was inconclusive (PID taken by another process)");
        } else {
          races++;
          await new Promise((r) => setTimeout(r, 1));
          if (!alive(newcomer.pid)) {
            tally.violation(`newcomer ${newcomer.pid} with a reused PID was killed`);
          }
          newcomer.kill("SIGKILL");
          await newcomer.status.catch(() => {});
        }
      } else {
        // A dead PID.
        const dead = new Deno.Command("true").spawn();
        await dead.status;
        write(path, `${dead.pid}\n`, Date.now());
        const v = await verifyPidFile(path);
        if (v.status !== "stale") tally.violation(`dead pid ${dead.pid}: ${v.status}`);
      }
    }
    for (const p of victims) if (!alive(p)) tally.violation(`unrelated process ${p} was harmed`);
    tally.note(
      `unrelated processes: ${victims.length}, harmed: ${
        victims.filter((p) => !alive(p)).length
      }; ` +
        `reuse races made: ${races}${
          canReuse ? "" : " (skipped: needs root and pidfd)"
        }; daemons stopped: ${stops}`,
    );
    return tally.result();
  },
};

function write(path: string, text: string, mtimeMs: number): void {
  Deno.writeTextFileSync(path, text);
  Deno.utimeSync(path, new Date(mtimeMs), new Date(mtimeMs));
}

/** The file must be stale; if pidkit thought otherwise, what `stop --pidfile` would do is done (and caught). */
async function expectStaleAndStop(tally: Tally, path: string, what: string): Promise<void> {
  const v = await verifyPidFile(path);
  if (v.status === "stale") return;
  tally.violation(`${what}: ${v.status}`);
  if (v.status === "running" && v.target) await stopRoots([v.target], "TERM/1/KILL/1");
}
