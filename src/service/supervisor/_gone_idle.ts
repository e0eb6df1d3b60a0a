/**
 * A background supervisor that holds no service has nothing to restore
 * when its run directory (or its `supervisor.lock`) is removed under it:
 * the removal is its cue to exit at once, making nothing again (made
 * again, the directory would be left behind empty a moment later, as the
 * idle exit followed). One that holds a service, or is handling a request
 * (a start, maybe), makes its presence again as before (dir_supervisor.ts,
 * checkPresence).
 *
 * @module
 */

/** What {@linkcode goneWhileIdle} looks at of the supervisor. */
export interface IdleView {
  /** The run directory. */
  readonly dir: string;
  /** `pidkit supervise` stays, idle or not. */
  readonly opts: { readonly foreground: boolean };
  /** The services it holds. */
  readonly services: { readonly size: number };
  /** Requests being handled (a start among them would be refused or served). */
  readonly busy: number;
  /** Exiting already. */
  readonly closing: boolean;
}

/**
 * The journal line with which a supervisor whose `supervisor.lock` is no
 * longer at its path exits, when it holds nothing and handles no request;
 * `undefined` when it must make its presence again instead. A request that
 * arrives after the answer finds it closing and is answered "retry" (as
 * when the idle exit races it): the command launches a new supervisor,
 * which makes the directory.
 *
 * @example
 * ```ts
 * import { goneWhileIdle } from "./_gone_idle.ts";
 * const idle = { dir: "/nonexistent", opts: { foreground: false }, services: { size: 0 }, busy: 0, closing: false };
 * goneWhileIdle(idle); // "the run directory /nonexistent was removed ..."
 * ```
 */
export function goneWhileIdle(sup: IdleView): string | undefined {
  if (sup.opts.foreground || sup.closing || sup.services.size > 0 || sup.busy > 0) return undefined;
  const what = isDirectory(sup.dir) ? `${sup.dir}/supervisor.lock` : `the run directory ${sup.dir}`;
  return `${what} was removed under this supervisor (pid ${Deno.pid}), which holds no service: ` +
    `it exits and makes nothing again`;
}

/**
 * Whether `path` is a directory (followed).
 *
 * @example
 * ```ts
 * import { isDirectory } from "./_gone_idle.ts";
 * isDirectory("/tmp"); // true
 * ```
 */
export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
