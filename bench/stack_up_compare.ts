/**
 * What `pidkit up` costs, side by side in one run (issue 19):
 *
 * 1. `up` of 50 independent `sleep` services from nothing, against 50
 *    `pidkit start` calls one after another (target: up <= 0.25x);
 * 2. `up` with nothing to do (10 and 50 services running), against the
 *    runtime floor, `deno run` of an empty script (target <= 1.5x);
 * 3. `up` of a 3-level dependency chain of `--ready-notify` services, each
 *    ready 200 ms after it starts (the chain: about 600 ms plus 3 starts),
 *    against 3 `pidkit start --ready-notify` one after another.
 *
 * pidkit runs as the README runs it (`--unstable-lazy-dynamic-imports`);
 * part 2 also without that flag.
 *
 * Wall time and CPU time (user + system of the commands, and of the
 * background supervisor, which is not our child): the machine may be
 * loaded, and CPU time is less sensitive to that. Runs interleave.
 *
 *   deno run -A bench/stack_up_compare.ts [--runs 3] [--floor-runs 15] [--only 1,2,3] [--before DIR]
 *
 * `--before DIR`: part 2 also runs `up` of another checkout (e.g.
 * `git worktree add --detach /tmp/before main`), interleaved, on the same
 * declarations brought up by that checkout in run directories of its own
 * (a stamp of another format would send each `up` the long way).
 *
 * @module
 */

import { cpuMs, ROOT } from "./_service_cli.ts";

const args = Deno.args;
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt("runs") ?? 3);
const FLOOR_RUNS = Number(opt("floor-runs") ?? 15);
/** `--only 2`: just those parts (the no-op `up` alone takes a fraction of the time). */
const ONLY = new Set((opt("only") ?? "1,2,3").split(",").map(Number));
const BEFORE = opt("before");
const deno = Deno.execPath();
const CLI = `${ROOT}cli.ts`;
const work = await Deno.makeTempDir({ prefix: "pidkit-bench-stack-" });

/** CPU time of this process's reaped children, ms (10 ms ticks). */
function childrenCpuMs(): number {
  const text = Deno.readTextFileSync("/proc/self/stat");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10; // cutime, cstime
}

