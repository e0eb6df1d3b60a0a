/**
 * Declared services under churn: random edits of a 20-service pidkit.jsonc
 * (commands, env, dependencies, instance counts, removals, additions), two
 * `pidkit up`s of it at once each round, and the run directory's
 * supervisor SIGKILLed between rounds. After every round what runs from
 * the file is exactly what it declares (with the declared command), no
 * name has two trees, and a hand-started service and another file's
 * services in the same run directory keep their very processes; in some
 * rounds the file declares the hand-started name too, which `up` must
 * leave alone (exit 1). The rounds are split between root in the cgroup
 * tier, root in the group tier (`tracking: "group"` in the files) and uid
 * 65534 (the group tier, as every non-root user gets it).
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { markerName, markers, residentOf, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { type Runner, runners } from "./as_user.ts";
import { pick, randInt, sleep } from "./util.ts";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";

interface Decl {
  cmd: string[];
  env: Record<string, string>;
  dependsOn: string[];
  instances?: number;
}

export const stackChurn: Scenario = {
  name: "stack-churn",
  shows: "Random edits of a 20-service declaration, two concurrent `up`s per round and " +
    "supervisor SIGKILLs between rounds: what runs always equals what the file declares, never " +
    "two trees of one name, a hand-started service and another file's services untouched; " +
    "as root in the cgroup and group tiers and as uid 65534.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 21, 6);
    const size = options.quick ? 8 : 20;
    await using base = tempDir("pidkit-torture-");
    // Every tier in quick mode too: the group tier is where 0.2's defects were.
    const who = runners(base.path, false, (s) => tally.note(s));
    for (const [i, r] of who.entries()) {
      const share = Math.max(1, Math.floor(n / who.length) + (i < n % who.length ? 1 : 0));
      const t0 = performance.now();
      const before = { rounds: tally.rounds, violations: tally.violations };
      const checked = { services: 0, kills: 0 };
      const prefix = uniquePrefix("sc");
      await using reaper = new ServiceReaper(r.dir, prefix, tally);
      try {
        await churn({ r, prefix, share, size, tally, reaper, checked });
      } catch (err) {
        tally.violation(`${r.label}: ${(err as Error).message}`);
      }
      const violations = tally.violations - before.violations;
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      tally.note(
        `${r.label}: ${tally.rounds - before.rounds} rounds, ${checked.services} declared ` +
          `services checked, ${checked.kills} supervisors SIGKILLed, ${violations} violations, ` +
          `${seconds} s`,
      );
    }
    return tally.result();
  },
};

interface Churn {
  r: Runner;
  prefix: string;
  share: number;
  size: number;
  tally: Tally;
  reaper: ServiceReaper;
  checked: { services: number; kills: number };
}

/** `share` rounds of one runner in its own run directory, with its own files. */
async function churn({ r, prefix, share, size, tally, reaper, checked }: Churn): Promise<void> {
  const files = `${r.dir}-files`;
  await Deno.mkdir(`${files}/other`, { recursive: true });
  // Another user's rounds (uid 65534) own their declarations, as a user's would.
  const own = (path: string) => {
    if (r.uid !== Deno.uid()) Deno.chownSync(path, r.uid, r.uid);
  };
  own(files);
  own(`${files}/other`);
  const file = `${files}/pidkit.jsonc`;
  const otherFile = `${files}/other/pidkit.jsonc`;
  // The files declare the tier the runner's `start` asks for: root/group's
  // (and a user's not root); root/cgroup and uid 65534 get theirs from auto.
  const tracking = r.startOptions.includes("group") ? "group" : undefined;
  const hand = `${prefix}hand`;
  try {
    // The bystanders: a hand-started service and another file's two services.
    const h = await r.cli(["start", hand, ...r.startOptions, "--", "sleep", "3000"]);
    reaper.record();
    if (h.code !== 0) throw new Error(`start ${hand}: ${h.stderr.trim()}`);
    await Deno.writeTextFile(
      otherFile,
      JSON.stringify({
        services: {
          [`${prefix}o1`]: { cmd: ["sleep", "3001"], ...(tracking ? { tracking } : {}) },
          [`${prefix}o2`]: {
            cmd: ["sleep", "3002"],
            dependsOn: [`${prefix}o1`],
            ...(tracking ? { tracking } : {}),
          },
        },
      }),
    );
    own(otherFile);
    const o = await r.cli(["up", "-c", otherFile], { named: false, timeoutMs: 120_000 });
    reaper.record();
    if (o.code !== 0) throw new Error(`up of the other file: ${o.stdout}${o.stderr}`);
    const bystanders = await pidsOf(r, [hand, `${prefix}o1`, `${prefix}o2`]);

    let decls = new Map<string, Decl>();
    for (let i = 0; i < size; i++) decls.set(`${prefix}s${i}`, fresh(decls));
    for (let round = 0; round < share; round++) {
      tally.rounds++;
      const at = `${r.label} round ${round}`;
      if (round > 0) decls = edit(decls, prefix, size, tally);
      const conflict = round % 3 === 1;
      await write(file, decls, tracking, conflict ? hand : undefined);
      own(file);
      const ups = await Promise.all(
        [0, 1].map(() => r.cli(["up", "-c", file], { named: false, timeoutMs: 180_000 })),
      );
      reaper.record();
      for (const up of ups) {
        if (up.code !== (conflict ? 1 : 0) || up.timedOut) {
          tally.violation(`${at}: up exited ${up.code}: ${(up.stdout + up.stderr).slice(0, 300)}`);
        }
        if (conflict && !/^left alone .*hand: /m.test(up.stdout)) {
          tally.violation(`${at}: the hand-started name was not reported left alone`);
        }
      }
      await check({ r, file, prefix, decls, at, tally, checked });
      for (const [name, pid] of bystanders) {
        if (startTimeOf(pid.pid) !== pid.start) {
          tally.violation(`${at}: ${name} (pid ${pid.pid}) was touched`);
        }
      }
      // A supervisor SIGKILLed between rounds (by its PID, whoever's it is):
      // the next ups adopt what runs.
      if (round % 2 === 0 && round + 1 < share) {
        const resident = residentOf(r.dir);
        if (resident && startTimeOf(resident[0]) === resident[1]) {
          reaper.recordResident();
          Deno.kill(resident[0], "SIGKILL");
          tally.faults++;
          checked.kills++;
          while (startTimeOf(resident[0]) !== undefined) await sleep(20);
        }
      }
    }
    const down = await r.cli(["down", "-c", file], { named: false, timeoutMs: 120_000 });
    if (down.code !== 0) tally.violation(`${r.label}: down: ${down.stdout}${down.stderr}`);
    for (const [name, pid] of bystanders) {
      if (startTimeOf(pid.pid) !== pid.start) tally.violation(`${r.label}: down touched ${name}`);
    }
    if ([...markers(`${prefix}s`).values()].length > 0) {
      tally.violation(`${r.label}: down left services of the file running`);
    }
  } finally {
    await r.cli(["down", "-c", otherFile], { named: false, timeoutMs: 60_000 });
    await r.cli(["stop", hand], { timeoutMs: 30_000 });
  }
}

