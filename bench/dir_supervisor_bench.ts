/**
 * The resident supervisor of a run directory (issue 13), side by side in one
 * run:
 *
 * 1. memory: N services (`sleep 1000`, `--ready-after 0`) in one run dir:
 *    PSS, USS and RSS of pidkit's own processes (the supervisor of
 *    `DIR/supervisor.lock` and any descendant that is not a service) 3 s
 *    after the last start, and the supervisor's own `{op:"hello"}` memory;
 *    at 10 services, at N, and at N adopted (the supervisor SIGKILLed, a new
 *    one adopted them). Beside it pm2 (when /opt/pm2bench has it, in a
 *    private PM2_HOME): its God daemon and non-app descendants with 10 and
 *    N apps;
 * 2. latency against the runtime floor (`deno run` of an empty script, the
 *    CLI's own flags), interleaved, medians: `start --ready-after 0` with the
 *    supervisor up and holding N services, `status`, `stop` (the service
 *    obeys TERM at once), `list` of the N;
 * 3. re-adoption: N orphaned services (supervisor SIGKILLed); from
 *    launching `pidkit start extra` until it returns, and until
 *    `list --json` shows all N running under the new supervisor.
 *
 * PSS divides a page among the processes that map it: the deno binary's
 * text the supervisor touches is shared with this benchmark (a deno process
 * too) and with any other deno running, while pm2's node usually has its
 * binary to itself, so PSS flatters pidkit. "PSS binary whole" counts the
 * runtime binary's mappings whole (their RSS) for both: the fair figure.
 * USS (private pages) and RSS are printed beside it.
 *
 *   deno run -A bench/dir_supervisor_bench.ts [--services 200] [--runs 21] [--adopt-runs 3]
 *
 * Every process it starts is ended by the PIDs, start times, process groups
 * and markers the run dir's records (and pm2's pid file and app list) name;
 * its temp dirs are removed.
 *
 * @module
 */

import { askSupervisor } from "../src/service/control/supervisor_client.ts";
import { readProcStat } from "../src/os/proc.ts";

// ---------------------------------------------------------------- options

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(Deno.args[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name}: a positive integer`);
  return value;
}
const SERVICES = option("services", 200);
const RUNS = option("runs", 21);
const ADOPT_RUNS = option("adopt-runs", 3);
const SMALL = Math.min(10, SERVICES);
const SETTLE_MS = 3000;
const WARMUP = 2;
const START_CONCURRENCY = 4;
const PM2 = "/opt/pm2bench/node_modules/.bin/pm2";
/** `sleep` as found on PATH (pm2 wants the file, not a name to look up). */
const SLEEP = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").map((d) => `${d}/sleep`)
  .find((f) => {
    try {
      return Deno.statSync(f).isFile;
    } catch {
      return false;
    }
  }) ?? "/bin/sleep";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
/** The flags the CLI runs itself with (src/os/self_exec.ts), for the floor too. */
const DENO_FLAGS = ["run", "-A", "--no-config", "--quiet"];
const TMP = Deno.makeTempDirSync({ prefix: "pidkit-bench-dirsup-" });
const RUN_DIR = `${TMP}/run`;
Deno.mkdirSync(RUN_DIR);
const EMPTY = `${TMP}/empty.ts`;
Deno.writeTextFileSync(EMPTY, "");

// ---------------------------------------------------------------- small helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const decoder = new TextDecoder();

interface Ran {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `argv` to its end; wall time from spawn to exit. */
async function run(argv: string[], env: Record<string, string> = {}): Promise<Ran> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  return {
    ms,
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** `run` that must exit 0. */
async function must(argv: string[], env: Record<string, string> = {}): Promise<Ran> {
  const r = await run(argv, env);
  if (r.code !== 0) {
    throw new Error(`${argv.slice(-6).join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
  }
  return r;
}

const pidkit = (...args: string[]) => [DENO, ...DENO_FLAGS, CLI, ...args];
const floorArgv = [DENO, ...DENO_FLAGS, EMPTY];
const ENV = { PIDKIT_DIR: RUN_DIR };

// ---------------------------------------------------------------- /proc

/** Alive (not a zombie), and the same process when `startTime` is given. */
function alive(pid: number, startTime?: number): boolean {
  const s = readProcStat(pid);
  return s !== undefined && s.state !== "Z" &&
    (startTime === undefined || s.startTime === startTime);
}

