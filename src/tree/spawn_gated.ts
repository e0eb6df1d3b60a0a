/**
 * Starting a command behind a start gate: the leader is a tiny `/bin/sh`
 * that blocks reading one line from a FIFO, so the parent can move it into
 * a cgroup before it runs (and forks) anything; then it `exec`s the real
 * command with the caller's argv untouched (`exec "$@"`: no shell quoting is
 * involved, and argv[0] is exactly what the caller gave).
 *
 * Why a FIFO: `Deno.Command` cannot pass an extra descriptor, and using the
 * child's stdin for the gate would change what the command's stdin is. The
 * FIFO sits in a private temporary directory (0700) that is removed as
 * soon as the gate has opened.
 *
 * Also here: finding the program on `PATH` the way the gate's shell will,
 * so a missing or non-executable program is a clear error up front rather
 * than a leader that dies with status 127.
 *
 * @module
 */

import { TreeError } from "../os/errors.ts";
import { cString, libc } from "../os/libc.ts";
import { ownChild } from "../os/reaper.ts";

/**
 * The gate. `$1` is the FIFO; the rest is the command. Reads one line: `go`
 * means run it, anything else (or EOF) means give up with status 125.
 */
const GATE_SCRIPT =
  'f=$1; shift; read -r g < "$f" || exit 125; [ "$g" = go ] || exit 125; exec "$@"';

/** dash's built-in search path when `PATH` is unset. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Check that `program` can be run as the shell will find it; throws a `"spawn-failed"` {@linkcode TreeError} when not. */
export function checkProgram(
  program: string,
  options: { path?: string; cwd?: string },
): void {
  if (program === "") throw new TreeError("spawn-failed", "cannot start an empty command name");
  const cwd = options.cwd ?? Deno.cwd();
  if (program.includes("/")) {
    const abs = program.startsWith("/") ? program : `${cwd}/${program}`;
    const problem = executableProblem(abs);
    if (problem === undefined) return;
    throw new TreeError("spawn-failed", `cannot start ${program}: ${problem}`);
  }
  const path = options.path ?? DEFAULT_PATH;
  let denied: string | undefined;
  for (const dir of path.split(":")) {
    const base = dir === "" ? cwd : dir.startsWith("/") ? dir : `${cwd}/${dir}`;
    const problem = executableProblem(`${base}/${program}`);
    if (problem === undefined) return;
    if (problem !== "no such file") denied ??= `${base}/${program}: ${problem}`;
  }
  throw new TreeError(
    "spawn-failed",
    denied !== undefined
      ? `cannot start ${program}: ${denied}`
      : `cannot start ${program}: command not found in PATH (${path})`,
  );
}

/** Why `path` cannot be executed, or undefined when it can (as far as mode bits say). */
function executableProblem(path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return "no such file";
    }
    if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
    throw err;
  }
  if (info.isDirectory) return "is a directory";
  if (((info.mode ?? 0) & 0o111) === 0) return "not executable (permission denied)";
  return undefined;
}

/**
 * `setpriv(1)`, from fixed system directories only: a supervisor running as
 * root must not run whatever a `PATH` entry offers under that name.
 */
export function findSetpriv(): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    if (executableProblem(`${dir}/setpriv`) === undefined) return `${dir}/setpriv`;
  }
  return undefined;
}

/** mkfifo(3) through FFI (no process spawned); the `mkfifo` program where FFI is unavailable. */
async function makeFifo(path: string): Promise<void> {
  const lib = libc();
  if (lib !== undefined && lib.mkfifo(cString(path), 0o600) === 0) return;
  const out = await new Deno.Command("mkfifo", {
    args: ["-m", "600", path],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new TreeError(
      "spawn-failed",
      `cannot create the start gate ${path}: ${msg || "mkfifo failed"}`,
    );
  }
}

/**
 * Spawn `command` behind the gate. `beforeRelease(pid)` runs while the
 * leader waits (move it into a cgroup there); when it throws, the leader
 * exits with status 125 without running the command and the error is
 * rethrown. `options` are passed to `Deno.Command` as they are.
 */
export async function spawnGated(
  command: string[],
  options: Deno.CommandOptions,
  beforeRelease: (pid: number) => void,
): Promise<Deno.ChildProcess> {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-gate-" });
  try {
    const fifo = `${dir}/gate`;
    await makeFifo(fifo);
    if (options.uid !== undefined || options.gid !== undefined) {
      // The gate runs as the target user: let it open the FIFO.
      await Deno.chown(dir, options.uid ?? null, options.gid ?? null);
      await Deno.chown(fifo, options.uid ?? null, options.gid ?? null);
    }
    const child = new Deno.Command("/bin/sh", {
      ...options,
      args: ["-c", GATE_SCRIPT, "pidkit-gate", fifo, ...command],
    }).spawn();
    ownChild(child); // Deno reaps it: an orphan reaper must not
    let failure: unknown;
    try {
      beforeRelease(child.pid);
    } catch (err) {
      failure = err;
    }
    await release(fifo, child, failure === undefined ? "go\n" : "no\n");
    if (failure !== undefined) {
      await closeStreams(child);
      await child.status;
      throw failure;
    }
    return child;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Write the verdict into the FIFO once the gate has opened it (or give up if the gate died). */
async function release(fifo: string, child: Deno.ChildProcess, verdict: string): Promise<void> {
  const opening = Deno.open(fifo, { write: true });
  const winner = await Promise.race([opening, child.status.then(() => undefined)]);
  if (winner === undefined) {
    // The gate died before opening the FIFO: our open is still blocked in
    // the thread pool; an open for reading pairs with it and ends it.
    const reader = await Deno.open(fifo, { read: true });
    (await opening).close();
    reader.close();
    return;
  }
  try {
    await winner.write(new TextEncoder().encode(verdict));
  } catch {
    // the gate went away meanwhile (EPIPE): its status tells the rest
  } finally {
    winner.close();
  }
}

/** Cancel piped streams of a child we are abandoning, so nothing keeps the event loop alive. */
async function closeStreams(child: Deno.ChildProcess): Promise<void> {
  const closers = [
    () => child.stdout.cancel(),
    () => child.stderr.cancel(),
    () => child.stdin.close(),
  ];
  for (const close of closers) {
    try {
      await close();
    } catch { /* not piped */ }
  }
}