/** A new declaration: it may depend on one of those declared before it. */
function fresh(decls: Map<string, Decl>): Decl {
  const before = [...decls.keys()];
  const dependsOn = before.length > 0 && Math.random() < 0.3 ? [pick(before)] : [];
  return {
    cmd: ["sleep", String(2000 + randInt(0, 999))],
    env: { V: String(randInt(0, 3)) },
    dependsOn,
    ...(Math.random() < 0.25 ? { instances: randInt(1, 3) } : {}),
  };
}

/** A few random edits: command, env, instances, a dependency, a removal, an addition. */
function edit(
  decls: Map<string, Decl>,
  prefix: string,
  size: number,
  tally: Tally,
): Map<string, Decl> {
  const next = new Map([...decls].map(([k, v]) => [k, { ...v, env: { ...v.env } }]));
  const names = () => [...next.keys()];
  for (let k = randInt(2, 5); k > 0; k--) {
    tally.faults++;
    const name = pick(names());
    const d = next.get(name)!;
    switch (randInt(0, 5)) {
      case 0:
        d.cmd = ["sleep", String(2000 + randInt(0, 999))];
        break;
      case 1:
        d.env.V = String(randInt(0, 9));
        break;
      case 2:
        if (d.instances === undefined) d.instances = randInt(1, 3);
        else d.instances = randInt(1, 4);
        break;
      case 3: {
        // a dependency on an earlier name only: never a cycle
        const earlier = names().slice(0, names().indexOf(name));
        d.dependsOn = earlier.length > 0 && Math.random() < 0.6 ? [pick(earlier)] : [];
        break;
      }
      case 4:
        if (next.size > 3) {
          next.delete(name);
          for (const other of next.values()) {
            other.dependsOn = other.dependsOn.filter((x) => x !== name);
          }
        }
        break;
      case 5: {
        const free = Array.from({ length: size + 5 }, (_, i) => `${prefix}s${i}`)
          .filter((x) => !next.has(x));
        if (free.length > 0) next.set(pick(free), fresh(next));
        break;
      }
    }
  }
  return next;
}

