/**
 * The CPU `pidkit top` itself uses on a terminal, with N services in the
 * run directory (issue 20: at most 5 % of one core with 200).
 *
 * N services (`sleep 1000`) are brought up by `pidkit up` from a
 * declaration (instances), `pidkit top` runs under a real pseudo-terminal
 * (util-linux `script`), and its process's CPU time (utime + stime from
 * /proc/PID/stat) is read after a warm-up and again S seconds later.
 *
 *   deno run -A bench/top_cpu_bench.ts [--services 200] [--seconds 30] [--interval 1s] [--tracking auto|group]
 *
 * Every process it starts is ended (the run directory's records name them;
 * see tests/_util/service_dir.ts) and its temp dirs are removed.
 *
 * @module
 */

import { cpuMs, ROOT } from "./_service_cli.ts";
import { Services } from "../tests/_util/service_dir.ts";
import { frames, HAS_SCRIPT, PtySession } from "../tests/_util/pty_session.ts";
import { tempDir, waitUntil } from "../tests/_util/helpers.ts";

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}
const SERVICES = Number(option("services", "200"));
const SECONDS = Number(option("seconds", "30"));
const INTERVAL = option("interval", "1s");
const TRACKING = option("tracking", "auto");
const WARMUP_MS = 3000;

if (!HAS_SCRIPT) {
  console.log("skip: util-linux script is not installed (top needs a terminal)");
  Deno.exit(0);
}

await using svc = new Services();
using work = tempDir("pidkit-bench-top-");
const file = `${work.path}/pidkit.jsonc`;
Deno.writeTextFileSync(
  file,
  JSON.stringify({
    services: {
      s: {
        cmd: ["sleep", "1000"],
        instances: SERVICES,
        tracking: TRACKING,
        ready: { after: "0" },
      },
    },
  }),
);
const t0 = performance.now();
const up = await svc.cli(["up", "-c", file, "--dir", svc.dir.path], { timeoutMs: 600_000 });
await svc.recordAll();
if (up.code !== 0) throw new Error(`pidkit up: exit ${up.code}: ${up.stderr}`);
console.log(`${SERVICES} services up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const pty = new PtySession(
  `exec ${Deno.execPath()} run -A --quiet ${ROOT}cli.ts top --dir ${svc.dir.path} --interval ${INTERVAL}`,
  { columns: 150, rows: 50 },
);
try {
  await waitUntil(
    () => frames(pty.output).some((f) => f.includes(`${SERVICES} services, ${SERVICES} running`)),
    { timeoutMs: 60_000, what: "top's first frame with every service running" },
  );
  const top = pty.descendant((argv) => argv[0] === Deno.execPath() && argv.includes("top"));
  if (top === undefined) throw new Error("no top process under the terminal");
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const cpu0 = cpuMs(top);
  const frames0 = frames(pty.output).length;
  const wall0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu = cpuMs(top) - cpu0;
  const wall = performance.now() - wall0;
  const drawn = frames(pty.output).length - frames0;
  const last = frames(pty.output).at(-1) ?? "";
  console.log(
    `pidkit top, ${SERVICES} services (tracking ${TRACKING}), interval ${INTERVAL}, ` +
      `${(wall / 1000).toFixed(1)} s: CPU ${(cpu / 1000).toFixed(2)} s = ` +
      `${(100 * cpu / wall).toFixed(2)} % of one core, ${drawn} frames ` +
      `(${(cpu / Math.max(1, drawn)).toFixed(1)} ms each)`,
  );
  if (!last.includes(`${SERVICES} services`)) console.log("warning: the last frame:", last);
  await pty.type("q");
  await pty.ended(30_000);
} finally {
  await pty[Symbol.asyncDispose]();
}
