/**
 * Stops that reach a service some other way than its healthy record,
 * beside 20 services under one supervisor: `stop --pidfile` of a service
 * started with `--pidfile` elsewhere, `stop NAME` with a garbage or
 * unreadable record, an unlocked `NAME.pid` that names the supervisor, and
 * `start NAME & stop NAME` racing for a new name. The supervisor is never
 * signalled and the 20 services keep their very processes (0.2 sent the
 * supervisor SIGTERM, stopping them all). In both tiers as root and as
 * uid 65534.
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { residentOf, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { type Runner, runners } from "./as_user.ts";

const BYSTANDERS = 20;

export const foreignStop: Scenario = {
  name: "foreign-stop",
  shows: "stops through custom PID files, garbage or unreadable records, an unlocked NAME.pid " +
    "naming the supervisor and start/stop races beside 20 services: the supervisor is never " +
    "signalled, the 20 keep running.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 3, 1);
    await using base = tempDir("pidkit-torture-");
    const all = runners(base.path, options.quick, (s) => tally.note(s));
    // Quick: the stop paths do not depend on the tier; the last runner (uid 65534 where it applies).
    const who = options.quick ? all.slice(-1) : all;
    for (const r of who) {
      const prefix = uniquePrefix("fs");
      await using reaper = new ServiceReaper(r.dir, prefix, tally);
      try {
        await oneRunner(r, prefix, n, tally, reaper);
      } catch (err) {
        tally.violation(`${r.label}: ${(err as Error).message}`);
      }
    }
    return tally.result();
  },
};

async function oneRunner(
  r: Runner,
  prefix: string,
  n: number,
  tally: Tally,
  reaper: ServiceReaper,
): Promise<void> {
  const start = async (name: string, extra: string[] = []) => {
    const out = await r.cli(["start", name, ...r.startOptions, ...extra, "--", "sleep", "600"]);
    reaper.record();
    if (out.code !== 0) throw new Error(`start ${name}: ${out.stderr.trim()}`);
  };
  const bystanders: { pid: number; start: number }[] = [];
  for (let i = 0; i < BYSTANDERS; i++) {
    const name = `${prefix}-keep${i}`;
    await start(name);
    const pid = Number(JSON.parse((await r.cli(["status", name, "--json"])).stdout).pid);
    bystanders.push({ pid, start: startTimeOf(pid)! });
  }
  const resident = residentOf(r.dir);
  if (resident === undefined) throw new Error("no resident supervisor after 20 starts");
  const check = (what: string) => {
    if (startTimeOf(resident[0]) !== resident[1]) {
      throw new Error(`the supervisor (pid ${resident[0]}) was hit by ${what}`);
    }
    const hit = bystanders.filter((b) => startTimeOf(b.pid) !== b.start).length;
    if (hit > 0) throw new Error(`${hit} of the 20 services were hit by ${what}`);
  };
  const stop = async (args: string[], what: string, named = true) => {
    tally.faults++;
    const out = await r.cli(args, { named, timeoutMs: 30_000 });
    check(`${what} (exit ${out.code}: ${out.stderr.trim()})`);
    return out;
  };
  for (let round = 0; round < n; round++) {
    tally.rounds++;
    const tag = `${prefix}-${round}`;
    // A custom PID file outside the run directory.
    const custom = `${r.dir.slice(0, r.dir.lastIndexOf("/"))}/${tag}-custom.pid`;
    await start(`${tag}-p`, ["--pidfile", custom]);
    const wait = await r.cli(["wait", "--pidfile", custom, "--timeout", "200ms"], { named: false });
    if (wait.code !== 1) {
      tally.violation(`${r.label}: wait --pidfile of a running service: ${wait.code}`);
    }
    const byFile = await stop(["stop", "--pidfile", custom], "stop --pidfile", false);
    if (byFile.code !== 0) {
      tally.violation(`${r.label}: stop --pidfile failed: ${byFile.stderr.trim()}`);
    }
    // Garbage and unreadable records.
    for (const spoil of ["garbage", "unreadable"]) {
      const name = `${tag}-${spoil}`;
      await start(name);
      const json = `${r.dir}/${name}.json`;
      // Unreadable: mode 000 to its owner; root reads any file, but not a directory.
      await r.sh(
        spoil === "garbage"
          ? `echo '{ not json' > '${json}'`
          : r.uid !== 0
          ? `chmod 000 '${json}'`
          : `rm -f '${json}' && mkdir '${json}'`,
      );
      const out = await stop(["stop", name], `stop with a ${spoil} record`);
      if (out.code !== 0 && !/nothing signalled/.test(out.stderr)) {
        tally.violation(`${r.label}: stop with a ${spoil} record: ${out.stderr.trim()}`);
      }
      await r.sh(`rm -rf '${json}'`);
      await r.cli(["stop", name]);
    }
    // An unlocked NAME.pid naming the supervisor: refused.
    const fake = `${tag}-fake`;
    await r.sh(`echo ${resident[0]} > '${r.dir}/${fake}.pid'`);
    const refused = await stop(["stop", fake], "stop of a NAME.pid naming the supervisor");
    if (refused.code === 0) {
      tally.violation(`${r.label}: stop of a PID file naming the supervisor succeeded`);
    }
    await stop(["stop", "--pidfile", `${r.dir}/${fake}.pid`], "stop --pidfile naming it", false);
    await r.sh(`rm -f '${r.dir}/${fake}.pid'`);
    // start & stop of a new name, racing.
    for (let i = 0; i < 3; i++) {
      const name = `${tag}-race${i}`;
      tally.faults++;
      await Promise.all([
        r.cli(["start", name, ...r.startOptions, "--", "sleep", "600"]),
        r.cli(["stop", name]),
      ]);
      reaper.record();
      check(`start & stop of ${name}`);
      await r.cli(["stop", name]);
    }
  }
  for (let i = 0; i < BYSTANDERS; i++) await r.cli(["stop", `${prefix}-keep${i}`]);
}
