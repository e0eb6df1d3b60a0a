// deno-lint-ignore-file no-sync-fn-in-async-fn -- small files between steps of a round; the sampler tolerates the pauses
/**
 * Supervisor SIGKILLs combined with faults that make the records lie
 * (issue 23): a full run directory (a small tmpfs, root only) while
 * services restart, a corrupt record, the run directory emptied or removed
 * under a running supervisor, a kill while a restart is due, and two
 * supervisors killed in a row. Each round runs plain services and
 * crash-looping ones (`--restart always` and `on-failure`) in one run
 * directory, in the cgroup tier or (`--tracking group`, every other round
 * as root) the group tier, injects one fault, and lets the next command
 * bring a supervisor.
 *
 * Checked: never two trees of one name alive at once (sampled every 20 ms
 * from the fault on); a start of a running name never makes a second one;
 * every plain service keeps its very leader; every restart service runs
 * again under the supervisor of the directory within seconds (never a lost
 * restart); after SIGTERM of that supervisor nothing is left.
 *
 * @module
 */

import { startTimeOf } from "../_util/helpers.ts";
import {
  readServiceRecordSync,
  type ServiceRecord,
} from "../../src/service/model/service_record.ts";
import { askSupervisor } from "../../src/service/control/supervisor_client.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import {
  InstanceSampler,
  markerName,
  markers,
  pidkit,
  residentOf,
  ServiceReaper,
  uniquePrefix,
} from "./cli_util.ts";
import { isRoot, randInt, sleep } from "./util.ts";

type Fault = "full-disk" | "corrupt" | "removed-dir" | "due-restart" | "two-in-a-row";
const FAULTS: Fault[] = ["full-disk", "corrupt", "removed-dir", "due-restart", "two-in-a-row"];

const PLAIN = ["sh", "-c", "sleep 600 & wait"];
const CRASHER = ["sh", "-c", "sleep 0.4; exit 1"];
const SLOW_CRASHER = ["sh", "-c", "sleep 1.5; exit 7"];

interface Service {
  name: string;
  kind: "plain" | "always" | "on-failure";
  args: string[];
  leader?: [number, number];
}

export const crashDuringFault: Scenario = {
  name: "crash-during-fault",
  shows: "supervisor SIGKILLs combined with a full run dir while services restart, a corrupt " +
    "record, the run dir removed under its supervisor, a kill while a restart is due, two " +
    "supervisors killed in a row, in both tracking tiers: never two trees of one name, a " +
    "start beside a running one never makes another, plain services keep their leader, " +
    "every restart service runs again (never a lost restart), nothing left after.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 20, FAULTS.length);
    const base = await Deno.makeTempDir({ prefix: "pidkit-torture-cdf-" });
    const prefix = uniquePrefix("cdf");
    const done = new Map<string, number>();
    try {
      for (let i = 0; i < n; i++) {
        const fault = FAULTS[i % FAULTS.length];
        if (fault === "full-disk" && !isRoot()) {
          tally.note("full-disk rounds skipped: they need root (mount)");
          continue;
        }
        // Every other round of a fault in the group tier (as root; else it is the only one).
        const group = !isRoot() || Math.floor(i / FAULTS.length) % 2 === 1 ||
          (options.quick && i % 2 === 1);
        const key = `${fault}${group ? " (group tier)" : ""}`;
        done.set(key, (done.get(key) ?? 0) + 1);
        await oneRound(tally, `${base}/r${i}`, `${prefix}r${i}-`, fault, group);
      }
      tally.note(
        `rounds: ${[...done].map(([k, v]) => `${v} ${k}`).join(", ")}`,
      );
    } finally {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
    return tally.result();
  },
};

function sh(cmd: string[]): boolean {
  return new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" })
    .outputSync().success;
}

function fill(dir: string): string {
  const filler = `${dir}/.filler`;
  using f = Deno.openSync(filler, { write: true, create: true, append: true });
  const chunk = new Uint8Array(4096);
  try {
    for (let i = 0; i < 100_000; i++) f.writeSync(chunk);
  } catch { /* ENOSPC: full */ }
  return filler;
}

function record(dir: string, name: string): ServiceRecord | undefined {
  try {
    return readServiceRecordSync(`${dir}/${name}.json`);
  } catch {
    return undefined;
  }
}

