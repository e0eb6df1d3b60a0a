/**
 * The supervisor's HTTP server with many services (issue 20 section 4):
 *
 * 1. a supervisor (`pidkit supervise`, in the foreground) holding N
 *    services (`sleep 1000`, `--ready-after 0`, as in
 *    bench/dir_supervisor_bench.ts), its memory (RSS and USS, from
 *    /proc/PID/status and smaps_rollup) settled without the HTTP server;
 * 2. the HTTP server turned on in that same process (the `http` request,
 *    what `pidkit start --http` sends), then K scrapes of `/metrics` one
 *    after another (a new connection each, as the server closes it) plus
 *    `/api/services`, `/` and an event stream open for a few seconds:
 *    scrape latency (median, p95, max) and the supervisor's memory again;
 * 3. a steady scraper (every 2.5 s, as Prometheus at its interval), whose
 *    look the server takes just before it comes (status_routes.ts), and the
 *    supervisor's CPU meanwhile (a collection after each scrape would show:
 *    supervisor/_quiet_gc.ts collects only after a burst).
 *
 *   deno run -A bench/http_metrics_bench.ts [--services 200] [--scrapes 100] [--steady 8]
 *
 * Every service is stopped by the supervisor (SIGTERM), which is then
 * waited for; its temp dir is removed.
 *
 * @module
 */

