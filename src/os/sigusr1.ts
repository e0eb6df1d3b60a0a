/**
 * Keeping SIGUSR1 from opening a door into a supervisor.
 *
 * Deno 2.9.2 and later start the V8 inspector on 127.0.0.1:9229 when the
 * process receives SIGUSR1: any local user could then run code inside it
 * (as root, for a root supervisor). Deno arms this about 500 ms after
 * start by registering SIGUSR1 with its signal registry; the registry calls
 * `sigaction` only for the *first* registration of a signal. Verified on
 * Deno 2.9.6:
 *
 * - a SIG_IGN disposition inherited through exec survives until Deno arms
 *   its handler, which then replaces it (the inspector opens);
 * - SIG_IGN set through libc before arming is replaced the same way;
 * - but when a `Deno.addSignalListener("SIGUSR1")` registration exists
 *   first, arming adds to the registry without calling `sigaction` again,
 *   so SIG_IGN set right after that listener stays for good;
 * - a SIGUSR1 *blocked* in the initial thread's mask (`env
 *   --block-signal=USR1`) stays blocked in every thread Deno creates: it is
 *   never delivered, and `sigwaitinfo` (FFI, non-blocking) can take it.
 *
 * So a supervisor is started with SIGUSR1 already ignored (an `sh` wrapper:
 * `trap "" USR1; exec ...`), and {@linkcode disarmSigusr1} runs as its first
 * statement: no window remains in which SIGUSR1 kills it or opens the
 * inspector. `pidkit run` forwards SIGUSR1 to its tree: it re-executes
 * itself in place with SIGUSR1 blocked ({@linkcode reexecWithSigusr1Blocked},
 * same PID, so systemd's main PID stays right) and takes each one with
 * {@linkcode watchBlockedSigusr1}.
 *
 * @module
 */

const SIGUSR1 = 10; // Linux (x86, arm, riscv); the FFI paths below are Linux-only
const SIG_IGN = 1;

/** The libc library name to `dlopen`, or `undefined` where we do not know it. */
function libcName(): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  return "libc.so.6";
}

/**
 * Make SIGUSR1 harmless for the rest of this process's life: register a
 * no-op listener (so Deno's later inspector arming does not reinstall a
 * handler), then point the disposition at libc's `getpid` (a handler that
 * does nothing) through libc `signal`. Returns whether that worked (false
 * off Linux or without FFI).
 */
export function disarmSigusr1(): boolean {
  try {
    Deno.addSignalListener("SIGUSR1", () => {});
  } catch {
    return false; // no signals on this platform: nothing opens on SIGUSR1 either
  }
  const name = libcName();
  if (name === undefined) return false;
  try {
    const lib = Deno.dlopen(name, {
      signal: { parameters: ["i32", "pointer"], result: "pointer" },
      dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
    });
    // A handler that does nothing observable (getpid), not SIG_IGN: an ignored
    // signal stays ignored in every child across exec, while a handler is reset
    // to the default there, so the service starts with a clean SIGUSR1.
    const noop = lib.symbols.dlsym(null, new TextEncoder().encode("getpid\0"));
    lib.symbols.signal(SIGUSR1, noop ?? Deno.UnsafePointer.create(BigInt(SIG_IGN)));
    lib.close();
    return true;
  } catch {
    return false;
  }
}

/** Whether SIGUSR1 is blocked in this (main) thread's signal mask. */
export function sigusr1Blocked(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const blk = /^SigBlk:\s*([0-9a-f]+)/m.exec(status)?.[1];
    return blk !== undefined && (BigInt(`0x${blk}`) & (1n << BigInt(SIGUSR1 - 1))) !== 0n;
  } catch {
    return false;
  }
}

/**
 * Take SIGUSR1s that are blocked in every thread (the process was started
 * with it blocked, see {@linkcode sigusr1Blocked}) with `sigwaitinfo` on a
 * worker thread and call `onSignal` for each. Returns a function that stops
 * taking them; the pending wait then ends with the process.
 */
export function watchBlockedSigusr1(onSignal: () => void): () => void {
  const name = libcName();
  if (name === undefined) return () => {};
  const lib = Deno.dlopen(name, {
    sigwaitinfo: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
  });
  const set = new BigUint64Array(16); // sigset_t: 1024 bits
  set[0] = 1n << BigInt(SIGUSR1 - 1);
  const setBytes = new Uint8Array(set.buffer);
  const info = new Uint8Array(128); // siginfo_t
  let active = true;
  (async () => {
    while (active) {
      const sig = await lib.symbols.sigwaitinfo(setBytes, info);
      if (active && sig === SIGUSR1) onSignal();
    }
  })();
  return () => {
    active = false;
  };
}

/**
 * Re-execute this very process (same PID, same argv, same environment) with
 * SIGUSR1 blocked, through libc `sigprocmask` and `execve`: the mask
 * survives exec and every thread the new Deno creates inherits it, so from
 * its first instruction SIGUSR1 can neither kill it nor open the inspector,
 * and {@linkcode watchBlockedSigusr1} can take it. Returns only on failure
 * (off Linux, without FFI, or when execve fails), with SIGUSR1 unblocked
 * again; the caller then falls back to {@linkcode disarmSigusr1}.
 */
export function reexecWithSigusr1Blocked(): false {
  const name = libcName();
  if (name === undefined) return false;
  let lib;
  try {
    lib = Deno.dlopen(name, {
      sigprocmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
      execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
    });
  } catch {
    return false;
  }
  try {
    const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0").slice(0, -1);
    const env = Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`);
    const keep: Uint8Array[] = []; // the C strings must outlive the call
    const cStrings = (list: string[]) => {
      const table = new BigUint64Array(list.length + 1);
      list.forEach((item, i) => {
        const bytes = new TextEncoder().encode(`${item}\0`);
        keep.push(bytes);
        table[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
      });
      return new Uint8Array(table.buffer);
    };
    const set = new BigUint64Array(16);
    set[0] = 1n << BigInt(SIGUSR1 - 1);
    const mask = new Uint8Array(set.buffer);
    lib.symbols.sigprocmask(0, /* SIG_BLOCK */ mask, null);
    const path = new TextEncoder().encode(`${Deno.execPath()}\0`);
    lib.symbols.execve(path, cStrings(argv), cStrings(env)); // returns only on failure
    lib.symbols.sigprocmask(1, /* SIG_UNBLOCK */ mask, null);
    return false;
  } catch {
    return false;
  } finally {
    lib.close();
  }
}