async function waitDead(pid: number, startTime: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (alive(pid, startTime)) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

function numericDirs(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) if (/^\d+$/.test(e.name)) out.push(Number(e.name));
  return out;
}

/** The value of PIDKIT_SERVICE in a process's environment (services carry it). */
function serviceMarker(pid: number): string | undefined {
  try {
    const env = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
    return env.find((kv) => kv.startsWith("PIDKIT_SERVICE="))?.slice("PIDKIT_SERVICE=".length);
  } catch {
    return undefined;
  }
}

/** `root` and its live descendants, without the subtrees `exclude` says to leave out. */
function ownProcesses(root: number, exclude: (pid: number) => boolean): number[] {
  const children = new Map<number, number[]>();
  for (const pid of numericDirs()) {
    const s = readProcStat(pid);
    if (!s || s.state === "Z") continue;
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    if (pid !== root && exclude(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

interface Memory {
  processes: number;
  pssKiB: number;
  /**
   * PSS with the runtime binary's own mappings counted whole (their RSS): as
   * if no other deno (or node) process shared its text.
   */
  pssSoloKiB: number;
  ussKiB: number;
  rssKiB: number;
  /** Of RSS: the runtime binary's mappings. */
  binaryRssKiB: number;
}

function smapsRollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`).split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** RSS and PSS of the mappings of the process's own executable, kB. */
function binaryMappings(pid: number): { rss: number; pss: number } {
  const exe = Deno.readLinkSync(`/proc/${pid}/exe`);
  const out = { rss: 0, pss: 0 };
  let inExe = false;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      inExe = header[1] === exe;
      continue;
    }
    if (!inExe) continue;
    const m = /^(Rss|Pss):\s+(\d+) kB/.exec(line);
    if (m) out[m[1] === "Rss" ? "rss" : "pss"] += Number(m[2]);
  }
  return out;
}

function memoryOf(pids: number[]): Memory {
  const m: Memory = {
    processes: 0,
    pssKiB: 0,
    pssSoloKiB: 0,
    ussKiB: 0,
    rssKiB: 0,
    binaryRssKiB: 0,
  };
  for (const pid of pids) {
    let s: Record<string, number>;
    let exe: { rss: number; pss: number };
    try {
      s = smapsRollup(pid);
      exe = binaryMappings(pid);
    } catch {
      continue; // gone meanwhile
    }
    m.processes++;
    m.pssKiB += s.Pss;
    m.pssSoloKiB += s.Pss - exe.pss + exe.rss;
    m.ussKiB += s.Private_Clean + s.Private_Dirty;
    m.rssKiB += s.Rss;
    m.binaryRssKiB += exe.rss;
  }
  return m;
}

// ---------------------------------------------------------------- pidkit's run dir

interface Recorded {
  supervisors: Map<number, number>; // pid -> start time
  groups: Map<number, number>; // pgid -> leader start time
  leaders: Map<number, number>; // pid -> start time
  markers: Set<string>;
  cgroups: Set<string>;
}

const recorded: Recorded = {
  supervisors: new Map(),
  groups: new Map(),
  leaders: new Map(),
  markers: new Set(),
  cgroups: new Set(),
};

function supervisorPid(): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(`${RUN_DIR}/supervisor.lock`).trim());
    return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

interface RecordFile {
  supervisor?: { pid: number; startTime: number };
  tree?: { pid: number; startTime: number; pgid: number; marker: string; cgroupPath?: string };
  spawning?: string;
}

function readRecord(name: string): RecordFile | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${RUN_DIR}/${name}.json`));
  } catch {
    return undefined;
  }
}

/** Remember what the run dir names now: the supervisor, every tree, marker and cgroup. */
function recordRunDir(): void {
  const sup = supervisorPid();
  if (sup !== undefined && !recorded.supervisors.has(sup)) {
    const s = readProcStat(sup);
    if (s) recorded.supervisors.set(sup, s.startTime);
  }
  for (const e of Deno.readDirSync(RUN_DIR)) {
    if (!e.name.endsWith(".json")) continue;
    const r = readRecord(e.name.slice(0, -5));
    if (r?.supervisor) recorded.supervisors.set(r.supervisor.pid, r.supervisor.startTime);
    if (r?.spawning) recorded.markers.add(r.spawning);
    if (r?.tree) {
      recorded.groups.set(r.tree.pgid, r.tree.startTime);
      recorded.leaders.set(r.tree.pid, r.tree.startTime);
      recorded.markers.add(r.tree.marker);
      if (r.tree.cgroupPath) recorded.cgroups.add(r.tree.cgroupPath);
    }
  }
}