import { startService } from "../src/service/actions/start_service.ts";
import { askSupervisor } from "../src/service/control/supervisor_client.ts";
import { SUPERVISOR_V8_FLAGS } from "../src/service/control/supervisor_protocol.ts";

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(Deno.args[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name}: a positive integer`);
  return value;
}
const SERVICES = option("services", 200);
const SCRAPES = option("scrapes", 100);
const STEADY = option("steady", 8);
const SETTLE_MS = 3000;
const CONCURRENCY = 6;
const CLI = new URL("../cli.ts", import.meta.url).pathname;
const TMP = Deno.makeTempDirSync({ prefix: "pidkit-bench-http-" });
const DIR = `${TMP}/run`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memory(pid: number): { rss: number; uss: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
  const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const field = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(rollup)?.[1] ?? 0) * 1024;
  return { rss, uss: field("Private_Clean") + field("Private_Dirty") };
}

/** The CPU time `pid` has used, ms (utime + stime of /proc/PID/stat). */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
}

const mib = (n: number) => (n / 1048576).toFixed(1);
const sign = (n: number) => `${n >= 0 ? "+" : ""}${mib(n)}`;
function pct(xs: number[], p: number): number {
  const s = xs.toSorted((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The supervisor's own view of its heap (its hello answer). */
async function heap(): Promise<string> {
  const h = await askSupervisor<{ memory: Deno.MemoryUsage }>(DIR, { op: "hello" }, {
    launch: false,
  });
  const m = h!.memory;
  return `V8 heap total ${mib(m.heapTotal)} MiB, used ${mib(m.heapUsed)} MiB, external ${
    mib(m.external)
  } MiB`;
}

/** Settle: let the services' start-up garbage go, then read the memory a few times; the median. */
async function settled(pid: number): Promise<{ rss: number; uss: number }> {
  await sleep(SETTLE_MS);
  const xs: { rss: number; uss: number }[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(memory(pid));
    await sleep(200);
  }
  return { rss: pct(xs.map((x) => x.rss), 0.5), uss: pct(xs.map((x) => x.uss), 0.5) };
}

const sup = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "--quiet", CLI, "supervise", "--dir", DIR],
  stdin: "null",
  stdout: "null",
  stderr: "piped",
  // As a background supervisor runs (and examples/systemd/pidkit.service).
  env: { DENO_V8_FLAGS: SUPERVISOR_V8_FLAGS },
}).spawn();
let stderr = "";
const reading = (async () => {
  for await (const c of sup.stderr) stderr += new TextDecoder().decode(c);
})();
try {
  while (!/listening/.test(stderr)) await sleep(20);
  console.log(`supervisor pid ${sup.pid}; starting ${SERVICES} services...`);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < SERVICES) {
      const i = next++;
      await startService(`s${i}`, ["sleep", "1000"], { dir: DIR, readyAfter: 0 });
    }
  }));
  const before = await settled(sup.pid);
  console.log(
    `without HTTP: RSS ${mib(before.rss)} MiB, USS ${mib(before.uss)} MiB; ${await heap()}`,
  );

  const port = freePort();
  const answer = await askSupervisor<{ ok: boolean; error?: string }>(
    DIR,
    { op: "http", listen: `127.0.0.1:${port}` },
    { launch: false },
  );
  if (!answer?.ok) throw new Error(`http: ${answer?.error}`);
  const on = await settled(sup.pid);
  console.log(
    `HTTP on, no request yet: RSS ${mib(on.rss)} MiB (${sign(on.rss - before.rss)}), USS ${
      mib(on.uss)
    } MiB (${sign(on.uss - before.uss)})`,
  );
  const url = `http://127.0.0.1:${port}`;
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    const r = await fetch(`${url}/metrics`);
    const text = await r.text();
    times.push(performance.now() - t0);
    bytes = text.length;
    if (!text.includes(`pidkit_service_up{service="s${SERVICES - 1}"} 1`)) {
      throw new Error("a scrape without every service");
    }
  }
  const floor: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await (await fetch(`${url}/no-such-page`)).text();
    floor.push(performance.now() - t0);
  }
  console.log(
    `a 404 (the HTTP path alone): median ${pct(floor, 0.5).toFixed(1)} ms, p95 ${
      pct(floor, 0.95).toFixed(1)
    } ms`,
  );
  await (await fetch(`${url}/api/services`)).text();
  await (await fetch(`${url}/`)).text();
  const events = new AbortController();
  const stream = fetch(`${url}/events`, { signal: events.signal }).then(async (r) => {
    const reader = r.body!.getReader();
    let n = 0;
    try {
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
        n++;
      }
    } catch { /* aborted */ }
    return n;
  });
  await sleep(5000);
  events.abort();
  const chunks = await stream;
  const after = await settled(sup.pid);
  console.log(
    `/metrics of ${SERVICES} services (${(bytes / 1024).toFixed(0)} KiB), ${SCRAPES} scrapes ` +
      `back to back (each its own look): ` +
      `median ${pct(times, 0.5).toFixed(1)} ms, p95 ${pct(times, 0.95).toFixed(1)} ms, ` +
      `max ${Math.max(...times).toFixed(1)} ms`,
  );
  console.log(`event stream: ${chunks} chunk(s) in 5 s`);
  // A steady scraper (every 2.5 s, as Prometheus scrapes at its interval).
  const steady: number[] = [];
  const cpu0 = cpuMs(sup.pid);
  for (let i = 0; i < STEADY; i++) {
    await sleep(2500);
    const t0 = performance.now();
    await (await fetch(`${url}/metrics`)).text();
    steady.push(performance.now() - t0);
  }
  console.log(
    `a steady scraper (every 2.5 s, ${STEADY} scrapes; its look is taken just ahead): median ${
      pct(steady.slice(1), 0.5).toFixed(1)
    } ms, max ${Math.max(...steady.slice(1)).toFixed(1)} ms (first ${
      steady[0].toFixed(1)
    } ms); the supervisor's CPU ${((cpuMs(sup.pid) - cpu0) / STEADY).toFixed(0)} ms per ` +
      `2.5 s (the scrape, and its supervising meanwhile)`,
  );
  console.log(
    `with HTTP, after the scrapes: RSS ${mib(after.rss)} MiB (${
      after.rss >= before.rss ? "+" : ""
    }${mib(after.rss - before.rss)}), USS ${mib(after.uss)} MiB (${
      after.uss >= before.uss ? "+" : ""
    }${mib(after.uss - before.uss)}); ${await heap()}`,
  );
} finally {
  sup.kill("SIGTERM");
  await sup.status;
  await reading;
  Deno.removeSync(TMP, { recursive: true });
}
