// deno-lint-ignore-file no-sync-fn-in-async-fn -- fixtures are set up with single synchronous calls on purpose (a torture step must not yield between them)
/**
 * Hostile paths: the PID file path is a symlink (to a file, to a directory,
 * dangling), a FIFO, a directory, a hard link to another file, a file owned
 * by another user in a world-writable sticky directory; and a third party
 * keeps swapping the path between a symlink to a victim file, a hard link to
 * it and a plain file while we acquire. Every refusal must be a PidFileError
 * and nothing may ever be written through to the victim.
 *
 * @module
 */

import { Reaper, tempDir } from "../_util/helpers.ts";
import { AlreadyRunningError, PidFile, PidFileError, probe, readPidFile } from "../../mod.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { exists, isRoot, sleep } from "./util.ts";
import { markedProcesses, pidkit, uniquePrefix } from "./cli_util.ts";

const VICTIM = "VICTIM CONTENT\n";

export const hostilePaths: Scenario = {
  name: "hostile-paths",
  shows:
    "symlinks (to files, directories, nowhere), FIFOs, directories, hard links, foreign-owned " +
    "files in sticky dirs, and a path swapped under us: refused with a PidFileError, nothing " +
    "written through.",
  async run(options) {
    const tally = new Tally();
    await using dir = tempDir("pidkit-torture-");
    const n = rounds(options, 20, 2);
    for (let i = 0; i < n; i++) await staticCases(tally, dir.path, i);
    if (!isRoot()) tally.note("foreign-owner case skipped: not root (needs chown)");
    await swapper(tally, dir.path, rounds(options, 3000, 300));
    if (isRoot()) await foreignRunDirs(tally, dir.path);
    else tally.note("foreign run dir cases skipped: not root (needs chown)");
    return tally.result();
  },
};

interface Case {
  name: string;
  setup(path: string, victim: string, dir: string): void;
  /** What must be true afterwards besides "refused". */
  intact(victim: string, dir: string): string | undefined;
  root?: boolean;
}

function victimIntact(victim: string): string | undefined {
  const text = Deno.readTextFileSync(victim);
  return text === VICTIM ? undefined : `victim file now holds ${JSON.stringify(text.slice(0, 30))}`;
}

const CASES: Case[] = [
  {
    name: "symlink to a file",
    setup: (p, v) => Deno.symlinkSync(v, p),
    intact: victimIntact,
  },
  {
    name: "symlink to a directory",
    setup: (p, _v, d) => Deno.symlinkSync(d, p),
    intact: (_v, d) => [...Deno.readDirSync(d)].length === 0 ? undefined : "written into the dir",
  },
  {
    name: "dangling symlink",
    setup: (p, _v, d) => Deno.symlinkSync(`${d}/created-through-link`, p),
    intact: (_v, d) =>
      exists(`${d}/created-through-link`) ? "created the link's target" : undefined,
  },
  {
    name: "FIFO",
    setup: (p) => {
      const r = new Deno.Command("mkfifo", { args: [p] }).outputSync();
      if (!r.success) throw new Error("mkfifo failed");
    },
    intact: () => undefined,
  },
  { name: "directory", setup: (p) => Deno.mkdirSync(p), intact: () => undefined },
  {
    name: "hard link to another file",
    setup: (p, v) => Deno.linkSync(v, p),
    intact: victimIntact,
  },
  {
    name: "file of another user in a sticky world-writable dir",
    root: true,
    setup: (p) => {
      Deno.writeTextFileSync(p, VICTIM);
      Deno.chownSync(p, 65534, 65534);
    },
    intact: (_v, _d) => undefined, // checked below: the path's content
  },
];

