/**
 * `pidkit supervise --config FILE`: the run directory's resident
 * supervisor in the foreground (src/service/supervisor/supervisor_main.ts), which
 * brings the file up once it listens, re-reads it on SIGHUP and reconciles
 * (as `up`; a file that no longer reads changes nothing), and stops every
 * service on SIGTERM. Under systemd (`NOTIFY_SOCKET`) it sends `STATUS=`
 * lines as it goes, `READY=1` once the first reconcile is done, and
 * `STOPPING=1` when told to stop. Started after a supervisor was killed, it
 * adopts what runs first, so nothing is started twice.
 *
 * @module
 */

import { sdNotify } from "../os/sd_notify.ts";
import { runSupervisorProcess } from "../service/supervisor/supervisor_main.ts";
import { type LoadedStack, loadStack, type LoadStackOptions } from "./load.ts";
import { upLine } from "./up_line.ts";
import { stackRunDir, type UpResult, type UpServiceResult, upStack } from "./up.ts";

/**
 * Options of {@linkcode superviseStack}.
 *
 * @example
 * ```ts
 * import type { SuperviseStackOptions } from "./supervise_stack.ts";
 * const options: SuperviseStackOptions = { load: { file: "/srv/app/pidkit.jsonc" }, dir: "/run/pidkit" };
 * console.log(options.dir);
 * ```
 */
export interface SuperviseStackOptions {
  /** How to find and read the declaration (read again on SIGHUP). */
  load: LoadStackOptions;
  /** The run directory (default: the file's `dir`, else as `start` finds it). */
  dir?: string;
  /**
   * Told every line worth saying (default: stderr): one per service as `up`
   * says it, and the supervisor's own (SIGHUP, a file not reloaded) after
   * `pidkit supervise: `, as its journal lines are.
   */
  say?: (line: string) => void;
  /** Told each service's result as a reconcile goes. */
  onService?: (result: UpServiceResult) => void;
  /** Told each reconcile's result (the first one's too). */
  onReconciled?: (result: UpResult) => void;
  /** Told why the supervisor could not start (another one holds the run directory). */
  onFailure?: (error: string) => void;
  /** Serve the supervisor's read-only HTTP server here (`supervise --http`). */
  http?: { hostname: string; port: number };
}

/**
 * Supervise a declaration in the foreground until SIGTERM or SIGINT; the
 * exit status. A file that cannot be read or validated at the start throws
 * (a {@linkcode StackError}: nothing is started); on SIGHUP it is said and
 * what runs is left as it is.
 *
 * @example
 * ```ts
 * import { superviseStack } from "./supervise_stack.ts";
 * Deno.exit(await superviseStack({ load: { file: "/srv/app/pidkit.jsonc" } }));
 * ```
 */
export async function superviseStack(options: SuperviseStackOptions): Promise<number> {
  const say = options.say ?? ((line: string) => console.error(line));
  const sayOwn = (line: string) => say(`pidkit supervise: ${line}`);
  const first = await loadStack(options.load);
  const dir = stackRunDir(first.stack, options.dir, true);
  const file = first.file;
  // The services must not find the supervisor's socket: up gives them a base
  // environment; a hand-started service gets its caller's.
  const notifySocket = Deno.env.get("NOTIFY_SOCKET");
  Deno.env.delete("NOTIFY_SOCKET");
  const notify = (state: string) => void sdNotify(state, notifySocket);
  let pending: LoadedStack | "reload" | undefined;
  let running = false;
  let ready = false;
  const reconcile = async (next: LoadedStack | "reload") => {
    pending = next;
    if (running) return; // the running one takes it up when done
    running = true;
    try {
      while (pending !== undefined) {
        const job = pending;
        pending = undefined;
        let loaded: LoadedStack;
        try {
          loaded = job === "reload" ? await loadStack(options.load) : job;
        } catch (err) {
          const line = `${file}: not reloaded: ${(err as Error).message}; what runs is unchanged`;
          sayOwn(line);
          notify(`STATUS=${line}`);
          continue;
        }
        notify(`STATUS=reconciling ${loaded.file}`);
        try {
          const result = await upStack(loaded.stack, {
            dir,
            onService(r) {
              say(upLine(r));
              options.onService?.(r);
            },
          });
          options.onReconciled?.(result);
          notify(statusOf(result));
        } catch (err) {
          const line = `${loaded.file}: not reconciled: ${(err as Error).message}`;
          sayOwn(line);
          notify(`STATUS=${line}`);
        }
        if (!ready) {
          ready = true;
          notify("READY=1");
        }
      }
    } finally {
      running = false;
    }
  };
  const onHup = () => {
    sayOwn(`SIGHUP: reading ${file} again`);
    void reconcile("reload");
  };
  const onStop = () => notify("STOPPING=1");
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGINT", onStop);
  try {
    return await runSupervisorProcess({
      dir,
      foreground: true,
      ...(options.http ? { http: options.http } : {}),
      onReady(answer) {
        if (answer.ok) void reconcile(first);
        else if (options.onFailure) options.onFailure(answer.error);
        else say(answer.error);
      },
    });
  } finally {
    Deno.removeSignalListener("SIGHUP", onHup);
    Deno.removeSignalListener("SIGTERM", onStop);
    Deno.removeSignalListener("SIGINT", onStop);
  }
}

/** The `STATUS=` line after a reconcile: how many run, what failed. */
function statusOf(result: UpResult): string {
  const up =
    result.services.filter((s) =>
      s.action === "started" || s.action === "restarted" || s.action === "unchanged"
    ).length;
  const bad = result.services.filter((s) =>
    s.action === "failed" || s.action === "not-started" || s.action === "conflict"
  );
  const text = bad.length === 0
    ? `${up} services up from ${result.file}`
    : `${up} up, ${bad.length} not: ${bad.map((s) => `${s.name} ${s.action}`).join(", ")}`;
  return `STATUS=${text.slice(0, 200)}`;
}
