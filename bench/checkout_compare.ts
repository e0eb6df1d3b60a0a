/**
 * The same pidkit command from two checkouts, interleaved (so machine noise
 * hits both alike), against the runtime floor: is a change faster or slower
 * at the command line? Median and 25th percentile wall time of each.
 *
 *   git worktree add /tmp/before <commit>
 *   deno run -A bench/checkout_compare.ts --before /tmp/before [--runs 41] -- status --dir D web
 *
 * The command runs as `deno run -A CHECKOUT/cli.ts ARGS` for both checkouts;
 * the floor is `deno run` of an empty script.
 *
 * @module
 */

const args = Deno.args;
const sep = args.indexOf("--");
if (sep < 0) throw new Error("usage: checkout_compare.ts --before DIR [--runs N] -- ARGS...");
const opts = args.slice(0, sep);
const command = args.slice(sep + 1);
const opt = (name: string) => {
  const i = opts.indexOf(`--${name}`);
  return i >= 0 ? opts[i + 1] : undefined;
};
const before = opt("before");
if (before === undefined) throw new Error("--before DIR: the other checkout");
const runs = Number(opt("runs") ?? 41);
const after = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const empty = await Deno.makeTempFile({ suffix: ".ts" });

const cases: [string, string[]][] = [
  ["floor (deno run of an empty script)", ["run", empty]],
  [`before: ${before}`, ["run", "-A", `${before}/cli.ts`, ...command]],
  [`after:  ${after}`, ["run", "-A", `${after}/cli.ts`, ...command]],
];
const times: number[][] = cases.map(() => []);
const WARMUP = 3;
for (let r = 0; r < runs + WARMUP; r++) {
  for (const [i, [, argv]] of cases.entries()) {
    const t0 = performance.now();
    await new Deno.Command(Deno.execPath(), { args: argv, stdout: "null", stderr: "null" })
      .output();
    if (r >= WARMUP) times[i].push(performance.now() - t0);
  }
}
await Deno.remove(empty);

const at = (xs: number[], q: number) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length * q)];
console.log(`pidkit ${command.join(" ")}: ${runs} runs each, interleaved`);
console.log("| what | median ms | p25 ms | vs floor |");
console.log("| --- | ---: | ---: | ---: |");
const floor = at(times[0], 0.5);
for (const [i, [label]] of cases.entries()) {
  const median = at(times[i], 0.5);
  console.log(
    `| ${label} | ${median.toFixed(1)} | ${at(times[i], 0.25).toFixed(1)} | ${
      (median / floor).toFixed(2)
    }x |`,
  );
}