/** Run argv; wall ms and children CPU ms; throws unless it exits `expect`. */
async function timed(argv: string[], dir?: string, expect = 0) {
  const env: Record<string, string> = dir === undefined ? {} : { PIDKIT_DIR: dir };
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = performance.now() - t0;
  if (out.code !== expect) {
    throw new Error(`${argv.join(" ")}: exit ${out.code}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return { wall, cpu: childrenCpuMs() - c0 };
}

/** pidkit as the README runs it from a checkout (and `deno install` installs it). */
const pidkit = (...a: string[]) => [
  deno,
  "run",
  "-A",
  "--quiet",
  "--unstable-lazy-dynamic-imports",
  CLI,
  ...a,
];
/** The same without `--unstable-lazy-dynamic-imports`: start-up reads every command's modules. */
const pidkitEager = (...a: string[]) => [deno, "run", "-A", "--quiet", CLI, ...a];

/** The resident supervisor's PID, its CPU so far. */
function supervisorCpu(dir: string): number {
  try {
    const pid = Number(Deno.readTextFileSync(`${dir}/supervisor.lock`).trim());
    return pid > 0 ? cpuMs(pid) : 0;
  } catch {
    return 0;
  }
}

/** SIGTERM the run dir's supervisor (it stops every service) and wait for it to go. */
async function teardown(dir: string): Promise<void> {
  let pid = 0;
  try {
    pid = Number((await Deno.readTextFile(`${dir}/supervisor.lock`)).trim());
  } catch { /* none */ }
  if (pid > 0) {
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* gone */ }
    for (let i = 0; i < 600; i++) {
      try {
        await Deno.stat(`/proc/${pid}`);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

async function writeStack(file: string, services: Record<string, unknown>): Promise<void> {
  await Deno.writeTextFile(file, JSON.stringify({ services }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f0 = (x: number) => x.toFixed(0);

// 1. 50 from nothing
const fifty: Record<string, unknown> = {};
for (let i = 0; i < 50; i++) fifty[`s${i}`] = { cmd: ["sleep", String(5000 + i)] };
const fiftyFile = `${work}/fifty.jsonc`;
await writeStack(fiftyFile, fifty);
if (ONLY.has(1)) {
  const r1 = {
    up: [] as number[],
    upCpu: [] as number[],
    upSup: [] as number[],
    st: [] as number[],
    stCpu: [] as number[],
    stSup: [] as number[],
  };
  for (let run = 0; run < RUNS; run++) {
    const a = `${work}/up${run}`;
    const t = await timed(pidkit("up", "-c", fiftyFile), a);
    r1.up.push(t.wall);
    r1.upCpu.push(t.cpu);
    r1.upSup.push(supervisorCpu(a));
    await teardown(a);
    const b = `${work}/start${run}`;
    let wall = 0;
    let cpu = 0;
    for (let i = 0; i < 50; i++) {
      const s = await timed(pidkit("start", `s${i}`, "--", "sleep", String(5000 + i)), b);
      wall += s.wall;
      cpu += s.cpu;
    }
    r1.st.push(wall);
    r1.stCpu.push(cpu);
    r1.stSup.push(supervisorCpu(b));
    await teardown(b);
  }
  console.log("1. 50 independent sleep services from nothing (median of", RUNS, "runs)");
  console.log(
    `   up:            ${f0(median(r1.up))} ms wall, ${f0(median(r1.upCpu))} ms CPU (command), ${
      f0(median(r1.upSup))
    } ms CPU (supervisor)`,
  );
  console.log(
    `   50 x start:    ${f0(median(r1.st))} ms wall, ${f0(median(r1.stCpu))} ms CPU (commands), ${
      f0(median(r1.stSup))
    } ms CPU (supervisor)`,
  );
  console.log(
    `   ratio up/start: ${(median(r1.up) / median(r1.st)).toFixed(2)}x wall, ${
      ((median(r1.upCpu) + median(r1.upSup)) / (median(r1.stCpu) + median(r1.stSup))).toFixed(2)
    }x CPU (target <= 0.25x)`,
  );
}

if (ONLY.has(2)) {
  // 2. nothing to do, against the floor
  const empty = `${work}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  const ten: Record<string, unknown> = {};
  for (let i = 0; i < 10; i++) ten[`t${i}`] = { cmd: ["sleep", String(6000 + i)] };
  const tenFile = `${work}/ten.jsonc`;
  await writeStack(tenFile, ten);
  const d10 = `${work}/idle10`;
  const d50 = `${work}/idle50`;
  await timed(pidkit("up", "-c", tenFile), d10);
  await timed(pidkit("up", "-c", fiftyFile), d50);
  const beforeUp = (file: string) => [
    deno,
    "run",
    "-A",
    "--quiet",
    "--unstable-lazy-dynamic-imports",
    `${BEFORE}/cli.ts`,
    "up",
    "-c",
    file,
  ];
  const d10b = `${work}/idle10-before`;
  const d50b = `${work}/idle50-before`;
  if (BEFORE) {
    await timed(beforeUp(tenFile), d10b);
    await timed(beforeUp(fiftyFile), d50b);
  }
  const r2 = {
    floor: [] as number[],
    floorCpu: [] as number[],
    u10: [] as number[],
    c10: [] as number[],
    e10: [] as number[],
    b10: [] as number[],
    cb10: [] as number[],
    b50: [] as number[],
    cb50: [] as number[],
    ce10: [] as number[],
    u50: [] as number[],
    c50: [] as number[],
    list: [] as number[],
    listCpu: [] as number[],
  };
  for (let run = 0; run < FLOOR_RUNS; run++) {
    const f = await timed([deno, "run", "-A", "--quiet", empty]);
    r2.floor.push(f.wall);
    r2.floorCpu.push(f.cpu);
    const a = await timed(pidkit("up", "-c", tenFile), d10);
    r2.u10.push(a.wall);
    r2.c10.push(a.cpu);
    const e = await timed(pidkitEager("up", "-c", tenFile), d10);
    r2.e10.push(e.wall);
    r2.ce10.push(e.cpu);
    if (BEFORE) {
      const b = await timed(beforeUp(tenFile), d10b);
      r2.b10.push(b.wall);
      r2.cb10.push(b.cpu);
      const b5 = await timed(beforeUp(fiftyFile), d50b);
      r2.b50.push(b5.wall);
      r2.cb50.push(b5.cpu);
    }
    const b = await timed(pidkit("up", "-c", fiftyFile), d50);
    r2.u50.push(b.wall);
    r2.c50.push(b.cpu);
    const l = await timed(pidkit("list"), d10);
    r2.list.push(l.wall);
    r2.listCpu.push(l.cpu);
  }
  await teardown(d10);
  await teardown(d50);
  if (BEFORE) {
    await teardown(d10b);
    await teardown(d50b);
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  console.log(`2. up with nothing to do (median wall of ${FLOOR_RUNS} runs; mean CPU)`);
  console.log(
    `   floor (deno run empty.ts): ${f0(median(r2.floor))} ms wall, ${
      f0(mean(r2.floorCpu))
    } ms CPU`,
  );
  console.log(
    `   up, 10 running:            ${f0(median(r2.u10))} ms wall = ${
      (median(r2.u10) / median(r2.floor)).toFixed(2)
    }x, ${f0(mean(r2.c10))} ms CPU = ${
      (mean(r2.c10) / mean(r2.floorCpu)).toFixed(2)
    }x (target <= 1.5x)`,
  );
  console.log(
    `   the same, without --unstable-lazy-dynamic-imports: ${f0(median(r2.e10))} ms wall = ${
      (median(r2.e10) / median(r2.floor)).toFixed(2)
    }x, ${f0(mean(r2.ce10))} ms CPU = ${(mean(r2.ce10) / mean(r2.floorCpu)).toFixed(2)}x`,
  );
  if (BEFORE) {
    console.log(
      `   the same, ${BEFORE}: ${f0(median(r2.b10))} ms wall = ${
        (median(r2.b10) / median(r2.floor)).toFixed(2)
      }x, ${f0(mean(r2.cb10))} ms CPU = ${(mean(r2.cb10) / mean(r2.floorCpu)).toFixed(2)}x`,
    );
  }
  console.log(
    `   up, 50 running:            ${f0(median(r2.u50))} ms wall = ${
      (median(r2.u50) / median(r2.floor)).toFixed(2)
    }x, ${f0(mean(r2.c50))} ms CPU = ${(mean(r2.c50) / mean(r2.floorCpu)).toFixed(2)}x`,
  );
  if (BEFORE) {
    console.log(
      `   the same, ${BEFORE}: ${f0(median(r2.b50))} ms wall = ${
        (median(r2.b50) / median(r2.floor)).toFixed(2)
      }x, ${f0(mean(r2.cb50))} ms CPU = ${(mean(r2.cb50) / mean(r2.floorCpu)).toFixed(2)}x`,
    );
  }

  console.log(
    `   (list of the 10, for comparison: ${f0(median(r2.list))} ms wall = ${
      (median(r2.list) / median(r2.floor)).toFixed(2)
    }x, ${f0(mean(r2.listCpu))} ms CPU)`,
  );
}

if (ONLY.has(3)) {
  // 3. a 3-level chain of --ready-notify services, each ready 200 ms after its start
  const notifier = [
    "python3",
    "-c",
    "import os,socket,time\ntime.sleep(0.2)\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n" +
    "s.sendto(b'READY=1',os.environ['NOTIFY_SOCKET'])\ntime.sleep(1000)",
  ];
  const chainFile = `${work}/chain.jsonc`;
  await writeStack(chainFile, {
    a: { cmd: notifier, ready: { notify: true } },
    b: { cmd: notifier, ready: { notify: true }, dependsOn: ["a"] },
    c: { cmd: notifier, ready: { notify: true }, dependsOn: ["b"] },
  });
  const r3 = {
    up: [] as number[],
    upCpu: [] as number[],
    st: [] as number[],
    stCpu: [] as number[],
  };
  for (let run = 0; run < RUNS; run++) {
    const a = `${work}/chain${run}`;
    const t = await timed(pidkit("up", "-c", chainFile), a);
    r3.up.push(t.wall);
    r3.upCpu.push(t.cpu);
    await teardown(a);
    const b = `${work}/chainstart${run}`;
    let wall = 0;
    let cpu = 0;
    for (const name of ["a", "b", "c"]) {
      const s = await timed(pidkit("start", name, "--ready-notify", "--", ...notifier), b);
      wall += s.wall;
      cpu += s.cpu;
    }
    r3.st.push(wall);
    r3.stCpu.push(cpu);
    await teardown(b);
  }
  console.log(
    `3. 3-level chain of --ready-notify services, each ready 200 ms after start (median of ${RUNS})`,
  );
  console.log(
    `   up:         ${f0(median(r3.up))} ms wall (the chain alone: 600 ms + 3 starts), ${
      f0(median(r3.upCpu))
    } ms CPU`,
  );
  console.log(`   3 x start:  ${f0(median(r3.st))} ms wall, ${f0(median(r3.stCpu))} ms CPU`);
}

await Deno.remove(work, { recursive: true }).catch(() => {});
