/**
 * Running the real CLI in torture scenarios, and cleaning up everything a
 * scenario's services left: supervisors and trees recorded from the state
 * files (start-time checked), then any process still carrying the
 * scenario's unique PIDKIT_SERVICE prefix -- each such survivor is itself a
 * violation (a leak), killed by the PID and start time just read.
 *
 * @module
 */

import { CLI, startTimeOf } from "../_util/helpers.ts";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";
import type { Tally } from "./harness.ts";
import { type Output, run, sleep } from "./util.ts";

/**
 * Spawn `pidkit ARGS` without waiting for it (e.g. `pidkit supervise` in the
 * foreground): the caller ends it by its PID. Output piped.
 */
export function spawnPidkit(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...tmpEnv(args) },
  }).spawn();
}

/** Run `pidkit ARGS` (deno run -A cli.ts); killed after `timeoutMs`. */
export function pidkit(args: string[], options: { timeoutMs?: number } = {}): Promise<Output> {
  return run([Deno.execPath(), "run", "-A", "--quiet", CLI, ...args], {
    timeoutMs: options.timeoutMs ?? 60_000,
    env: { NO_COLOR: "1", ...tmpEnv(args) },
  });
}

/**
 * TMPDIR inside the run dir (removed with the scenario's temporary dir): a
 * supervisor SIGKILLed while it spawns leaves its start-gate directory
 * behind, and the suite must leave nothing in /tmp.
 */
function tmpEnv(args: string[]): Record<string, string> {
  const i = args.indexOf("--dir");
  if (i < 0 || i + 1 >= args.length) return {};
  const dir = args[i + 1];
  try {
    const st = Deno.statSync(dir);
    if (st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o022) !== 0) return {};
    Deno.mkdirSync(`${dir}/.tmp`, { recursive: true, mode: 0o700 });
    return { TMPDIR: `${dir}/.tmp` };
  } catch {
    return {};
  }
}

