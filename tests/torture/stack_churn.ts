/**
 * Declared services under churn: random edits of a 20-service pidkit.jsonc
 * (commands, env, dependencies, instance counts, removals, additions), two
 * `pidkit up`s of it at once each round, and the run directory's
 * supervisor SIGKILLed between rounds. After every round what runs from
 * the file is exactly what it declares (with the declared command), no
 * name has two trees, and a hand-started service and another file's
 * services in the same run directory keep their very processes; in some
 * rounds the file declares the hand-started name too, which `up` must
 * leave alone (exit 1).
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import {
  markerName,
  markers,
  pidkit,
  residentOf,
  ServiceReaper,
  uniquePrefix,
} from "./cli_util.ts";
import { pick, randInt, sleep } from "./util.ts";

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
    "two trees of one name, a hand-started service and another file's services untouched.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 20, 3);
    const size = options.quick ? 8 : 20;
    await using base = tempDir("pidkit-torture-");
    const dir = base.join("run");
    Deno.mkdirSync(dir, { mode: 0o700 });
    const prefix = uniquePrefix("sc");
    await using reaper = new ServiceReaper(dir, prefix, tally);
    const file = base.join("pidkit.jsonc");
    const otherFile = base.join("other/pidkit.jsonc");
    Deno.mkdirSync(base.join("other"));
    const hand = `${prefix}hand`;
    try {
      // The bystanders: a hand-started service and another file's two services.
      const h = await pidkit(["start", hand, "--dir", dir, "--", "sleep", "3000"]);
      reaper.record();
      if (h.code !== 0) throw new Error(`start ${hand}: ${h.stderr.trim()}`);
      await Deno.writeTextFile(
        otherFile,
        JSON.stringify({
          services: {
            [`${prefix}o1`]: { cmd: ["sleep", "3001"] },
            [`${prefix}o2`]: { cmd: ["sleep", "3002"], dependsOn: [`${prefix}o1`] },
          },
        }),
      );
      const o = await pidkit(["up", "-c", otherFile, "--dir", dir], { timeoutMs: 120_000 });
      reaper.record();
      if (o.code !== 0) throw new Error(`up of the other file: ${o.stdout}${o.stderr}`);
      const bystanders = await pidsOf(dir, [hand, `${prefix}o1`, `${prefix}o2`]);

      let decls = new Map<string, Decl>();
      for (let i = 0; i < size; i++) decls.set(`${prefix}s${i}`, fresh(decls));
      for (let round = 0; round < n; round++) {
        tally.rounds++;
        if (round > 0) decls = edit(decls, prefix, size, tally);
        const conflict = round % 3 === 2;
        await write(file, decls, conflict ? hand : undefined);
        const ups = await Promise.all(
          [0, 1].map(() => pidkit(["up", "-c", file, "--dir", dir], { timeoutMs: 180_000 })),
        );
        reaper.record();
        for (const up of ups) {
          if (up.code !== (conflict ? 1 : 0) || up.timedOut) {
            tally.violation(
              `round ${round}: up exited ${up.code}: ${(up.stdout + up.stderr).slice(0, 300)}`,
            );
          }
          if (conflict && !/^left alone .*hand: /m.test(up.stdout)) {
            tally.violation(`round ${round}: the hand-started name was not reported left alone`);
          }
        }
        await check(dir, file, prefix, decls, round, tally);
        for (const [name, pid] of bystanders) {
          if (startTimeOf(pid.pid) !== pid.start) {
            tally.violation(`round ${round}: ${name} (pid ${pid.pid}) was touched`);
          }
        }
        // A supervisor SIGKILLed between rounds: the next ups adopt what runs.
        if (round % 2 === 1) {
          const resident = residentOf(dir);
          if (resident && startTimeOf(resident[0]) === resident[1]) {
            Deno.kill(resident[0], "SIGKILL");
            tally.faults++;
            while (startTimeOf(resident[0]) !== undefined) await sleep(20);
          }
        }
      }
      tally.note(`${checked.services} declared services checked over ${n} rounds`);
      const down = await pidkit(["down", "-c", file, "--dir", dir], { timeoutMs: 120_000 });
      if (down.code !== 0) tally.violation(`down: ${down.stdout}${down.stderr}`);
      for (const [name, pid] of bystanders) {
        if (startTimeOf(pid.pid) !== pid.start) tally.violation(`down touched ${name}`);
      }
      if ([...markers(`${prefix}s`).values()].length > 0) {
        tally.violation("down left services of the file running");
      }
    } catch (err) {
      tally.violation((err as Error).message);
    } finally {
      await pidkit(["down", "-c", otherFile, "--dir", dir], { timeoutMs: 60_000 });
      await pidkit(["stop", hand, "--dir", dir], { timeoutMs: 30_000 });
    }
    return tally.result();
  },
};

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

async function write(file: string, decls: Map<string, Decl>, hand?: string): Promise<void> {
  const services: Record<string, unknown> = Object.fromEntries(decls);
  if (hand) services[hand] = { cmd: ["sleep", "3000"] };
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

/** How many declared services the checks found running as declared, over all rounds. */
const checked = { services: 0 };

/** What runs from `file` equals what it declares; one tree per name. */
async function check(
  dir: string,
  file: string,
  prefix: string,
  decls: Map<string, Decl>,
  round: number,
  tally: Tally,
): Promise<void> {
  const want = expected(decls);
  const list = await pidkit(["list", "--json", "--dir", dir]);
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
    if (!r) tally.violation(`round ${round}: ${name} is declared but does not run`);
    else if (JSON.stringify(r.command) !== JSON.stringify(cmd)) {
      tally.violation(
        `round ${round}: ${name} runs ${r.command?.join(" ")}, declared ${cmd.join(" ")}`,
      );
    }
  }
  for (const name of running.keys()) {
    if (!want.has(name)) tally.violation(`round ${round}: ${name} runs but is no longer declared`);
  }
  checked.services += want.size;
  const trees = new Map<string, Set<string>>();
  for (const marker of markers(`${prefix}s`).values()) {
    const name = markerName(marker);
    (trees.get(name) ?? trees.set(name, new Set()).get(name)!).add(marker);
  }
  for (const [name, set] of trees) {
    if (set.size > 1) tally.violation(`round ${round}: ${name} has ${set.size} trees`);
    if (!want.has(name)) tally.violation(`round ${round}: a tree of ${name} is left`);
  }
}

/** Main PIDs (with start times) of running services, from `status --json`. */
async function pidsOf(
  dir: string,
  names: string[],
): Promise<Map<string, { pid: number; start: number }>> {
  const out = new Map<string, { pid: number; start: number }>();
  for (const name of names) {
    const st = await pidkit(["status", name, "--json", "--dir", dir]);
    const pid = Number(JSON.parse(st.stdout || "{}").pid);
    const start = startTimeOf(pid);
    if (start === undefined) throw new Error(`${name} does not run (${st.stdout}${st.stderr})`);
    out.set(name, { pid, start });
  }
  return out;
}