async function write(
  file: string,
  decls: Map<string, Decl>,
  tracking: string | undefined,
  hand?: string,
): Promise<void> {
  const services: Record<string, unknown> = Object.fromEntries(
    [...decls].map(([name, d]) => [name, tracking ? { ...d, tracking } : d]),
  );
  if (hand) services[hand] = { cmd: ["sleep", "3000"], ...(tracking ? { tracking } : {}) };
  await Deno.writeTextFile(file, JSON.stringify({ services }, null, 2));
}

/** The names a declaration runs under. */
function expected(decls: Map<string, Decl>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, d] of decls) {
    if (d.instances === undefined) out.set(name, d.cmd);
    else for (let i = 1; i <= d.instances; i++) out.set(`${name}.${i}`, d.cmd);
  }
  return out;
}

/** What runs from `file` equals what it declares; one tree per name. */
async function check({ r, file, prefix, decls, at, tally, checked }: {
  r: Runner;
  file: string;
  prefix: string;
  decls: Map<string, Decl>;
  at: string;
  tally: Tally;
  /** How many declared services the checks expected, over all rounds. */
  checked: { services: number };
}): Promise<void> {
  const want = expected(decls);
  const list = await r.cli(["list", "--json"], { named: false });
  const rows = (JSON.parse(list.stdout || "{}").services ?? []) as {
    name: string;
    state: string;
    file: string | null;
    command: string[] | null;
  }[];
  const live = new Set(["running", "starting", "reloading", "orphaned"]);
  const running = new Map(
    rows.filter((r) => r.file === file && live.has(r.state)).map((r) => [r.name, r]),
  );
  for (const [name, cmd] of want) {
    const r = running.get(name);
    if (!r) tally.violation(`${at}: ${name} is declared but does not run`);
    else if (JSON.stringify(r.command) !== JSON.stringify(cmd)) {
      tally.violation(
        `${at}: ${name} runs ${r.command?.join(" ")}, declared ${cmd.join(" ")}`,
      );
    }
  }
  // Each tree is in the runner's tier, and runs as its user.
  for (const name of running.keys()) {
    const tree = readServiceRecordSync(`${r.dir}/${name}.json`)?.tree;
    if (!tree) continue;
    if ((tree.cgroupPath !== undefined) !== (r.tier === "cgroup")) {
      tally.violation(`${at}: ${name} runs ${tree.cgroupPath ? "in a cgroup" : "in no cgroup"}`);
    }
    const owner = uidOf(tree.pid);
    if (owner !== undefined && owner !== r.uid) {
      tally.violation(`${at}: ${name} runs as uid ${owner}`);
    }
  }
  for (const name of running.keys()) {
    if (!want.has(name)) tally.violation(`${at}: ${name} runs but is no longer declared`);
  }
  checked.services += want.size;
  const trees = new Map<string, Set<string>>();
  for (const marker of markers(`${prefix}s`).values()) {
    const name = markerName(marker);
    (trees.get(name) ?? trees.set(name, new Set()).get(name)!).add(marker);
  }
  for (const [name, set] of trees) {
    if (set.size > 1) tally.violation(`${at}: ${name} has ${set.size} trees`);
    if (!want.has(name)) tally.violation(`${at}: a tree of ${name} is left`);
  }
}

/** Main PIDs (with start times) of running services, from `status --json`. */
async function pidsOf(
  r: Runner,
  names: string[],
): Promise<Map<string, { pid: number; start: number }>> {
  const out = new Map<string, { pid: number; start: number }>();
  for (const name of names) {
    const st = await r.cli(["status", name, "--json"]);
    const pid = Number(JSON.parse(st.stdout || "{}").pid);
    const start = startTimeOf(pid);
    if (start === undefined) throw new Error(`${name} does not run (${st.stdout}${st.stderr})`);
    out.set(name, { pid, start });
  }
  return out;
}

/** The real uid of a process, or undefined when it is gone. */
function uidOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
