/**
 * How soon `waitForRelease` notices that the holder of a PID file died:
 * the time from sending SIGKILL to the holder until the wait resolves.
 *
 * Run: `deno run -A bench/wait_latency.ts [--runs 30]`
 * Target on the project machines: median <= 5 ms.
 *
 * Two holders: a Deno process holding the file with `PidFile` (what pidkit
 * users run; its own teardown after SIGKILL takes a few ms, and the kernel
 * drops the lock only at the end of it), and util-linux `flock -o -x FILE
 * sleep` (a tiny C process, so the figure is mostly pidkit's own delay).
 * Two waits: polling (with a `timeout`) and blocking (no timeout, no signal).
 * The wait has been running for 100-300 ms when the holder is killed.
 */
import { parseArgs } from "node:util";
import { probe, waitForRelease } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "30" } },
});
const runs = Number(values.runs);
const dir = Deno.makeTempDirSync({ prefix: "pidkit-wait-" });
const fixture = new URL("../tests/fixtures/pid_holder.ts", import.meta.url).pathname;
const hasFlock = new Deno.Command("sh", { args: ["-c", "command -v flock"], stdout: "null" })
  .outputSync().success;

type Holder = "deno" | "flock";
type Mode = "poll" | "block";

function spawnHolder(kind: Holder, path: string): Deno.ChildProcess {
  const cmd = kind === "deno"
    ? [Deno.execPath(), "run", "-A", "--quiet", fixture, path, "--keep"]
    : ["flock", "-o", "-x", path, "sleep", "1000"];
  // Its own process group, so the group SIGKILL below ends `flock -o`'s
  // `sleep` too (flock -o holds the lock itself and leaves its command
  // running when it dies); no inherited stdio, so `... | tail` returns.
  return new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
}

/** SIGKILL the holder's whole process group (its pgid is its pid: detached). */
function killHolder(child: Deno.ChildProcess): void {
  try {
    Deno.kill(-child.pid, "SIGKILL");
  } catch { /* already gone */ }
}

async function once(kind: Holder, mode: Mode, path: string): Promise<number> {
  const child = spawnHolder(kind, path);
  try {
    const until = Date.now() + 20_000;
    while ((await probe(path)).status !== "running") {
      if (Date.now() > until) throw new Error(`${kind} holder did not lock ${path}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const waiting = mode === "poll"
      ? waitForRelease(path, { timeout: 60_000 })
      : waitForRelease(path);
    let resolvedAt = 0;
    const done = waiting.then((ok) => {
      resolvedAt = performance.now();
      if (!ok) throw new Error("timed out");
    });
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    const t0 = performance.now();
    killHolder(child);
    await done;
    return resolvedAt - t0;
  } finally {
    killHolder(child);
    await child.status;
    try {
      await Deno.remove(path);
    } catch { /* gone */ }
  }
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(2)} ms  p90 ${q(0.9).toFixed(2)}  min ${s[0].toFixed(2)}  max ${
    s.at(-1)!.toFixed(2)
  }`;
}

try {
  console.log(`waitForRelease detection after SIGKILL, ${runs} runs each`);
  const holders: Holder[] = hasFlock ? ["deno", "flock"] : ["deno"];
  for (const kind of holders) {
    for (const mode of ["poll", "block"] as Mode[]) {
      const xs: number[] = [];
      for (let i = 0; i < runs; i++) xs.push(await once(kind, mode, `${dir}/w${i}.pid`));
      console.log(`${kind.padEnd(5)} holder, ${mode.padEnd(5)} wait: ${summary(xs)}`);
    }
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
