/**
 * Test support for the CLI's running commands: a run dir whose services are
 * all ended (by the supervisor and tree PIDs and process groups their state
 * files record) when the test ends, unique service names, and a check for
 * processes left with a service's marker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readServiceRecord, type ServiceRecord } from "../../src/service/model/service_record.ts";
import {
  alive,
  type CliResult,
  Reaper,
  runCli,
  type RunCliOptions,
  type TempDir,
  tempDir,
} from "./helpers.ts";

let counter = 0;
// `deno test --parallel` runs test files as workers of one process: they share
// Deno.pid, and each file counts from 1, so the PID alone made the same name in
// two files at once (two `orphan-PID-1` services in different run dirs, and one
// test's marker scan saw the other's tree). A random token per file does not.
const fileToken = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
/** A name no other test (file) uses at the same time. */
export function uniqueName(base: string): string {
  return `${base}-${fileToken}-${++counter}`;
}

/**
 * The services of one run dir; on dispose, every supervisor and tree their
 * state files recorded is killed (by PID and group, start times checked,
 * through a {@linkcode Reaper}) and their cgroups removed.
 */
export class Services implements AsyncDisposable {
  readonly dir: TempDir;
  readonly #reaper = new Reaper();

  /** Environment of every command (and so of the supervisor they launch). */
  readonly env: Record<string, string>;

  constructor(options: { env?: Record<string, string> } = {}) {
    this.dir = tempDir("pidkit-life-");
    this.env = options.env ?? {};
  }

  /** Run the CLI with `PIDKIT_DIR` set to this run dir. */
  cli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
    return runCli(args, {
      ...options,
      env: { PIDKIT_DIR: this.dir.path, ...this.env, ...options.env },
    });
  }

  /** `pidkit start NAME OPTIONS... -- COMMAND...`, which must succeed; the service's state. */
  async start(name: string, options: string[], command: string[]): Promise<ServiceRecord> {
    const r = await this.cli(["start", name, ...options, "--", ...command]);
    if (r.code !== 0) {
      // The service log says what the supervisor saw (a message ignored, a timeout).
      const log = await Deno.readTextFile(this.dir.join(`${name}.log`)).catch(() => "(no log)");
      assert.fail(`pidkit start ${name} exited ${r.code}: ${r.stderr}\nservice log:\n${log}`);
    }
    return await this.state(name);
  }

  async state(name: string): Promise<ServiceRecord> {
    const s = await readServiceRecord(this.dir.join(`${name}.json`));
    assert.ok(s, `no state for ${name}`);
    this.record(s);
    return s;
  }

  /** The PID `DIR/supervisor.lock` names (the run dir's resident supervisor), if any. */
  supervisorPid(): number | undefined {
    try {
      const pid = Number(Deno.readTextFileSync(this.dir.join("supervisor.lock")).trim());
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remember one more process to kill at the end (its start time is read now). */
  pid(pid: number): void {
    this.#reaper.pid(pid);
  }

  /** Remember the supervisor and tree of `s`, with the start times it recorded. */
  record(s: ServiceRecord): void {
    this.#reaper.pid(s.supervisor.pid, s.supervisor.startTime);
    // A tree spawned but not yet recorded (its supervisor killed meanwhile):
    // found by the marker recorded before the spawn.
    if (s.spawning) {
      for (const pid of markedProcesses(s.spawning.split(":")[0])) this.#reaper.pid(pid);
    }
    if (s.tree) {
      this.#reaper.group(s.tree.pgid, s.tree.startTime);
      this.#reaper.pid(s.tree.pid, s.tree.startTime);
      if (s.tree.cgroupPath) this.#reaper.cgroups.add(s.tree.cgroupPath);
    }
  }

  /** Record whatever the state files in the dir name. */
  async recordAll(): Promise<void> {
    // The run dir's resident supervisor (its PID file names it while it runs).
    const supervisor = this.supervisorPid();
    if (supervisor !== undefined && supervisor > 1) this.#reaper.pid(supervisor);
    for (const e of Deno.readDirSync(this.dir.path)) {
      if (!e.name.endsWith(".json")) continue;
      const s = await readServiceRecord(this.dir.join(e.name)).catch(() => undefined);
      if (s) this.record(s);
    }
  }

  /** Kill every supervisor and tree recorded (the dir stays: a mount on it can go first). */
  async killAll(): Promise<void> {
    await this.recordAll().catch(() => {});
    // Trees no record names (a record that could not be written, or was removed).
    const entry = `PIDKIT_RUN_DIR=${this.dir.path}`;
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const env = Deno.readTextFileSync(`/proc/${e.name}/environ`).split("\0");
        if (env.includes(entry)) this.#reaper.pid(Number(e.name));
      } catch { /* gone or not readable */ }
    }
    await this.#reaper[Symbol.asyncDispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.killAll();
    this.dir[Symbol.dispose]();
  }
}

/** Live processes whose environment carries PIDKIT_SERVICE=<name>:... (checking only). */
export function markedProcesses(name: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = Deno.readTextFileSync(`/proc/${e.name}/environ`);
      if (env.split("\0").some((kv) => kv.startsWith(`PIDKIT_SERVICE=${name}:`))) {
        if (alive(Number(e.name))) out.push(Number(e.name));
      }
    } catch { /* gone or not readable */ }
  }
  return out;
}
