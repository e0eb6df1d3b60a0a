/**
 * `pidkit start` / `pidkit stop` against the runtime floor, and the
 * supervisor's memory against an idle Deno process.
 *
 * - floor: `deno run` of an empty script (what any Deno CLI pays);
 * - start-to-ready: `pidkit start NAME -- sleep 1000`, default readiness
 *   (the service lived 100 ms) and `--ready-after 0`;
 * - stop: `pidkit stop NAME` of a service that exits at once on SIGTERM;
 * - RSS: VmRSS of a background supervisor vs `deno run` of an idle script,
 *   both 1.5 s after start.
 *
 * Run: `deno run -A bench/cli_start_stop_compare.ts [runs]` (default 10).
 * Targets (issue 5): stop <= 1.25x floor + the service's own shutdown;
 * supervisor RSS <= 1.2x an idle Deno process.
 *
 * @module
 */

const runs = Number(Deno.args[0] ?? 10);
const cli = new URL("../cli.ts", import.meta.url).pathname;
const dir = Deno.makeTempDirSync({ prefix: "pidkit-bench-" });
const deno = Deno.execPath();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timed(args: string[], env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(args[0], {
    args: args.slice(1),
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (out.code !== 0) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

function vmRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

const pidkit = (...args: string[]) => [deno, "run", "-A", "--quiet", cli, ...args];
const env = { PIDKIT_DIR: dir };

const empty = `${dir}/empty.ts`;
Deno.writeTextFileSync(empty, "");
const idle = `${dir}/idle.ts`;
Deno.writeTextFileSync(idle, "setTimeout(() => {}, 3000);");
await timed([deno, "run", "-A", "--quiet", empty]); // warm the cache
await timed(pidkit("--version"));

const floor: number[] = [];
const start: number[] = [];
const startNoWait: number[] = [];
const stop: number[] = [];
const stopNoWait: number[] = [];
for (let i = 0; i < runs; i++) {
  floor.push(await timed([deno, "run", "-A", "--quiet", empty]));
  start.push(await timed(pidkit("start", "b", "--", "sleep", "1000"), env));
  stop.push(await timed(pidkit("stop", "b"), env));
  startNoWait.push(
    await timed(pidkit("start", "b", "--ready-after", "0", "--", "sleep", "1000"), env),
  );
  stopNoWait.push(await timed(pidkit("stop", "b"), env));
}

// Memory: one supervisor and one idle Deno, 1.5 s after each started.
await timed(pidkit("start", "mem", "--", "sleep", "1000"), env);
const state = JSON.parse(Deno.readTextFileSync(`${dir}/mem.json`));
const idleChild = new Deno.Command(deno, { args: ["run", "-A", idle], stdout: "null" }).spawn();
await new Promise((r) => setTimeout(r, 1500));
const supRss = vmRss(state.supervisor.pid);
const idleRss = vmRss(idleChild.pid);
idleChild.kill("SIGKILL");
await idleChild.status;
await timed(pidkit("stop", "mem"), env);
Deno.removeSync(dir, { recursive: true });

const f = median(floor);
const row = (name: string, xs: number[]) =>
  console.log(
    `${name.padEnd(44)} ${median(xs).toFixed(1).padStart(7)} ms  (${
      (median(xs) / f).toFixed(2)
    }x floor)`,
  );
console.log(`runs: ${runs}, medians`);
row("deno run empty.ts (floor)", floor);
row("pidkit start (ready: lived 100 ms)", start);
row("pidkit start --ready-after 0", startNoWait);
row("pidkit stop (service exits on TERM)", stop);
row("pidkit stop (after --ready-after 0 start)", stopNoWait);
console.log(
  `${"supervisor VmRSS vs idle deno".padEnd(44)} ${supRss} kB vs ${idleRss} kB (${
    (supRss / idleRss).toFixed(2)
  }x)`,
);
