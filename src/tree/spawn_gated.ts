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
 * @module
 */

import { inNewSession } from "./new_session.ts";
import { messageLine, TreeError } from "../os/errors.ts";
import { cString, libc } from "../os/libc.ts";
import { ownChild } from "../os/orphan_reaper.ts";
import { readCmdline } from "../os/proc.ts";
import { cgroupLeaf, MARKER_VAR, parseMarker } from "./marker.ts";

/**
 * The gate. `$1` is the FIFO; the rest is the command. Reads one line: `go`
 * means run it, anything else (or EOF) means give up with status 125.
 */
const GATE_SCRIPT =
  'f=$1; shift; read -r g < "$f" || exit 125; [ "$g" = go ] || exit 125; exec "$@"';

/**
 * The output shim's script: `$0` (a file, usually a FIFO) opened
 * read-write becomes stdout and stderr, then the rest runs in its place.
 */
const OUTPUT_SHIM = 'exec 1<>"$0" 2>&1 || exit 125; exec "$@"';

/**
 * The gate and the output shim in one shell (`$2` is the output file): a
 * gated command behind {@linkcode behindOutputShim} runs through one
 * `/bin/sh` instead of two.
 */
const GATE_OUTPUT_SCRIPT = 'f=$1; o=$2; shift 2; read -r g < "$f" || exit 125; ' +
  '[ "$g" = go ] || exit 125; exec 1<>"$o" 2>&1 || exit 125; exec "$@"';

/**
 * `command` behind a shell that makes `file` (opened read-write, so a FIFO
 * never lacks a reader) its stdout and stderr, then execs it. Spawned
 * through {@linkcode spawnGated}, the gate's own shell does this.
 *
 * @example
 * ```ts
 * import { behindOutputShim } from "./spawn_gated.ts";
 * console.log(behindOutputShim("/tmp/web.out", ["sleep", "1"]).slice(0, 2)); // ["/bin/sh", "-c"]
 * ```
 */
export function behindOutputShim(file: string, command: string[]): string[] {
  return ["/bin/sh", "-c", OUTPUT_SHIM, file, ...command];
}

/**
 * Whether process `pid` is still a start gate (its spawner died before it
 * opened the gate, so it waits for a "go" that will never come): it must be
 * ended, not taken for the command.
 *
 * @example
 * ```ts
 * import { isStartGate } from "./spawn_gated.ts";
 * console.log(isStartGate(Deno.pid)); // false
 * ```
 */
export function isStartGate(pid: number): boolean {
  const argv = readCmdline(pid);
  return argv !== undefined && (argv[2] === GATE_SCRIPT || argv[2] === GATE_OUTPUT_SCRIPT) &&
    argv[3] === "pidkit-gate";
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
  const dir = await gateDir(options.env?.[MARKER_VAR]);
  try {
    const fifo = `${dir}/gate`;
    await makeFifo(fifo);
    if (options.uid !== undefined || options.gid !== undefined) {
      // The gate runs as the target user: let it open the FIFO.
      await Deno.chown(dir, options.uid ?? null, options.gid ?? null);
      await Deno.chown(fifo, options.uid ?? null, options.gid ?? null);
    }
    const gate = inNewSession("/bin/sh", gateArgs(fifo, command), options);
    const child = new Deno.Command(gate.program, { ...gate.options, args: gate.args }).spawn();
    ownChild(child); // Deno reaps it: an orphan reaper must not
    let failure: unknown;
    try {
      beforeRelease(child.pid);
    } catch (err) {
      failure = err;
    }
    try {
      await release(fifo, child, failure === undefined ? "go\n" : "no\n");
    } catch (err) {
      // The FIFO went before the verdict was written (its directory was
      // removed: a run directory removed with its TMPDIR under a running
      // supervisor): the leader may sit in open(2) on the unlinked FIFO for
      // ever, a marked process no one tracks. It never ran the command.
      failure ??= new TreeError("spawn-failed", `cannot open the start gate: ${messageLine(err)}`, {
        cause: err,
      });
      try {
        child.kill("SIGKILL");
      } catch { /* exited already */ }
    }
    if (failure !== undefined) {
      await closeStreams(child);
      await child.status;
      throw failure;
    }
    return child;
  } finally {
    // Gone already (removed with its TMPDIR) is no failure: after "go" the
    // command runs, and a spawner told otherwise would start another.
    await Deno.remove(dir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}

/** The gate's arguments; a command behind the output shim has it done by the gate's shell. */
function gateArgs(fifo: string, command: string[]): string[] {
  if (
    command.length >= 4 && command[0] === "/bin/sh" && command[1] === "-c" &&
    command[2] === OUTPUT_SHIM
  ) {
    return ["-c", GATE_OUTPUT_SCRIPT, "pidkit-gate", fifo, command[3], ...command.slice(4)];
  }
  return ["-c", GATE_SCRIPT, "pidkit-gate", fifo, ...command];
}

/**
 * The prefix of a start gate's temporary directory: `pidkit-gate-` and, for
 * a marked tree, `<name>-<nonce>-`, so that what a spawner killed midway
 * left can be found from the marker ({@linkcode removeGateLeftovers}).
 */
/**
 * A new directory for the gate's FIFO in `$TMPDIR` (else /tmp). Its failure
 * names the directory and the user: Deno says only "tmpdir".
 */
async function gateDir(marker: string | undefined): Promise<string> {
  try {
    return await Deno.makeTempDir({ prefix: gatePrefix(marker) });
  } catch (err) {
    const where = Deno.env.get("TMPDIR") || "/tmp";
    throw new TreeError(
      "spawn-failed",
      `cannot make the start gate's directory in ${where} (uid ${Deno.uid()}): ${messageLine(err)}`,
      { cause: err },
    );
  }
}

function gatePrefix(marker: string | undefined): string {
  return marker !== undefined && parseMarker(marker) !== undefined
    ? `pidkit-gate-${cgroupLeaf(marker)}-`
    : "pidkit-gate-";
}

/**
 * Remove the start gate directories a spawner of the tree with `marker`
 * left in the temporary directory (`$TMPDIR`, else /tmp) when it was killed
 * between making one and removing it. Returns how many were removed.
 *
 * @example
 * ```ts
 * import { removeGateLeftovers } from "./spawn_gated.ts";
 * console.log(await removeGateLeftovers("web:1f2e3d4c5b6a"));
 * ```
 */
export async function removeGateLeftovers(marker: string): Promise<number> {
  if (parseMarker(marker) === undefined) return 0;
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const prefix = gatePrefix(marker);
  let removed = 0;
  try {
    for await (const e of Deno.readDir(tmp)) {
      if (!e.isDirectory || !e.name.startsWith(prefix)) continue;
      await Deno.remove(`${tmp}/${e.name}`, { recursive: true }).then(() => removed++, () => {});
    }
  } catch { /* no temporary directory to read */ }
  return removed;
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
