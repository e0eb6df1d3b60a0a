/**
 * What a command costs above the runtime floor, side by side in one run:
 * `status NAME`, `list` of 10 services, `start NAME --ready-after 0 -- sleep
 * 1000` (the supervisor up) and `stop NAME` (a service that exits on
 * SIGTERM), each as a ratio to `deno run` of an empty script, with its
 * peak RSS (GNU time's maximum resident set size) against the floor's, and
 * its median CPU time (user + system: less sensitive than wall time to a
 * machine others are loading).
 *
 * Each checkout runs two ways: `deno run -A cli.ts` and with
 * `--unstable-lazy-dynamic-imports` (as the README runs it: start-up reads
 * only the command's own modules). `--before DIR` adds another checkout
 * (e.g. `git worktree add --detach /tmp/before main`), run with the flag. Runs are
 * interleaved so that machine noise hits every case alike; each way has its
 * own run dir holding 10 services under its own supervisor.
 *
 * Targets (issue 18): status <= 1.25x, list <= 1.4x, start <= 1.5x,
 * stop <= floor + 10 ms, peak RSS <= floor + 6 MiB.
 *
 * `--modules` also counts the checkout's modules each command reads (one run
 * of each under `strace -e openat`, before the timed runs): a feature that
 * puts a module on a command's path shows here first.
 *
 *   deno run -A bench/cli_startup_compare.ts [--runs 21] [--before DIR] [--modules]
 *
 * @module
 */

const args = Deno.args;
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt("runs") ?? 21);
const before = opt("before");
const countModules = args.includes("--modules");
const deno = Deno.execPath();
const HERE = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TIME = "/usr/bin/time";
const hasTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/** One way of running pidkit: a label, the argv prefix, its run dir, its checkout. */
interface Way {
  label: string;
  argv: string[];
  dir: string;
  root: string;
}

const work = await Deno.makeTempDir({ prefix: "pidkit-bench-" });
const empty = `${work}/empty.ts`;
await Deno.writeTextFile(empty, "");
const ways: Way[] = [
  { label: "deno run -A cli.ts", argv: [deno, "run", "-A", `${HERE}/cli.ts`], dir: "", root: HERE },
  {
    label: "... --unstable-lazy-dynamic-imports",
    argv: [deno, "run", "-A", "--unstable-lazy-dynamic-imports", `${HERE}/cli.ts`],
    dir: "",
    root: HERE,
  },
];
if (before) {
  ways.push({
    label: `before: ${before} (lazy)`,
    argv: [deno, "run", "-A", "--unstable-lazy-dynamic-imports", `${before}/cli.ts`],
    dir: "",
    root: before.replace(/\/$/, ""),
  });
}
ways.forEach((w, i) => w.dir = `${work}/dir${i}`);

/**
 * CPU time (user + system) of this process's reaped children, in ms: from
 * getrusage(RUSAGE_CHILDREN), in microseconds, where libc can be opened;
 * otherwise from /proc/self/stat in 10 ms ticks (meaningful only as a mean
 * over many runs).
 */
const childrenCpuMs: () => number = (() => {
  try {
    const lib = Deno.dlopen("libc.so.6", {
      getrusage: { parameters: ["i32", "buffer"], result: "i32" },
    });
    const usage = new BigInt64Array(18); // struct rusage: two timevals, then 14 longs
    const bytes = new Uint8Array(usage.buffer);
    return () => {
      if (lib.symbols.getrusage(-1, bytes) !== 0) throw new Error("getrusage failed");
      return Number(usage[0] + usage[2]) * 1000 + Number(usage[1] + usage[3]) / 1000;
    };
  } catch {
    return () => {
      const text = Deno.readTextFileSync("/proc/self/stat");
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      return (Number(f[16 - 3]) + Number(f[17 - 3])) * 10; // cutime, cstime
    };
  }
})();

/**
 * Wall time (ms), peak RSS (KiB, 0 without GNU time) and CPU time (ms) of
 * one run; throws on a wrong exit.
 */
