/**
 * Many services in one run directory (one resident supervisor): 20 per
 * directory; some are stopped, some exit by themselves, some restarted
 * (one leaves an orphan that cleared its environment and left the
 * session); every other one must keep its very process. In both tiers as
 * root and as uid 65534 (the group tier, where 0.2 killed every service
 * started after the one stopped, restarted or exited).
 *
 * @module
 */

import { startTimeOf, tempDir } from "../_util/helpers.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { type Runner, runners } from "./as_user.ts";
import { sleep } from "./util.ts";

const SERVICES = 20;
/** What happens to service i; the others are left alone. */
const ACTIONS: Record<number, "stop" | "exit" | "restart" | "orphan-stop"> = {
  1: "stop",
  4: "exit",
  7: "restart",
  10: "orphan-stop",
  12: "exit",
  15: "stop",
  17: "restart",
};

export const groupMany: Scenario = {
  name: "group-many",
  shows: "20 services under one supervisor: stopping, restarting or the exit of some leaves " +
    "every other one its very process, in both tiers and as uid 65534 (the group tier).",
  async run(options) {
    const tally = new Tally();
    const n = rounds(options, 2, 1);
    await using base = tempDir("pidkit-torture-");
    const who = runners(base.path, options.quick, (s) => tally.note(s));
    for (const r of who) {
      for (let round = 0; round < n; round++) {
        const prefix = uniquePrefix("gm");
        await using reaper = new ServiceReaper(r.dir, prefix, tally);
        try {
          await oneRound(r, prefix, tally, reaper);
        } catch (err) {
          tally.violation(`${r.label}: ${(err as Error).message}`);
        }
      }
    }
    return tally.result();
  },
};

async function oneRound(r: Runner, prefix: string, tally: Tally, reaper: ServiceReaper) {
  tally.rounds++;
  const name = (i: number) => `${prefix}-${String(i).padStart(2, "0")}`;
  const escaped = `${r.dir}/${prefix}-escaped.pid`;
  const command = (i: number): string[] => {
    switch (ACTIONS[i]) {
      case "exit":
        return ["sh", "-c", "sleep 2; exit 3"];
      case "orphan-stop":
        return ["sh", "-c", `(env -i setsid sleep 600 & echo $! > ${escaped}); exec sleep 600`];
      default:
        return ["sleep", "600"];
    }
  };
  // Started one after the other: 0.2 killed the ones started *after* the one hit.
  for (let i = 0; i < SERVICES; i++) {
    const out = await r.cli(["start", name(i), ...r.startOptions, "--", ...command(i)]);
    reaper.record();
    if (out.code !== 0) throw new Error(`start ${name(i)}: ${out.stderr.trim()}`);
  }
  const before = new Map<number, { pid: number; start: number }>();
  for (let i = 0; i < SERVICES; i++) {
    if (ACTIONS[i] === "exit") continue;
    const st = await r.cli(["status", name(i), "--json"]);
    const pid = Number(JSON.parse(st.stdout || "{}").pid);
    const start = startTimeOf(pid);
    if (st.code !== 0 || start === undefined) {
      tally.violation(`${r.label}: ${name(i)} not running after start (${st.code})`);
      continue;
    }
    before.set(i, { pid, start });
  }
  try {
    // The exits happen meanwhile (2 s after their start).
    for (const [k, action] of Object.entries(ACTIONS)) {
      const i = Number(k);
      tally.faults++;
      if (action === "stop" || action === "orphan-stop") {
        const out = await r.cli(["stop", name(i)], { timeoutMs: 30_000 });
        if (out.code !== 0) tally.violation(`${r.label}: stop ${name(i)}: ${out.stderr.trim()}`);
      } else if (action === "restart") {
        const out = await r.cli(["restart", name(i)], { timeoutMs: 30_000 });
        reaper.record();
        if (out.code !== 0) tally.violation(`${r.label}: restart ${name(i)}: ${out.stderr.trim()}`);
      }
    }
    const deadline = Date.now() + 20_000;
    for (let i = 0; i < SERVICES; i++) {
      if (ACTIONS[i] !== "exit") continue;
      while ((await r.cli(["status", name(i)])).code === 0 && Date.now() < deadline) {
        await sleep(100);
      }
    }
    for (const [i, b] of before) {
      if (ACTIONS[i] !== undefined) continue;
      if (startTimeOf(b.pid) !== b.start) {
        tally.violation(
          `${r.label}: ${name(i)} (pid ${b.pid}) was killed by another service's fate`,
        );
      }
    }
  } finally {
    // The escapee is out of reach of the group tier's shared supervisor when
    // older services could be its origin (a documented limit): end it here.
    try {
      const pid = Number((await Deno.readTextFile(escaped)).trim());
      const start = startTimeOf(pid);
      if (pid > 1 && start !== undefined) Deno.kill(pid, "SIGKILL");
    } catch { /* not written, or gone */ }
    for (let i = 0; i < SERVICES; i++) await r.cli(["stop", name(i)], { timeoutMs: 30_000 });
  }
}
