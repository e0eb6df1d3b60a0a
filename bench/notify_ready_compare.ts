/**
 * How soon `pidkit start` returns once the service is ready: sd_notify
 * (`--ready-notify`, READY=1 sent) against `--ready-tcp` (listen() called),
 * the same Deno fixture for both. The fixture writes the wall-clock time
 * right before it sends READY=1 or listens; the figure is the time from
 * there until the `pidkit start` process has exited (so it includes
 * start's own exit, the same for both).
 *
 * Run: `deno run -A bench/notify_ready_compare.ts [--runs 15]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { pidkitIn, ROOT } from "./_service_cli.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "15" } },
});
const runs = Number(values.runs);
const fixture = `${ROOT}tests/fixtures/notify_sender.ts`;
const dir = Deno.makeTempDirSync({ prefix: "pidkit-readybench-" });
const pidkit = pidkitIn(dir);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function once(kind: "notify" | "tcp", i: number): Promise<number> {
  const name = `${kind}-${i}`;
  const stamp = `${dir}/${name}.stamp`;
  const port = freePort();
  const options = kind === "notify" ? ["--ready-notify"] : ["--ready-tcp", `127.0.0.1:${port}`];
  const step = kind === "notify" ? "ready" : `listen:${port}`;
  const out = await pidkit([
    "start",
    name,
    ...options,
    "--",
    Deno.execPath(),
    "run",
    "-A",
    fixture,
    "sleep:300",
    `stamp:${stamp}`,
    step,
    "stay",
  ]);
  const end = performance.timeOrigin + performance.now();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const sent = Number(await Deno.readTextFile(stamp));
  await pidkit(["stop", name]);
  return end - sent;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

try {
  const results: Record<string, number[]> = { notify: [], tcp: [] };
  for (let i = 0; i < runs; i++) {
    for (const kind of ["notify", "tcp"] as const) results[kind].push(await once(kind, i));
  }
  for (const [kind, xs] of Object.entries(results)) {
    const s = [...xs].sort((a, b) => a - b);
    console.log(
      `${kind === "notify" ? "--ready-notify (READY=1 sent)" : "--ready-tcp (listen called)"}` +
        ` -> start returned: median ${median(xs).toFixed(1)} ms, min ${s[0].toFixed(1)}, max ${
          s.at(-1)!.toFixed(1)
        } (n=${xs.length})`,
    );
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