async function measure(argv: string[], dir: string, expect = 0): Promise<[number, number, number]> {
  const c0 = childrenCpuMs();
  const full = hasTime ? [TIME, "-f", "maxrss=%M", ...argv] : argv;
  const t0 = performance.now();
  const out = await new Deno.Command(full[0], {
    args: full.slice(1),
    env: { PIDKIT_DIR: dir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const err = new TextDecoder().decode(out.stderr);
  if (out.code !== expect) throw new Error(`${argv.join(" ")}: exit ${out.code}: ${err}`);
  return [ms, Number(/maxrss=(\d+)\s*$/.exec(err)?.[1] ?? 0), childrenCpuMs() - c0];
}

/**
 * How many of `root`'s modules one run of `argv` opens (strace's openat
 * calls; the source of each module is opened once).
 */
async function modulesRead(argv: string[], dir: string, root: string): Promise<number> {
  const log = `${work}/strace.log`;
  const out = await new Deno.Command("strace", {
    args: ["-f", "-qq", "-e", "trace=openat", "-o", log, ...argv],
    env: { PIDKIT_DIR: dir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`strace ${argv.join(" ")}: exit ${out.code}`);
  const opened = new Set<string>();
  for (const m of (await Deno.readTextFile(log)).matchAll(/"([^"]+\.ts)"/g)) {
    if (m[1].startsWith(`${root}/`)) opened.add(m[1]);
  }
  return opened.size;
}

const CASES: [string, (w: Way) => string[]][] = [
  ["status NAME", (w) => [...w.argv, "status", "web"]],
  ["list (10 services)", (w) => [...w.argv, "list"]],
  [
    "start --ready-after 0",
    (w) => [...w.argv, "start", "b", "--ready-after", "0", "--", "sleep", "1000"],
  ],
  ["stop (exits on TERM)", (w) => [...w.argv, "stop", "b"]],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const modules = ways.map(() => CASES.map(() => 0));
const floorMs: number[] = [];
const floorRss: number[] = [];
const floorCpu: number[] = [];
const ms = ways.map(() => CASES.map(() => [] as number[]));
const rss = ways.map(() => CASES.map(() => [] as number[]));
const cpu = ways.map(() => CASES.map(() => [] as number[]));
try {
  for (const w of ways) {
    Deno.mkdirSync(w.dir);
    // 10 services under one supervisor: `list` shows them, and it stays up between runs.
    for (const name of ["web", ...Array.from({ length: 9 }, (_, i) => `svc${i}`)]) {
      await measure([...w.argv, "start", name, "--ready-after", "0", "--", "sleep", "1000"], w.dir);
    }
    for (const [j, [, argv]] of CASES.entries()) {
      await measure(argv(w), w.dir); // warm the caches
      if (countModules) {
        // The counted run finds b as the timed ones do: stopped for start, running for stop.
        if (CASES[j][0].startsWith("start")) await measure([...w.argv, "stop", "b"], w.dir);
        if (CASES[j][0].startsWith("stop")) await measure(CASES[j - 1][1](w), w.dir);
        modules[ways.indexOf(w)][j] = await modulesRead(argv(w), w.dir, w.root);
      }
    }
  }
  await measure([deno, "run", "-A", empty], work);
  for (let r = 0; r < RUNS; r++) {
    const [f, fr, fc] = await measure([deno, "run", "-A", empty], work);
    floorMs.push(f);
    floorRss.push(fr);
    floorCpu.push(fc);
    for (const [i, w] of ways.entries()) {
      for (const [j, [, argv]] of CASES.entries()) {
        const [t, m, c] = await measure(argv(w), w.dir);
        ms[i][j].push(t);
        rss[i][j].push(m);
        cpu[i][j].push(c);
      }
    }
  }
} finally {
  for (const w of ways) {
    for (const name of ["b", "web", ...Array.from({ length: 9 }, (_, i) => `svc${i}`)]) {
      await measure([...w.argv, "stop", name], w.dir).catch(() => {});
    }
  }
  // Each supervisor exits a moment after its last service (and notes it in
  // its journal): removed before that, the run dirs would come back.
  const deadline = Date.now() + 30_000;
  for (const w of ways) {
    const pid = Number(await Deno.readTextFile(`${w.dir}/supervisor.lock`).catch(() => ""));
    while (pid > 0 && Date.now() < deadline && exists(`/proc/${pid}`)) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const floor = median(floorMs);
const floorMiB = median(floorRss) / 1024;
const floorCpuMs = median(floorCpu);
console.log(
  `${RUNS} interleaved runs, medians; floor (deno run of an empty script): ${floor.toFixed(1)} ms` +
    (hasTime ? `, peak RSS ${floorMiB.toFixed(1)} MiB` : " (no GNU time: no RSS)") +
    `, CPU ${floorCpuMs.toFixed(1)} ms`,
);
console.log("| way | command | ms | vs floor | peak RSS MiB | vs floor | CPU ms | vs floor |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [i, w] of ways.entries()) {
  for (const [j, [label]] of CASES.entries()) {
    const m = median(ms[i][j]);
    const mib = median(rss[i][j]) / 1024;
    const c = median(cpu[i][j]);
    const ratio = `${(m / floor).toFixed(2)}x (+${(m - floor).toFixed(1)} ms)`;
    const mem = hasTime ? `${mib.toFixed(1)} | +${(mib - floorMiB).toFixed(1)}` : "- | -";
    const cpuCell = `${c.toFixed(1)} | ${(c / floorCpuMs).toFixed(2)}x`;
    console.log(`| ${w.label} | ${label} | ${m.toFixed(1)} | ${ratio} | ${mem} | ${cpuCell} |`);
  }
}
if (countModules) {
  console.log("\nModules of the checkout each command reads (strace -e openat, one run):");
  console.log(`| way | ${CASES.map(([label]) => label).join(" | ")} |`);
  console.log(`| --- |${CASES.map(() => " ---: |").join("")}`);
  for (const [i, w] of ways.entries()) console.log(`| ${w.label} | ${modules[i].join(" | ")} |`);
}