async function oneRound(
  tally: Tally,
  dir: string,
  prefix: string,
  fault: Fault,
  group: boolean,
): Promise<void> {
  tally.rounds++;
  Deno.mkdirSync(dir, { mode: 0o700 });
  const mounted = fault === "full-disk" &&
    sh(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", dir]);
  if (fault === "full-disk" && !mounted) {
    tally.note("mount -t tmpfs failed: a full-disk round skipped");
    return;
  }
  const reaper = new ServiceReaper(dir, prefix, tally);
  const sampler = new InstanceSampler(prefix);
  let sampling: Promise<void> | undefined;
  const tier = group ? ["--tracking", "group"] : [];
  try {
    const services: Service[] = [
      ...[0, 1, 2].map((k) => ({
        name: `${prefix}plain-${k}`,
        kind: "plain" as const,
        args: [...tier, "--", ...PLAIN],
      })),
      ...[0, 1].map((k) => ({
        name: `${prefix}always-${k}`,
        kind: "always" as const,
        args: [
          ...tier,
          "--restart",
          "always",
          "--restart-delay",
          "300ms",
          "--max-restarts",
          "1000",
          "--",
          ...CRASHER,
        ],
      })),
      {
        name: `${prefix}onfail-0`,
        kind: "on-failure",
        args: [...tier, "--restart", "on-failure", "--max-restarts", "1000", "--", ...SLOW_CRASHER],
      },
    ];
    for (const s of services) {
      const o = await pidkit(["start", s.name, "--dir", dir, ...s.args]);
      if (o.code !== 0) tally.violation(`${s.name}: start failed: ${o.stderr.trim()}`);
    }
    reaper.record();
    const first = residentOf(dir);
    if (first === undefined) {
      tally.violation(`${prefix}: no resident supervisor after the starts`);
      return;
    }
    sampling = sampler.run();
    const kill = (who: [number, number]) => {
      reaper.record();
      if (startTimeOf(who[0]) !== who[1]) return false;
      Deno.kill(who[0], "SIGKILL");
      tally.faults++;
      return true;
    };
    const gone = async (who: [number, number]) => {
      while (startTimeOf(who[0]) === who[1]) await sleep(5);
    };
    let filler: string | undefined;
    let expectSame = true; // the first supervisor holds the directory at the end
    switch (fault) {
      case "full-disk": {
        filler = fill(dir);
        tally.faults++;
        // Restarts under the full disk: the records cannot follow.
        await sleep(randInt(900, 1800));
        break;
      }
      case "corrupt": {
        for (const s of [services[0], services[3]]) {
          Deno.writeTextFileSync(`${dir}/${s.name}.json`, "{ not json");
          tally.faults++;
        }
        break;
      }
      case "due-restart": {
        const until = Date.now() + 3000;
        while (record(dir, services[3].name)?.phase !== "restarting" && Date.now() < until) {
          await sleep(5);
        }
        break;
      }
      default:
        await sleep(randInt(0, 400));
    }
    for (const s of services) {
      const t = record(dir, s.name)?.tree;
      if (s.kind === "plain" && t) s.leader = [t.pid, t.startTime];
    }
    if (fault === "removed-dir") {
      // Under its running supervisor: no kill, a start of every name at once.
      reaper.record();
      removeRunDir(dir);
      tally.faults++;
    } else {
      expectSame = false;
      kill(first);
      await gone(first);
    }
    if (filler) Deno.removeSync(filler);
    if (fault === "two-in-a-row") {
      // The next supervisor (a trigger's) is killed in turn, at a random moment of its start-up.
      const trigger = pidkit(["start", `${prefix}trig-0`, "--dir", dir, ...tier, "--", ...PLAIN]);
      const until = Date.now() + 10_000;
      let second: [number, number] | undefined;
      while ((second = residentOf(dir)) === undefined && Date.now() < until) await sleep(2);
      await sleep(randInt(0, 300));
      if (second) {
        kill(second);
        await gone(second);
      }
      await trigger;
    }
    // Starts of every name now: each must find its instance (or, for a
    // restart service between two runs, be the one that runs it).
    const outs = await Promise.all(
      services.map((s) => pidkit(["start", s.name, "--dir", dir, ...s.args])),
    );
    reaper.record();
    outs.forEach((o, k) => {
      const s = services[k];
      if (/\n\s+at |Uncaught/.test(o.stderr)) {
        tally.violation(`${s.name}: start printed a stack trace: ${o.stderr.trim()}`);
      }
      if (s.kind === "plain" && o.code === 0) {
        tally.violation(`${s.name}: a start beside its running tree succeeded (${fault})`);
      }
    });
    const trig = await pidkit(["start", `${prefix}trig-1`, "--dir", dir, ...tier, "--", ...PLAIN]);
    if (trig.code !== 0) tally.violation(`${prefix}: trigger start failed: ${trig.stderr.trim()}`);
    reaper.record();
    const now = residentOf(dir);
    if (now === undefined) {
      tally.violation(`${prefix} (${fault}): no resident supervisor after the fault`);
      return;
    }
    if (expectSame && now[0] !== first[0]) {
      tally.violation(`${prefix} (${fault}): a second supervisor (${now[0]}) took the directory`);
    }
    // Never a lost restart: every restart service runs again, held by the supervisor.
    const until = Date.now() + 12_000;
    const restarters = services.filter((s) => s.kind !== "plain");
    const ran = new Set<string>();
    while (ran.size < restarters.length && Date.now() < until) {
      const live = markers(prefix);
      for (const s of restarters) {
        const held = record(dir, s.name)?.supervisor.pid === now[0];
        if (held && [...live.values()].some((m) => markerName(m) === s.name)) ran.add(s.name);
      }
      await sleep(50);
    }
    for (const s of restarters) {
      if (!ran.has(s.name)) {
        tally.violation(
          `${s.name} (${fault}${group ? ", group tier" : ""}): not running again under the ` +
            `supervisor within 12 s: ${JSON.stringify(record(dir, s.name)?.phase)}`,
        );
      }
    }
    const hello = await askSupervisor<{ services: string[] }>(dir, { op: "hello" }, {
      launch: false,
    }).catch(() => undefined);
    for (const s of services) {
      if (!hello?.services.includes(s.name)) {
        tally.violation(`${s.name} (${fault}): not held by the supervisor of the directory`);
      }
      if (s.kind === "plain" && s.leader) {
        const t = record(dir, s.name)?.tree;
        if (t?.pid !== s.leader[0] || t.startTime !== s.leader[1]) {
          tally.violation(
            `${s.name} (${fault}): leader ${t?.pid}, it ran as ${
              s.leader[0]
            } (restarted, not adopted)`,
          );
        }
      }
    }
    sampler.stop();
    await sampling;
    sampling = undefined;
    for (const [name, count] of sampler.doubles) {
      tally.violation(`${name} (${fault}${group ? ", group tier" : ""}): ${count} trees at once`);
    }
    // SIGTERM stops every service; nothing is left.
    reaper.record();
    Deno.kill(now[0], "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (startTimeOf(now[0]) === now[1] && Date.now() < deadline) await sleep(20);
    if (startTimeOf(now[0]) === now[1]) {
      tally.violation(`${prefix}: the supervisor did not exit within 30 s of SIGTERM`);
    } else {
      await sleep(100);
      const left = markers(prefix);
      if (left.size > 0) {
        tally.violation(
          `${prefix} (${fault}): SIGTERM of the supervisor left ${left.size} processes`,
        );
      }
    }
  } finally {
    sampler.stop();
    await sampling;
    await reaper[Symbol.asyncDispose]();
    if (mounted) sh(["umount", dir]) || sh(["umount", "-l", dir]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Remove the run directory under its running supervisor: half the time its
 * entries only (the directory stays), half the time the directory itself,
 * made again at once with the test's TMPDIR in it (where the supervisor
 * makes its start gates; the system's /tmp is never removed).
 */
function removeRunDir(dir: string): void {
  const whole = Math.random() < 0.5;
  // The supervisor writes meanwhile (a restart's record, a log line): again until gone.
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      if (whole) Deno.removeSync(dir, { recursive: true });
      else {
        for (const e of Deno.readDirSync(dir)) {
          if (e.name !== ".tmp") Deno.removeSync(`${dir}/${e.name}`, { recursive: true });
        }
      }
      break;
    } catch { /* written meanwhile */ }
  }
  if (!whole) return;
  Deno.mkdirSync(`${dir}/.tmp`, { recursive: true, mode: 0o700 });
  Deno.chmodSync(dir, 0o700);
}