async function staticCases(tally: Tally, base: string, round: number): Promise<void> {
  for (const c of CASES) {
    if (c.root && !isRoot()) continue;
    tally.rounds++;
    tally.faults++;
    const work = `${base}/static-${round}-${CASES.indexOf(c)}`;
    Deno.mkdirSync(work);
    Deno.chmodSync(work, 0o1777);
    const victim = `${work}/victim`;
    const emptyDir = `${work}/emptydir`;
    Deno.mkdirSync(emptyDir);
    Deno.writeTextFileSync(victim, VICTIM);
    const path = `${work}/app.pid`;
    c.setup(path, victim, emptyDir);
    const refused = await refusal(() => PidFile.acquire(path, { removeOnExit: false }));
    if (refused !== "refused") tally.violation(`${c.name}: acquire ${refused}`);
    for (
      const [what, fn] of [["probe", () => probe(path)], [
        "readPidFile",
        () => readPidFile(path),
      ]] as const
    ) {
      const r = await refusal(fn);
      // probe/readPidFile may read a plain file or a hard link (reading is
      // harmless); they must never throw anything but a PidFileError.
      if (r.startsWith("threw")) tally.violation(`${c.name}: ${what} ${r}`);
    }
    const damage = c.intact(victim, emptyDir);
    if (damage) tally.violation(`${c.name}: ${damage}`);
    if (c.root) {
      if (!exists(path)) tally.violation(`${c.name}: the file was taken over and removed`);
      else if (Deno.readTextFileSync(path) !== VICTIM) {
        tally.violation(`${c.name}: its content was replaced`);
      }
    }
    Deno.removeSync(work, { recursive: true });
  }
}

/** "refused" for a PidFileError; otherwise what happened instead. */
async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    const r = await withDeadline(fn(), 5000);
    if (r instanceof PidFile) await r.release();
    return "succeeded";
  } catch (err) {
    return err instanceof PidFileError ? "refused" : `threw ${err}`;
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A third party keeps replacing the path with a symlink to the victim, a
 * hard link to it, and a fresh plain file, while this process acquires and
 * releases as fast as it can.
 */
async function swapper(tally: Tally, base: string, attempts: number): Promise<void> {
  const work = `${base}/swap`;
  Deno.mkdirSync(work);
  const victim = `${work}/victim`;
  Deno.writeTextFileSync(victim, VICTIM);
  const path = `${work}/app.pid`;
  await using reaper = new Reaper();
  const script = `while :; do ln -s victim app.pid.s; mv -f app.pid.s app.pid; ` +
    `ln victim app.pid.h; mv -f app.pid.h app.pid; : > app.pid.f; mv -f app.pid.f app.pid; done`;
  const child = reaper.spawn(["sh", "-c", script], { cwd: work });
  await sleep(20);
  let won = 0;
  for (let i = 0; i < attempts; i++) {
    tally.rounds++;
    tally.faults++;
    try {
      const pid = await PidFile.acquire(path, { removeOnExit: false });
      won++;
      await pid.release();
    } catch (err) {
      if (!(err instanceof PidFileError) && !(err instanceof AlreadyRunningError)) {
        tally.violation(`acquire under a swapping path threw ${err}`);
      }
    }
    if (i % 50 === 0) await sleep(0);
  }
  child.kill("SIGKILL");
  await child.status;
  const damage = victimIntact(victim);
  if (damage) tally.violation(`swapped path: ${damage}`);
  tally.note(`swapped path: ${won} of ${attempts} acquires won a plain file, the rest refused`);
}

/**
 * Run dirs another user could write (owned by them, or world-writable) with
 * a symlink planted at NAME.log: `pidkit start` must refuse, and nothing may
 * be written through the symlink.
 */
async function foreignRunDirs(tally: Tally, base: string): Promise<void> {
  const prefix = uniquePrefix("hp");
  for (const kind of ["owned by another user", "world-writable"] as const) {
    tally.rounds++;
    tally.faults++;
    const run = `${base}/run-${kind.replace(/ /g, "-")}`;
    Deno.mkdirSync(run);
    if (kind === "owned by another user") Deno.chownSync(run, 65534, 65534);
    else Deno.chmodSync(run, 0o1777);
    const target = `${base}/written-through-${kind.length}`;
    const name = `${prefix}-${kind.length}`;
    Deno.symlinkSync(target, `${run}/${name}.log`);
    const out = await pidkit(["start", name, "--dir", run, "--", "sh", "-c", "echo x; sleep 600"]);
    if (out.code === 0) {
      tally.violation(`run dir ${kind}: start succeeded`);
      await pidkit(["stop", name, "--dir", run]);
    } else if (!/refusing run dir/.test(out.stderr)) {
      tally.violation(`run dir ${kind}: unclear refusal: ${out.stderr.trim()}`);
    }
    if (exists(target)) tally.violation(`run dir ${kind}: wrote through the planted symlink`);
    if (markedProcesses(name).length) tally.violation(`run dir ${kind}: a service runs`);
  }
}
