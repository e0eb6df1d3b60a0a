/**
 * `pidkit stop NAME` of a service that exits on SIGTERM, against the
 * runtime floor and, with `--before DIR`, against another checkout, runs
 * interleaved; `status NAME` alongside as a control (the same code on both
 * sides shows how much the machine's noise alone moves a figure). Only the
 * stop is timed: the start before each one is not. Medians and first
 * quartiles (less moved by a loaded machine), as differences to the floor.
 *
 * Target (issue 18): stop <= floor + 10 ms.
 *
 *   deno run -A bench/stop_latency_compare.ts [--runs 31] [--before DIR]
 *
 * @module
 */

const args = Deno.args;
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt("runs") ?? 31);
const before = opt("before");
const deno = Deno.execPath();
const HERE = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const work = Deno.makeTempDirSync({ prefix: "pidkit-stop-bench-" });
const empty = `${work}/empty.ts`;
Deno.writeTextFileSync(empty, "");

interface Way {
  label: string;
  cli: string;
  dir: string;
}
const ways: Way[] = [{ label: "this checkout", cli: `${HERE}/cli.ts`, dir: `${work}/a` }];
if (before) ways.push({ label: `before: ${before}`, cli: `${before}/cli.ts`, dir: `${work}/b` });

const argv = (w: Way, ...rest: string[]) => [
  deno,
  "run",
  "-A",
  "--quiet",
  "--unstable-lazy-dynamic-imports",
  w.cli,
  ...rest,
];

async function run(cmd: string[], dir: string, expect = 0): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: { PIDKIT_DIR: dir, NO_COLOR: "1" },
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

const floor: number[] = [];
const stop = ways.map(() => [] as number[]);
const status = ways.map(() => [] as number[]);
try {
  for (const w of ways) {
    Deno.mkdirSync(w.dir);
    // Kept running: the supervisor stays up between the stops.
    await run(argv(w, "start", "keep", "--ready-after", "0", "--", "sleep", "1000"), w.dir);
  }
  await run([deno, "run", "-A", "--quiet", empty], work); // warm the cache
  for (let r = 0; r < RUNS; r++) {
    floor.push(await run([deno, "run", "-A", "--quiet", empty], work));
    for (const [i, w] of ways.entries()) {
      await run(argv(w, "start", "b", "--ready-after", "0", "--", "sleep", "1000"), w.dir);
      stop[i].push(await run(argv(w, "stop", "b"), w.dir));
      status[i].push(await run(argv(w, "status", "keep"), w.dir));
    }
  }
} finally {
  for (const w of ways) {
    for (const name of ["b", "keep"]) await run(argv(w, "stop", name), w.dir).catch(() => {});
  }
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)];
const f50 = quantile(floor, 0.5);
const f25 = quantile(floor, 0.25);
const show = (xs: number[]) => {
  const m = quantile(xs, 0.5);
  const q = quantile(xs, 0.25);
  return `${m.toFixed(1)} (floor +${(m - f50).toFixed(1)}) | ${q.toFixed(1)} (floor +${
    (q - f25).toFixed(1)
  })`;
};
console.log(
  `${RUNS} interleaved runs; floor (deno run of an empty script): median ${f50.toFixed(1)} ms, ` +
    `first quartile ${f25.toFixed(1)} ms`,
);
console.log("| way | command | median ms | first quartile ms |");
console.log("| --- | --- | ---: | ---: |");
for (const [i, w] of ways.entries()) {
  console.log(`| ${w.label} | stop (exits on TERM) | ${show(stop[i])} |`);
  console.log(`| ${w.label} | status NAME (control) | ${show(status[i])} |`);
}
