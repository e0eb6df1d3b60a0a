// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * `pidkit status` (and `stop`) on fuzzed files: the bad-files inputs as
 * NAME.pid, and mutated state files as NAME.json (wrong types, truncation,
 * random bytes, tree references aimed at live unrelated processes). Never a
 * crash, a stack trace or a hang; status exits 0, 1, 3 or 4; stop signals
 * no unrelated process.
 *
 * @module
 */

import { alive, Reaper, startTimeOf, tempDir } from "../_util/helpers.ts";
import { fakeState } from "../_util/service_fixture.ts";
import { fuzzInputs } from "./bad_files.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { pidkit, uniquePrefix } from "./cli_util.ts";
import { pick, randInt } from "./util.ts";

const enc = new TextEncoder();

export const cliStatusFuzz: Scenario = {
  name: "cli-status-fuzz",
  shows: "`pidkit status` and `stop` on fuzzed PID files and state files: exit 0/1/3/4 with a " +
    "one-line message, never a stack trace or hang, and no unrelated process signalled.",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 160, 10);
    await using dir = tempDir("pidkit-torture-");
    await using reaper = new Reaper();
    const prefix = uniquePrefix("fz");
    const sleepers = Array.from({ length: 4 }, () => reaper.spawn(["sleep", "600"]).pid);
    const pidInputs = fuzzInputs(n).filter((x) => x.bytes.length < 200_000);
    const jobs = Array.from({ length: n }, (_, i) => i);
    for (let k = 0; k < jobs.length; k += 2) {
      await Promise.all(
        jobs.slice(k, k + 2).map(async (i) => {
          tally.rounds++;
          tally.faults++;
          const name = `${prefix}-${i}`;
          const victim = pick(sleepers);
          if (i % 2 === 0) Deno.writeFileSync(dir.join(`${name}.pid`), pick(pidInputs).bytes);
          else Deno.writeTextFileSync(dir.join(`${name}.pid`), `${victim}\n`);
          Deno.writeFileSync(dir.join(`${name}.json`), fuzzState(dir.path, name, victim));
          const status = await pidkit(["status", name, "--dir", dir.path], { timeoutMs: 20_000 });
          check(tally, `status ${name}`, status, [0, 1, 3, 4]);
          const stop = await pidkit(["stop", name, "--dir", dir.path, "--retry", "KILL/1"], {
            timeoutMs: 20_000,
          });
          check(tally, `stop ${name}`, stop, [0, 1]);
          if (!alive(victim)) tally.violation(`${name}: stop killed unrelated process ${victim}`);
        }),
      );
    }
    const all = await pidkit(["status", "--dir", dir.path], { timeoutMs: 60_000 });
    check(tally, "status of every fuzzed service", all, [0, 1, 3, 4]);
    const list = await pidkit(["list", "--dir", dir.path], { timeoutMs: 60_000 });
    check(tally, "list of every fuzzed service", list, [0, 1, 3, 4]);
    tally.note(
      `unrelated processes: ${sleepers.length}, harmed: ${
        sleepers.filter((p) => !alive(p)).length
      }`,
    );
    return tally.result();
  },
};

function check(
  tally: Tally,
  what: string,
  out: { code: number; stderr: string; timedOut: boolean },
  codes: number[],
): void {
  if (out.timedOut) tally.violation(`${what}: hung`);
  else if (!codes.includes(out.code)) {
    tally.violation(`${what}: exit ${out.code}: ${out.stderr.trim().split("\n")[0]}`);
  }
  if (/\n\s+at |Uncaught|panicked/.test(out.stderr)) {
    tally.violation(`${what}: crashed: ${out.stderr.trim().split("\n")[0]}`);
  }
}

/** A state file for `name`: valid, then damaged one of several ways. */
function fuzzState(dir: string, name: string, victim: number): Uint8Array {
  const start = startTimeOf(victim) ?? 1;
  const state = fakeState(dir, name, {
    supervisor: { pid: victim, startTime: start - 1 },
    tree: {
      pid: victim,
      startTime: start - randInt(1, 100),
      pgid: victim,
      sid: victim,
      marker: `${name}:abc`,
      tracking: "group",
    },
  }) as unknown as Record<string, unknown>;
  const set = (obj: Record<string, unknown>, key: string, value: unknown) => obj[key] = value;
  const junk = () =>
    pick<unknown>([null, -1, 0, 1.5, "x", [], {}, true, 1e300, "../../etc/passwd", victim]);
  switch (randInt(0, 7)) {
    case 0: // a top-level field with a wrong type
      set(state, pick(Object.keys(state)), junk());
      break;
    case 1: // a tree field with a wrong type or value
      set(state.tree as Record<string, unknown>, pick(Object.keys(state.tree!)), junk());
      break;
    case 2: // a supervisor field
      set(state.supervisor as Record<string, unknown>, pick(["pid", "startTime"]), junk());
      break;
    case 3: { // truncated
      const text = JSON.stringify(state);
      return enc.encode(text.slice(0, randInt(0, text.length)));
    }
    case 4: { // random bytes
      const b = new Uint8Array(randInt(0, 400));
      crypto.getRandomValues(b);
      return b;
    }
    case 5: // a cgroup tree pointing somewhere else
      set(state.tree as Record<string, unknown>, "tracking", "cgroup");
      set(
        state.tree as Record<string, unknown>,
        "cgroupPath",
        pick(["/", "/sys/fs/cgroup", `/sys/fs/cgroup/unified/pidkit/${name}-abc`]),
      );
      break;
    case 6: // the pidfile field pointing elsewhere
      set(
        state,
        "pidfile",
        pick(["/etc/passwd", "/dev/zero", `${dir}/../x.pid`, "relative.pid", ""]),
      );
      break;
    default: // a group aimed at the victim from a dead leader
      set(state.tree as Record<string, unknown>, "pid", 4_000_000);
  }
  return enc.encode(JSON.stringify(state));
}