/**
 * End the run dir: SIGTERM its live supervisor (it stops its services and
 * exits), SIGKILL what is left of every recorded supervisor, group, leader
 * and marked process, remove the recorded cgroups that remain.
 */
async function endRunDir(): Promise<void> {
  try {
    recordRunDir();
  } catch { /* the dir is gone already */ }
  const sup = supervisorPid();
  if (
    sup !== undefined && recorded.supervisors.has(sup) && alive(sup, recorded.supervisors.get(sup))
  ) {
    Deno.kill(sup, "SIGTERM");
    await waitDead(sup, recorded.supervisors.get(sup)!, 30_000);
  }
  const kill = (target: number) => {
    try {
      Deno.kill(target, "SIGKILL");
    } catch { /* gone */ }
  };
  for (const [pid, start] of recorded.supervisors) if (alive(pid, start)) kill(pid);
  for (const [pgid, start] of recorded.groups) if (alive(pgid, start)) kill(-pgid);
  for (const [pid, start] of recorded.leaders) if (alive(pid, start)) kill(pid);
  if (recorded.markers.size) {
    for (const pid of numericDirs()) {
      const marker = serviceMarker(pid);
      if (marker !== undefined && recorded.markers.has(marker) && alive(pid)) kill(pid);
    }
  }
  for (const path of recorded.cgroups) {
    for (let i = 0; i < 100; i++) {
      try {
        await Deno.remove(path);
        break;
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) break;
        try {
          await Deno.writeTextFile(`${path}/cgroup.kill`, "1");
        } catch { /* no cgroup.kill */ }
        await sleep(10);
      }
    }
  }
}

async function startService(name: string): Promise<void> {
  await must(pidkit("start", name, "--ready-after", "0", "--", "sleep", "1000"), ENV);
}

/** Start services `from`..`to-1` (names s000...), a few at a time. */
async function startServices(from: number, to: number): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) await startService(serviceName(next++));
  };
  await Promise.all(Array.from({ length: START_CONCURRENCY }, worker));
  recordRunDir();
}

const serviceName = (i: number) => `s${String(i).padStart(3, "0")}`;

interface Hello {
  ok: boolean;
  pid: number;
  services: string[];
  memory: { rss: number; heapTotal: number; heapUsed: number; external: number };
}

interface PidkitMemory extends Memory {
  services: number;
  supervisorPid: number;
  hello: Hello["memory"] & { services: number };
}

async function pidkitMemory(): Promise<PidkitMemory> {
  const sup = supervisorPid();
  if (sup === undefined) throw new Error("no supervisor.lock");
  const own = ownProcesses(sup, (pid) => serviceMarker(pid) !== undefined);
  const m = memoryOf(own);
  const hello = await askSupervisor<Hello>(RUN_DIR, { op: "hello" }, { launch: false });
  if (!hello?.ok) throw new Error(`hello: ${JSON.stringify(hello)}`);
  return {
    ...m,
    services: hello.services.length,
    supervisorPid: sup,
    hello: { ...hello.memory, services: hello.services.length },
  };
}

interface ListJson {
  services: { name: string; state: string }[];
}

async function listJson(): Promise<{ ms: number; list: ListJson }> {
  const r = await must(pidkit("list", "--json"), ENV);
  return { ms: r.ms, list: JSON.parse(r.stdout) };
}

// ---------------------------------------------------------------- pm2

interface Pm2Figures {
  version: string;
  node: string;
  small: Memory & { apps: number };
  large: Memory & { apps: number };
}

const pm2Recorded = {
  daemon: undefined as [number, number] | undefined,
  apps: new Map<number, number>(),
};
let pm2Home: string | undefined;

function pm2Env(): Record<string, string> {
  return { PM2_HOME: pm2Home! };
}

