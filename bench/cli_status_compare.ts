/**
 * Side-by-side wall times of the reading commands:
 * - `pidkit status NAME` against `deno run` of an empty script (the
 *   runtime floor) and `start-stop-daemon --status --pidfile` (target:
 *   status <= 1.25x the floor);
 * - `pidkit list` with 200 services (target: <= 1 s).
 *
 * Services are fabricated as a supervisor would leave them (plus one real
 * `pidkit start`ed service where the supervisor works): this process
 * holds the exclusive lock on each NAME.pid (as a supervisor does), each
 * service's tree is a detached `sleep`, and NAME.json is the state file.
 * Runs are interleaved so that machine noise hits every command alike.
 *
 *   deno run -A bench/cli_status_compare.ts [--runs 21] [--services 200]
 *
 * @module
 */

import { writeServiceRecord } from "../src/service/model/service_record.ts";
import { fakeState, treeRefOf } from "../tests/_util/service_fixture.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const args = Deno.args;
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = opt("runs", 21);
const SERVICES = opt("services", 200);

const dir = await Deno.makeTempDir({ prefix: "pidkit-bench-" });
const empty = `${dir}/empty.ts`;
await Deno.writeTextFile(empty, "");
const locks: Deno.FsFile[] = [];
const trees: Deno.ChildProcess[] = [];

async function fabricate(name: string): Promise<void> {
  const child = new Deno.Command("sleep", {
    args: ["600"],
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    env: { PIDKIT_SERVICE: `${name}:bench` },
  }).spawn();
  trees.push(child);
  const pidfile = `${dir}/${name}.pid`;
  const f = await Deno.open(pidfile, { read: true, write: true, create: true });
  await f.lock(true);
  await f.write(new TextEncoder().encode(`${child.pid}\n`));
  locks.push(f);
  await writeServiceRecord(
    `${dir}/${name}.json`,
    fakeState(dir, name, {
      tree: treeRefOf(child.pid, `${name}:bench`),
      command: ["sleep", "600"],
    }),
  );
}

/** CPU time of this process's reaped children, in ms (10 ms ticks: meaningful as a sum over runs). */
function childrenCpuMs(): number {
  const text = Deno.readTextFileSync("/proc/self/stat");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[16 - 3]) + Number(f[17 - 3])) * 10; // cutime, cstime
}

async function time(cmd: string[], expect: number): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (out.code !== expect) {
    throw new Error(`${cmd.join(" ")}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  await fabricate("web");
  const deno = Deno.execPath();
  const cases: [string, string[], number][] = [
    ["deno run empty.ts (floor)", [deno, "run", "-A", empty], 0],
    ["pidkit status web", [deno, "run", "-A", CLI, "status", "--dir", dir, "web"], 0],
    [
      "pidkit status --json web",
      [deno, "run", "-A", CLI, "status", "--json", "--dir", dir, "web"],
      0,
    ],
  ];
  // A real supervised service too, where `pidkit start` works.
  const started = await new Deno.Command(deno, {
    args: ["run", "-A", CLI, "start", "--dir", dir, "real", "--", "sleep", "600"],
    stdout: "null",
    stderr: "null",
  }).output();
  if (started.code === 0) {
    cases.push(["pidkit status real (supervised)", [
      deno,
      "run",
      "-A",
      CLI,
      "status",
      "--dir",
      dir,
      "real",
    ], 0]);
  } else console.log("skip: pidkit start does not work here; fabricated service only");
  const ssd = "/usr/sbin/start-stop-daemon";
  try {
    Deno.statSync(ssd);
    cases.push([
      "start-stop-daemon --status",
      [ssd, "--status", "--pidfile", `${dir}/web.pid`],
      0,
    ]);
  } catch {
    console.log("skip: start-stop-daemon not installed");
  }
  const times = cases.map(() => [] as number[]);
  const cpu = cases.map(() => 0);
  for (const [, cmd, code] of cases) await time(cmd, code); // warm the module cache
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < cases.length; i++) {
      const c0 = childrenCpuMs();
      times[i].push(await time(cases[i][1], cases[i][2]));
      cpu[i] += childrenCpuMs() - c0;
    }
  }
  const floor = median(times[0]);
  console.log(`status (median wall time of ${RUNS} interleaved runs, ms; mean CPU time):`);
  cases.forEach(([label], i) => {
    const m = median(times[i]);
    console.log(
      `  ${label.padEnd(32)} ${m.toFixed(1).padStart(7)}  (${(m / floor).toFixed(2)}x floor, min ${
        Math.min(...times[i]).toFixed(1)
      }; CPU ${(cpu[i] / RUNS).toFixed(1)} ms/run, ${(cpu[i] / cpu[0]).toFixed(2)}x floor)`,
    );
  });

  for (let i = 1; i < SERVICES; i++) await fabricate(`svc-${String(i).padStart(3, "0")}`);
  const list = [deno, "run", "-A", CLI, "list", "--dir", dir];
  await time(list, 0);
  const lt: number[] = [];
  for (let r = 0; r < Math.min(RUNS, 11); r++) lt.push(await time(list, 0));
  const statusAll: number[] = [];
  const all = [deno, "run", "-A", CLI, "status", "--dir", dir];
  for (let r = 0; r < Math.min(RUNS, 11); r++) statusAll.push(await time(all, 0));
  console.log(`list / status of ${SERVICES} running services (median of ${lt.length} runs, ms):`);
  console.log(`  pidkit list                    ${median(lt).toFixed(1).padStart(7)}`);
  console.log(`  pidkit status (all)            ${median(statusAll).toFixed(1).padStart(7)}`);
} finally {
  await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "stop", "--dir", dir, "real"],
    stdout: "null",
    stderr: "null",
  }).output();
  for (const c of trees) {
    try {
      Deno.kill(-c.pid, "SIGKILL");
    } catch { /* gone */ }
    await c.status;
  }
  for (const f of locks) f.close();
  await Deno.remove(dir, { recursive: true });
}
