/**
 * The supervisor's CPU time per 10 000 `STATUS=` datagrams: a member of
 * the service's tree sends N of them (default 100 000) once the service is
 * ready; the supervisor's utime+stime (from /proc/PID/stat, 10 ms ticks) is
 * read before the flood and once the last STATUS= text shows in the state.
 *
 * Run: `deno run -A bench/notify_status_cpu.ts [--messages 100000] [--runs 3]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuMs, pidkitIn, ROOT } from "./_service_cli.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    messages: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
  },
});
const messages = Number(values.messages);
const fixture = `${ROOT}tests/fixtures/notify_sender.ts`;
const dir = Deno.makeTempDirSync({ prefix: "pidkit-notifycpu-" });
const pidkit = pidkitIn(dir);

function state(name: string): { supervisor: { pid: number }; statusText?: string } {
  return JSON.parse(Deno.readTextFileSync(`${dir}/${name}.json`));
}

try {
  for (let run = 0; run < Number(values.runs); run++) {
    const name = `cpu-${run}`;
    const out = await pidkit([
      "start",
      name,
      "--ready-notify",
      "--",
      Deno.execPath(),
      "run",
      "-A",
      fixture,
      "ready",
      "sleep:1000",
      `flood:${messages}`,
      "stay",
    ]);
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const sup = state(name).supervisor.pid;
    await new Promise((r) => setTimeout(r, 300)); // start-up work done, flood not begun
    const before = cpuMs(sup);
    const t0 = performance.now();
    while (state(name).statusText !== `flood ${messages}`) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const wall = performance.now() - t0 - 700;
    const used = cpuMs(sup) - before;
    console.log(
      `${messages} STATUS= datagrams: supervisor CPU ${used} ms = ${
        (used / (messages / 10_000)).toFixed(1)
      } ms per 10 000 (flood took about ${Math.round(wall)} ms wall)`,
    );
    await pidkit(["stop", name]);
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
