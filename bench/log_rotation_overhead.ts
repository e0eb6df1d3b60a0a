/**
 * What size-capped logs cost: a service writes M MiB (default 64) of
 * 100-byte lines; the supervisor's CPU time (utime+stime, 10 ms ticks) for
 * pumping them into the log is measured without rotation and with
 * `--log-max-size 1M --log-keep 5` (64 rotations for 64 MiB). The
 * difference divided by M is the rotation overhead per MiB logged.
 *
 * Run: `deno run -A bench/log_rotation_overhead.ts [--mib 64] [--runs 3]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuMs, pidkitIn } from "./_service_cli.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { mib: { type: "string", default: "64" }, runs: { type: "string", default: "3" } },
});
const mib = Number(values.mib);
const dir = Deno.makeTempDirSync({ prefix: "pidkit-rotbench-" });
const pidkit = pidkitIn(dir);

const line = "x".repeat(99);
const script = `sleep 0.5; yes '${line}' | head -c ${
  mib * 1024 * 1024
}; echo END-OF-$((1+1))RUN; sleep 600`;

/** Whether the last 200 bytes of `path` contain `marker`. */
async function endsWith(path: string, marker: string): Promise<boolean> {
  try {
    using f = await Deno.open(path);
    const size = (await f.stat()).size;
    await f.seek(Math.max(0, size - 200), Deno.SeekMode.Start);
    const buf = new Uint8Array(200);
    const n = (await f.read(buf)) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n)).includes(marker);
  } catch {
    return false; // between rename and reopen
  }
}

async function once(name: string, options: string[]): Promise<{ cpu: number; wall: number }> {
  const out = await pidkit(["start", name, ...options, "--", "sh", "-c", script]);
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const sup = JSON.parse(await Deno.readTextFile(`${dir}/${name}.json`)).supervisor.pid;
  const before = cpuMs(sup);
  const t0 = performance.now();
  const log = `${dir}/${name}.log`;
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    if (await endsWith(log, "END-OF-2RUN")) break;
  }
  const result = { cpu: cpuMs(sup) - before, wall: performance.now() - t0 };
  await pidkit(["stop", name]);
  return result;
}

try {
  const plain: number[] = [];
  const rotated: number[] = [];
  for (let run = 0; run < Number(values.runs); run++) {
    const a = await once(`plain-${run}`, []);
    Deno.removeSync(`${dir}/plain-${run}.log`);
    const b = await once(`rot-${run}`, ["--log-max-size", "1M", "--log-keep", "5"]);
    plain.push(a.cpu);
    rotated.push(b.cpu);
    console.log(
      `run ${run}: ${mib} MiB logged, supervisor CPU ${a.cpu} ms plain, ${b.cpu} ms rotating ` +
        `(${Math.round(a.wall)} / ${Math.round(b.wall)} ms wall)`,
    );
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const p = med(plain), r = med(rotated);
  console.log(
    `median: ${(p / mib).toFixed(2)} ms CPU per MiB plain, ${(r / mib).toFixed(2)} ms per MiB ` +
      `rotating at 1M: overhead ${((r - p) / mib).toFixed(2)} ms per MiB`,
  );
} finally {
  Deno.removeSync(dir, { recursive: true });
}
