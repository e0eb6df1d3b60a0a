/**
 * One process-wide registry of cleanups to run when the process ends: on
 * SIGINT, SIGTERM or SIGHUP (SIGINT and SIGBREAK on Windows), and on a
 * normal exit (the `unload` event, which also fires on `Deno.exit()`).
 *
 * The listeners are installed when the first cleanup is registered and
 * removed when the last one is unregistered, so a program that holds no PID
 * file with `removeOnExit` has none of them. On a signal every cleanup runs,
 * the listeners are removed and the signal is raised again, so the process
 * dies of it as it would have without pidkit (exit status 128 + N in the
 * shell). Without the `run` permission to signal itself, it exits with
 * status 128 + N instead, and so does the init (PID 1) of a PID namespace
 * (a container's entrypoint): the kernel ignores a default action there,
 * even for a signal the process raises itself, so raising it again would
 * leave PID 1 running (Deno then crashed with SIGSEGV, status 139).
 *
 * @module
 */

import { isNamespaceInit } from "./pid_namespace.ts";
import { signalNumber } from "./signals.ts";

const cleanups = new Set<() => void>();
const listeners = new Map<Deno.Signal, () => void>();

const SIGNALS: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** Run `cleanup` (synchronously) when the process ends by a signal or normally. */
export function onProcessEnd(cleanup: () => void): void {
  cleanups.add(cleanup);
  if (listeners.size === 0) install();
}

/**
 * Forget `cleanup`; the last one removes the listeners -- a moment later, so
 * a program that releases and re-acquires in a loop does not pay for
 * installing them each time. Meanwhile a signal still ends the process as
 * it would without listeners (see endBySignal).
 */
export function offProcessEnd(cleanup: () => void): void {
  cleanups.delete(cleanup);
  if (cleanups.size === 0 && listeners.size > 0 && uninstallTimer === undefined) {
    const timer = setTimeout(() => {
      uninstallTimer = undefined;
      if (cleanups.size === 0) uninstall();
    }, 0);
    Deno.unrefTimer(timer);
    uninstallTimer = timer;
  }
}

let uninstallTimer: ReturnType<typeof setTimeout> | undefined;

function install(): void {
  for (const sig of SIGNALS) {
    const listener = () => endBySignal(sig);
    try {
      Deno.addSignalListener(sig, listener);
      listeners.set(sig, listener);
    } catch {
      // A signal this platform does not support: nothing to catch.
    }
  }
  globalThis.addEventListener("unload", runAll);
}

function uninstall(): void {
  if (uninstallTimer !== undefined) clearTimeout(uninstallTimer);
  uninstallTimer = undefined;
  for (const [sig, listener] of listeners) Deno.removeSignalListener(sig, listener);
  listeners.clear();
  globalThis.removeEventListener("unload", runAll);
}

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is ending; the next cleanup must still run.
    }
  }
  cleanups.clear();
}

function endBySignal(sig: Deno.Signal): void {
  runAll();
  uninstall();
  if (isNamespaceInit()) Deno.exit(128 + signalNumber(sig));
  // With our listeners gone the default action is back (unless the program
  // has listeners of its own): raising the signal again ends the process the
  // way the sender meant.
  try {
    Deno.kill(Deno.pid, sig);
  } catch {
    Deno.exit(128 + signalNumber(sig));
  }
}