/** A unique service-name prefix for one scenario run. */
export function uniquePrefix(tag: string): string {
  return `t${tag}${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}

/** PIDs of live processes whose environment has PIDKIT_SERVICE=<prefix...>. */
export function markedProcesses(prefix: string): number[] {
  return [...markers(prefix).keys()];
}

/**
 * Live processes whose environment has PIDKIT_SERVICE=<prefix...>, each with
 * its marker (the whole value, `NAME:NONCE`: one marker is one tree).
 */
export function markers(prefix: string): Map<number, string> {
  const needle = new TextEncoder().encode(`PIDKIT_SERVICE=${prefix}`);
  const found = new Map<number, string>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const marker = markerIn(Number(e.name), needle);
    if (marker !== undefined && startTimeOf(Number(e.name)) !== undefined) {
      found.set(Number(e.name), marker);
    }
  }
  return found;
}

/**
 * {@linkcode markers}, cheap enough to call every 20 ms: a process's
 * environment is read once. A process seen unmarked once it is a second old
 * is not read again (a fork of the supervisor carries the marker only from
 * its exec on, within milliseconds); entries go as their PID leaves /proc
 * (a PID comes back only after pid_max others, never between two scans).
 */
export class MarkerScanner {
  readonly #needle: Uint8Array;
  readonly #marked = new Map<number, string>();
  readonly #unmarked = new Set<number>();

  constructor(prefix: string) {
    this.#needle = new TextEncoder().encode(`PIDKIT_SERVICE=${prefix}`);
  }

  /** Live (not zombie) marked processes now, with their markers. */
  scan(): Map<number, string> {
    const now = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]) * 100;
    const seen = new Set<number>();
    const found = new Map<number, string>();
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      const pid = Number(e.name);
      seen.add(pid);
      if (this.#unmarked.has(pid)) continue;
      const start = startTimeOf(pid);
      if (start === undefined) continue;
      let marker = this.#marked.get(pid);
      if (marker === undefined) {
        marker = markerIn(pid, this.#needle);
        if (marker === undefined) {
          if (now - start > 100) this.#unmarked.add(pid);
          continue;
        }
        this.#marked.set(pid, marker);
      }
      found.set(pid, marker);
    }
    for (const pid of this.#unmarked) if (!seen.has(pid)) this.#unmarked.delete(pid);
    for (const pid of this.#marked.keys()) if (!seen.has(pid)) this.#marked.delete(pid);
    return found;
  }
}

/** The marker in the environment of `pid` when it starts with the needle's prefix. */
function markerIn(pid: number, needle: Uint8Array): string | undefined {
  let env: Uint8Array;
  try {
    env = Deno.readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const at = indexOf(env, needle);
  if (at < 0) return undefined;
  const from = at + "PIDKIT_SERVICE=".length;
  const end = env.indexOf(0, from);
  return new TextDecoder().decode(env.subarray(from, end < 0 ? undefined : end));
}

/** The service name in a marker `NAME:NONCE`. */
export function markerName(marker: string): string {
  return marker.slice(0, marker.lastIndexOf(":"));
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    if (i > 0 && hay[i - 1] !== 0) continue; // match at the start of an entry only
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Supervisors and trees recorded from a run dir's state files, killed on dispose. */
export class ServiceReaper implements AsyncDisposable {
  readonly dir: string;
  readonly prefix: string;
  readonly supervisors = new Map<number, number>();
  readonly trees = new Map<number, { start: number; cgroup?: string }>();
  /** Every cgroup a recorded tree had, even when its leader is gone. */
  readonly cgroupsSeen = new Set<string>();
  #tally?: Tally;

  constructor(dir: string, prefix: string, tally?: Tally) {
    this.dir = dir;
    this.prefix = prefix;
    this.#tally = tally;
  }

  /** Record every supervisor and tree the state files in the dir name now. */
  record(): void {
    this.recordResident();
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(this.dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.name.endsWith(".json") || e.name.startsWith(".")) continue;
      let state;
      try {
        state = readServiceRecordSync(`${this.dir}/${e.name}`);
      } catch {
        continue;
      }
      if (!state) continue;
      const sup = state.supervisor;
      if (sup && startTimeOf(sup.pid) === sup.startTime) {
        this.supervisors.set(sup.pid, sup.startTime);
      }
      const t = state.tree;
      if (t?.cgroupPath) this.cgroupsSeen.add(t.cgroupPath);
      if (t && startTimeOf(t.pid) === t.startTime) {
        this.trees.set(t.pid, { start: t.startTime, cgroup: t.cgroupPath });
      }
    }
  }

  /**
   * The resident supervisor DIR/supervisor.lock names, when it is one (its
   * command line is pidkit's `__supervise DIR` or `supervise --dir DIR`): a
   * killed one leaves its PID in the file, and that PID may be reused.
   */
  recordResident(): void {
    const resident = residentOf(this.dir);
    if (resident) this.supervisors.set(...resident);
  }

  /** SIGKILL recorded supervisors and trees; then marked leftovers (counted as leaks). */
  async killAll(): Promise<number> {
    this.record();
    for (const [pid, start] of this.supervisors) kill(pid, start);
    for (const [pid, { start, cgroup }] of this.trees) {
      if (cgroup) {
        try {
          Deno.writeTextFileSync(`${cgroup}/cgroup.kill`, "1");
        } catch { /* gone */ }
      }
      if (startTimeOf(pid) === start) killGroup(pid);
    }
    await new Promise((r) => setTimeout(r, 50));
    let leaks = 0;
    for (let i = 0; i < 3; i++) {
      const left = markedProcesses(this.prefix);
      if (left.length === 0) break;
      if (i === 0) leaks = left.length;
      for (const p of left) {
        const start = startTimeOf(p);
        if (start !== undefined) kill(p, start);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return leaks;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const leaks = await this.killAll();
    if (leaks > 0) this.#tally?.violation(`${leaks} service processes left behind at the end`);
    const cgroups = [...this.trees.values()].flatMap((t) => t.cgroup ? [t.cgroup] : []);
    removeCgroups(this.prefix, [...cgroups, ...this.cgroupsSeen]);
  }
}

/** The resident supervisor DIR/supervisor.lock names, alive: [pid, start time]. */
export function residentOf(dir: string): [number, number] | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(`${dir}/supervisor.lock`).trim());
    if (!(pid > 0)) return undefined;
    const start = startTimeOf(pid);
    return start !== undefined && isResident(pid, dir) ? [pid, start] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs pidkit's resident supervisor of `dir`. */
export function isResident(pid: number, dir: string): boolean {
  let argv: string[];
  try {
    argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  } catch {
    return false;
  }
  return argv.includes(dir) && (argv.includes("__supervise") || argv.includes("supervise"));
}

function kill(pid: number, start: number): void {
  if (startTimeOf(pid) !== start) return;
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* gone */ }
}

function killGroup(pgid: number): void {
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch { /* gone */ }
}

/** Remove empty cgroups named `<prefix>...` beside the ones recorded. */
function removeCgroups(prefix: string, recorded: string[]): void {
  const bases = new Set(recorded.map((c) => c.slice(0, c.lastIndexOf("/"))));
  for (const base of bases) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(base)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory || !e.name.startsWith(prefix)) continue;
      try {
        Deno.removeSync(`${base}/${e.name}`);
      } catch { /* still populated, or gone */ }
    }
  }
}

/** The proportional set size of `pid` in KiB (/proc/PID/smaps_rollup), or 0. */
export function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * The unique set size of `pid` in KiB (its private pages, from
 * /proc/PID/smaps_rollup), or 0: unlike PSS, it does not depend on how many
 * other processes map the same binary.
 */
export function ussKiB(pid: number): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
    return field("Private_Clean") + field("Private_Dirty");
  } catch {
    return 0;
  }
}

/** The resident set size of `pid` in KiB, or 0. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Counts, for every service name, the trees (markers) alive at one moment.
 * A scan of /proc is not atomic: two markers count only when a process of
 * each is still alive after the scan that found both (so they overlapped).
 */
export class InstanceSampler {
  readonly scanner: MarkerScanner;
  readonly doubles = new Map<string, number>();
  scans = 0;
  #on = true;

  constructor(prefix: string) {
    this.scanner = new MarkerScanner(prefix);
  }

  stop(): void {
    this.#on = false;
  }

  async run(): Promise<void> {
    while (this.#on) {
      const found = new Map<string, Map<string, [number, number][]>>();
      this.scans++;
      for (const [pid, m] of this.scanner.scan()) {
        const start = startTimeOf(pid);
        if (start === undefined) continue;
        const name = markerName(m);
        const trees = found.get(name) ?? new Map<string, [number, number][]>();
        trees.set(m, [...(trees.get(m) ?? []), [pid, start]]);
        found.set(name, trees);
      }
      for (const [name, trees] of found) {
        if (trees.size < 2) continue;
        const alive = [...trees.values()].filter((ps) =>
          ps.some(([p, t]) => startTimeOf(p) === t)
        ).length;
        if (alive > 1) this.doubles.set(name, Math.max(alive, this.doubles.get(name) ?? 0));
      }
      await sleep(20);
    }
  }
}