interface Pm2App {
  pid: number;
  name: string;
  pm2_env?: { status?: string };
}

async function pm2Apps(): Promise<Pm2App[]> {
  const r = await must([PM2, "jlist"], pm2Env());
  const apps: Pm2App[] = JSON.parse(r.stdout.slice(r.stdout.indexOf("[")));
  for (const a of apps) {
    const s = a.pid > 0 ? readProcStat(a.pid) : undefined;
    if (s) pm2Recorded.apps.set(a.pid, s.startTime);
  }
  return apps;
}

function pm2Daemon(): number {
  const pid = Number(Deno.readTextFileSync(`${pm2Home}/pm2.pid`).trim());
  const s = readProcStat(pid);
  if (!s) throw new Error(`pm2 daemon ${pid} not found`);
  pm2Recorded.daemon = [pid, s.startTime];
  return pid;
}

async function pm2StartApps(from: number, to: number): Promise<void> {
  const apps = [];
  for (let i = from; i < to; i++) {
    apps.push({
      name: serviceName(i),
      script: SLEEP,
      args: ["1000"],
      interpreter: "none",
      autorestart: false,
    });
  }
  const file = `${TMP}/pm2-${from}-${to}.json`;
  await Deno.writeTextFile(file, JSON.stringify({ apps }));
  await must([PM2, "start", file], pm2Env());
  const deadline = performance.now() + 60_000;
  for (;;) {
    const online = (await pm2Apps()).filter((a) => a.pm2_env?.status === "online").length;
    if (online >= to) break;
    if (performance.now() > deadline) throw new Error(`pm2: ${online} of ${to} apps online`);
    await sleep(200);
  }
}

async function pm2Memory(): Promise<Memory & { apps: number }> {
  const daemon = pm2Daemon();
  const apps = await pm2Apps();
  const appPids = new Set(apps.map((a) => a.pid));
  return { ...memoryOf(ownProcesses(daemon, (pid) => appPids.has(pid))), apps: apps.length };
}

async function endPm2(): Promise<void> {
  if (pm2Home === undefined) return;
  if (!pm2Recorded.daemon) {
    try {
      pm2Daemon();
    } catch { /* never started */ }
  }
  // Any pm2 command starts a daemon when none runs: ask only a live one.
  if (pm2Recorded.daemon && alive(...pm2Recorded.daemon)) {
    await pm2Apps().catch(() => {});
    await run([PM2, "kill"], pm2Env()).catch(() => {});
  }
  const kill = (pid: number, start: number) => {
    if (!alive(pid, start)) return;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  };
  if (pm2Recorded.daemon) kill(...pm2Recorded.daemon);
  for (const [pid, start] of pm2Recorded.apps) kill(pid, start);
  pm2Home = undefined;
}

async function pm2Figures(): Promise<Pm2Figures | string> {
  try {
    await Deno.stat(PM2);
  } catch {
    return `${PM2} not found (npm install --prefix /opt/pm2bench pm2)`;
  }
  pm2Home = `${TMP}/pm2home`;
  // From its package.json: `pm2 --version` would start a daemon.
  const pkg = `${PM2.slice(0, PM2.indexOf(".bin/"))}pm2/package.json`;
  const version = JSON.parse(await Deno.readTextFile(pkg)).version as string;
  const node = (await must(["node", "--version"])).stdout.trim();
  await pm2StartApps(0, SMALL);
  await sleep(SETTLE_MS);
  const small = await pm2Memory();
  await pm2StartApps(SMALL, SERVICES);
  await sleep(SETTLE_MS);
  const large = await pm2Memory();
  await endPm2();
  return { version, node, small, large };
}

// ---------------------------------------------------------------- the run

let ended = false;
async function endAll(): Promise<void> {
  if (ended) return;
  ended = true;
  await endRunDir().catch((err) => console.error(`cleanup: ${err}`));
  await endPm2().catch((err) => console.error(`pm2 cleanup: ${err}`));
  await Deno.remove(TMP, { recursive: true });
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    console.error(`${sig}: cleaning up`);
    endAll().finally(() => Deno.exit(130));
  });
}

/** Wall time, the command's CPU time and the supervisor's CPU time meanwhile, per run. */
interface Samples {
  ms: number[];
  cpuMs: number[];
  supervisorCpuMs: number[];
}

/**
 * CPU time (ms, 10 ms ticks) of this process's reaped children (cutime +
 * cstime): a command's CPU is the change across its run.
 */
function childrenCpuMs(): number {
  const s = Deno.readTextFileSync("/proc/self/stat");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** utime + stime of `pid`, ms (0 when it is gone). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Run `argv` (must exit 0), adding its figures to `into` when given. */
async function sample(argv: string[], env: Record<string, string>, into?: Samples): Promise<Ran> {
  const sup = supervisorPid();
  const cpu0 = childrenCpuMs();
  const sup0 = cpuMs(sup);
  const r = await must(argv, env);
  into?.ms.push(r.ms);
  into?.cpuMs.push(childrenCpuMs() - cpu0);
  into?.supervisorCpuMs.push(cpuMs(sup) - sup0);
  return r;
}

const samples = (): Samples => ({ ms: [], cpuMs: [], supervisorCpuMs: [] });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Adoption {
  startReturnsMs: number;
  recordsMs: number;
  allRunningMs: number;
  lastListMs: number;
  orphanedSeen: number;
  adoptedByJournal: number | null;
}

const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const loadStart = loadavg();
const t0 = performance.now();
const progress = (what: string) =>
  console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);

try {
  // Warm the module cache for both.
  await must(floorArgv);
  await must(pidkit("--version"));

  // 1. Memory with SMALL, then SERVICES services.
  progress(`starting ${SERVICES} services in ${RUN_DIR}`);
  const tStart = performance.now();
  await startService(serviceName(0)); // launches the supervisor
  recordRunDir();
  await startServices(1, SMALL);
  await sleep(SETTLE_MS);
  const memSmall = await pidkitMemory();
  await startServices(SMALL, SERVICES);
  const startAllMs = performance.now() - tStart - SETTLE_MS;
  await sleep(SETTLE_MS);
  const memLarge = await pidkitMemory();

  // 2. Latency, interleaved, with SERVICES services held.
  progress(`latency: ${RUNS} runs (+${WARMUP} warm-up)`);
  const lat = {
    floor: samples(),
    start: samples(),
    status: samples(),
    stop: samples(),
    list: samples(),
  };
  const stopSupervisorMs: number[] = [];
  for (let r = 0; r < RUNS + WARMUP; r++) {
    const keep = r >= WARMUP;
    await sample(floorArgv, {}, keep ? lat.floor : undefined);
    await sample(
      pidkit("start", "x", "--ready-after", "0", "--", "sleep", "1000"),
      ENV,
      keep ? lat.start : undefined,
    );
    recordRunDir();
    await sample(pidkit("status", "x"), ENV, keep ? lat.status : undefined);
    const stop = await sample(pidkit("stop", "x", "--json"), ENV, keep ? lat.stop : undefined);
    await sample(pidkit("list"), ENV, keep ? lat.list : undefined);
    if (keep) stopSupervisorMs.push(JSON.parse(stop.stdout).durationMs ?? 0);
  }

  // 3. Re-adoption of SERVICES orphans, ADOPT_RUNS times.
  const names = Array.from({ length: SERVICES }, (_, i) => serviceName(i));
  const adoptions: Adoption[] = [];
  for (let round = 0; round < ADOPT_RUNS; round++) {
    progress(`re-adoption round ${round + 1} of ${ADOPT_RUNS}`);
    recordRunDir();
    const old = supervisorPid()!;
    const oldStart = readProcStat(old)!.startTime;
    Deno.kill(old, "SIGKILL");
    if (!await waitDead(old, oldStart, 5000)) throw new Error(`supervisor ${old} did not die`);
    const before = await listJson();
    const orphanedSeen = before.list.services.filter((s) => s.state === "orphaned").length;

    const tLaunch = performance.now();
    const extra = run(pidkit("start", "extra", "--ready-after", "0", "--", "sleep", "1000"), ENV);
    // Meanwhile, every 50 ms (light: 2 CPUs): do all N records name the new supervisor yet?
    let recordsMs = NaN;
    let startDone = false;
    const watch = (async () => {
      while (!startDone || Number.isNaN(recordsMs)) {
        const sup = supervisorPid();
        if (
          sup !== undefined && sup !== old &&
          names.every((n) => readRecord(n)?.supervisor?.pid === sup)
        ) {
          recordsMs = performance.now() - tLaunch;
          return;
        }
        if (performance.now() - tLaunch > 30_000) return;
        await sleep(50);
      }
    })();
    const started = await extra;
    const startReturnsMs = performance.now() - tLaunch;
    startDone = true;
    await watch;
    if (started.code !== 0) throw new Error(`start extra: ${started.stderr}`);
    let lastListMs = 0;
    let allRunningMs = NaN;
    while (performance.now() - tLaunch < 30_000) {
      const { ms, list } = await listJson();
      lastListMs = ms;
      const sup = supervisorPid();
      const running = new Set(
        list.services.filter((s) => s.state === "running").map((s) => s.name),
      );
      const all = names.every((n) => running.has(n) && readRecord(n)?.supervisor?.pid === sup);
      if (all) {
        allRunningMs = performance.now() - tLaunch;
        break;
      }
    }
    recordRunDir();
    const journal = Deno.readTextFileSync(`${RUN_DIR}/supervisor.journal`);
    const m = [...journal.matchAll(/listening; (\d+) orphaned service/g)].at(-1);
    adoptions.push({
      startReturnsMs,
      recordsMs,
      allRunningMs,
      lastListMs,
      orphanedSeen,
      adoptedByJournal: m ? Number(m[1]) : null,
    });
    await must(pidkit("stop", "extra"), ENV);
  }
  await sleep(SETTLE_MS);
  const memAdopted = await pidkitMemory();
  progress("stopping pidkit's services");
  await endRunDir();

  // pm2 beside it.
  progress("pm2");
  const pm2 = await pm2Figures();

  // ------------------------------------------------------------ report
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const floor = median(lat.floor.ms);
  const floorCpu = mean(lat.floor.cpuMs);
  const shutdown = median(stopSupervisorMs);
  console.log(
    `\nload average at the start: ${loadStart}, at the end: ${loadavg()}`,
  );
  console.log(
    `pidkit resident supervisor, ${SERVICES} services (sleep 1000), deno ${Deno.version.deno}, ` +
      `${navigator.hardwareConcurrency} CPUs; ${RUNS} runs, medians`,
  );
  console.log(
    `(starting all ${SERVICES}, ${START_CONCURRENCY} at a time: ${
      (startAllMs / 1000).toFixed(1)
    } s)`,
  );
  console.log(
    "\nmemory, 3 s after the last start (MiB; PSS/USS/RSS of the manager's own processes)",
  );
  const memHead = [
    "manager",
    "services",
    "procs",
    "PSS",
    "PSS binary whole",
    "USS",
    "RSS",
    "of it binary",
    "hello rss/heapUsed/heapTotal/ext",
  ];
  const memRows: string[][] = [];
  const memCells = (
    m: {
      processes: number;
      pssKiB: number;
      pssSoloKiB: number;
      ussKiB: number;
      rssKiB: number;
      binaryRssKiB: number;
    },
  ) => [`${m.processes}`, ...[m.pssKiB, m.pssSoloKiB, m.ussKiB, m.rssKiB, m.binaryRssKiB].map(mib)];
  const pidkitRow = (label: string, m: PidkitMemory) =>
    memRows.push([
      label,
      `${m.services}`,
      ...memCells(m),
      [m.hello.rss, m.hello.heapUsed, m.hello.heapTotal, m.hello.external]
        .map((b) => (b / 1048576).toFixed(1)).join(" / "),
    ]);
  pidkitRow("pidkit supervisor", memSmall);
  pidkitRow("pidkit supervisor", memLarge);
  pidkitRow("pidkit supervisor (adopted)", memAdopted);
  if (typeof pm2 === "string") {
    console.log(`pm2 skipped: ${pm2}`);
  } else {
    for (const m of [pm2.small, pm2.large]) {
      memRows.push([
        `pm2 ${pm2.version} God daemon`,
        `${m.apps}`,
        ...memCells(m),
        "-",
      ]);
    }
  }
  printTable(memHead, memRows);

  console.log(
    `\nlatency (wall: median of ${RUNS}; CPU: mean user+sys, 10 ms ticks; ` +
      `floor = deno ${DENO_FLAGS.join(" ")} empty.ts)`,
  );
  const latRows: string[][] = [];
  const verdicts: Record<string, { ms: number; ratio: number; target: string; holds: boolean }> =
    {};
  const latRow = (key: string, label: string, x: Samples, target: string, limit: number) => {
    const ms = median(x.ms);
    const holds = ms <= limit;
    verdicts[key] = { ms, ratio: ms / floor, target, holds };
    latRows.push([
      label,
      ms.toFixed(1),
      `${(ms / floor).toFixed(2)}x`,
      mean(x.cpuMs).toFixed(0),
      `${(mean(x.cpuMs) / floorCpu).toFixed(2)}x`,
      mean(x.supervisorCpuMs).toFixed(1),
      `${target} (${limit.toFixed(1)} ms)`,
      holds ? "yes" : "NO",
    ]);
  };
  latRows.push([
    "deno run empty.ts (floor)",
    floor.toFixed(1),
    "1.00x",
    floorCpu.toFixed(0),
    "1.00x",
    "-",
    "-",
    "-",
  ]);
  latRow("start", "start x --ready-after 0 -- sleep 1000", lat.start, "<= 1.5x floor", 1.5 * floor);
  // `sleep` dies on the TERM itself: its own shutdown is ~0 ms. The
  // supervisor's signal-to-gone time is pidkit's, so it is not added.
  latRow(
    "stop",
    `stop x (of it, supervisor TERM->gone ${shutdown.toFixed(1)} ms)`,
    lat.stop,
    "<= floor + 10 ms + shutdown (~0)",
    floor + 10,
  );
  latRow("status", "status x", lat.status, "<= 1.25x floor", 1.25 * floor);
  latRow("list", `list (${SERVICES} services)`, lat.list, "<= 150 ms", 150);
  printTable(
    [
      "command",
      "wall ms",
      "vs floor",
      "CPU ms",
      "vs floor",
      "supervisor CPU ms",
      "target (wall)",
      "holds",
    ],
    latRows,
  );

  console.log(`\nre-adoption of ${SERVICES} orphans (supervisor SIGKILLed), ${ADOPT_RUNS} rounds`);
  const adRows = adoptions.map((a, i) => [
    `${i + 1}`,
    `${a.orphanedSeen}`,
    `${a.adoptedByJournal ?? "?"}`,
    a.startReturnsMs.toFixed(0),
    a.recordsMs.toFixed(0),
    a.allRunningMs.toFixed(0),
    a.lastListMs.toFixed(0),
    a.allRunningMs <= 1000 ? "yes" : "NO",
  ]);
  const adMedian = median(adoptions.map((a) => a.allRunningMs));
  adRows.push([
    "median",
    "",
    "",
    median(adoptions.map((a) => a.startReturnsMs)).toFixed(0),
    median(adoptions.map((a) => a.recordsMs)).toFixed(0),
    adMedian.toFixed(0),
    median(adoptions.map((a) => a.lastListMs)).toFixed(0),
    adMedian <= 1000 ? "yes" : "NO",
  ]);
  printTable(
    [
      "round",
      "orphaned",
      "adopted (journal)",
      "start extra returns ms",
      "records name new sup ms",
      "list --json: all N running ms",
      "of it: last list ms",
      "<= 1 s",
    ],
    adRows,
  );
  verdicts.readoption = {
    ms: adMedian,
    ratio: adMedian / floor,
    target: "<= 1000 ms",
    holds: adMedian <= 1000,
  };

  const summary = {
    services: SERVICES,
    runs: RUNS,
    loadavg: { start: loadStart, end: loadavg() },
    deno: Deno.version.deno,
    memoryKiB: { pidkit: { small: memSmall, large: memLarge, adopted: memAdopted }, pm2 },
    startAllMs,
    latencyMs: Object.fromEntries(
      Object.entries(lat).map(([k, x]) => [k, {
        median: median(x.ms),
        cpuMean: mean(x.cpuMs),
        supervisorCpuMean: mean(x.supervisorCpuMs),
      }]),
    ),
    stopSupervisorMs: shutdown,
    readoption: adoptions,
    targets: verdicts,
  };
  console.log(`\nJSON ${JSON.stringify(summary)}`);
} finally {
  await endAll();
}

function printTable(head: string[], rows: string[][]): void {
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}
