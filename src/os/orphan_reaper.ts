/**
 * Reaping orphans without stealing Deno's children, and becoming a child
 * subreaper.
 *
 * A process that is PID 1 of a PID namespace (a container's entrypoint),
 * or that made itself a child subreaper, inherits every orphan below it.
 * Deno reaps only the children it spawned with `Deno.Command`; an adopted
 * orphan that exits stays a zombie for ever unless someone calls
 * `waitpid` for it. `waitpid(-1)` would also take the exit status of a
 * `Deno.Command` child (its `status` then rejects with ECHILD,
 * docs/runtime_facts.md, "Child subreaper and reaping"), so the reaper lists this process's children
 * (`/proc/self/task/{@literal *}/children`), skips every PID spawned through
 * `Deno.Command` (registered with {@linkcode ownChild} in the same tick as
 * the spawn, before any signal listener can run) and calls
 * `waitpid(pid, WNOHANG)` for each zombie left.
 *
 * A second guard covers `Deno.Command` children nobody registered (an
 * `output()` call, whose child is never exposed): without it about 1 in 40
 * of them lost its status to the reaper in a test. Such a child is not
 * detached, so it sits in this process's session, while the orphans of a
 * service tree (started detached) sit in the tree's session or their own.
 * A zombie in our own session that is not registered is reaped only once it
 * has stayed a zombie for {@linkcode SAME_SESSION_GRACE_MS} (Deno reaps its
 * own children within milliseconds); any other zombie at once.
 *
 * Linux only, needs FFI and a `/proc` of our own PID namespace; elsewhere
 * {@linkcode OrphanReaper.start} says why it cannot run.
 *
 * @module
 */

import { errno, libc } from "./libc.ts";
import { FOREIGN_PROC, procIsOurs } from "./pid_namespace.ts";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

/** How long an unregistered zombie in our own session is left to Deno before it is reaped. */
export const SAME_SESSION_GRACE_MS = 500;

/** PIDs of live `Deno.Command` children of this process: never reaped here. */
const own = new Set<number>();

/**
 * Register a child spawned with `Deno.Command` (call it right after
 * `spawn()`, in the same tick): the reaper leaves it to Deno. Forgotten
 * once Deno has reaped it.
 *
 * @example
 * ```ts
 * import { ownChild } from "./orphan_reaper.ts";
 * const child = new Deno.Command("true").spawn();
 * ownChild(child);
 * await child.status;
 * ```
 */
export function ownChild(child: Deno.ChildProcess): void {
  const pid = child.pid;
  own.add(pid);
  child.status.then(() => own.delete(pid), () => own.delete(pid));
}

/**
 * The PIDs of the live children this process spawned itself (registered
 * with {@linkcode ownChild}).
 *
 * @example
 * ```ts
 * import { ownChildren } from "./orphan_reaper.ts";
 * console.log([...ownChildren()]); // e.g. [1234, 1240]
 * ```
 */
export function ownChildren(): ReadonlySet<number> {
  return own;
}

/**
 * Make this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`):
 * an orphan below it (a descendant that double-forked, or whose parent
 * died) is reparented to it instead of to init. Returns why not, or
 * `undefined` on success.
 *
 * @example
 * ```ts
 * import { becomeSubreaper } from "./orphan_reaper.ts";
 * const why = becomeSubreaper();
 * if (why) console.error(`not a subreaper: ${why}`);
 * ```
 */
export function becomeSubreaper(): string | undefined {
  const lib = libc();
  if (lib === undefined) return "needs FFI on Linux (--allow-ffi)";
  if (lib.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) !== 0) {
    return `prctl(PR_SET_CHILD_SUBREAPER) failed (errno ${errno()})`;
  }
  return undefined;
}

/** One orphan reaped by {@linkcode OrphanReaper}. */
export interface Reaped {
  /** Its PID. */
  pid: number;
  /** Its raw wait status (`status >> 8 & 0xff` is the exit code; `status & 0x7f` the signal). */
  status: number;
}

/** This process's children, from every thread's `children` file. */
function children(): number[] {
  const out: number[] = [];
  for (const task of Deno.readDirSync("/proc/self/task")) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/self/task/${task.name}/children`);
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const word of text.split(" ")) if (word !== "") out.push(Number(word));
  }
  return out;
}

/** The session of a zombie child, or undefined when `pid` is not a zombie (or is gone). */
function zombieSession(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[0] === "Z" ? Number(rest[3]) : undefined; // fields 3 (state) and 6 (session)
  } catch {
    return undefined;
  }
}

function ownSession(): number | undefined {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
  } catch {
    return undefined;
  }
}

/**
 * Reaps every zombie child of this process that Deno did not spawn: on
 * each SIGCHLD, and when asked ({@linkcode OrphanReaper.reapNow}).
 *
 * @example
 * ```ts
 * import { OrphanReaper } from "./orphan_reaper.ts";
 * const reaper = new OrphanReaper({ onReaped: (r) => console.log("reaped", r.pid) });
 * const why = reaper.start();
 * if (why) console.error(`not reaping orphans: ${why}`);
 * // ...
 * reaper.stop();
 * ```
 */
export class OrphanReaper {
  readonly #onReaped: ((reaped: Reaped) => void) | undefined;
  #listener: (() => void) | undefined;
  /** Unregistered zombies of our own session: when they were first seen. */
  readonly #waiting = new Map<number, number>();
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** How many orphans were reaped so far. */
  count = 0;

  /** `onReaped` is called for each orphan reaped. */
  constructor(options: { onReaped?: (reaped: Reaped) => void } = {}) {
    this.#onReaped = options.onReaped;
  }

  /** Start reaping on SIGCHLD. Returns why it cannot, or `undefined` when it runs. */
  start(): string | undefined {
    if (this.#listener !== undefined) return undefined;
    if (Deno.build.os !== "linux") return `no orphan reaping on ${Deno.build.os}`;
    if (libc() === undefined) return "orphan reaping needs FFI (--allow-ffi)";
    if (!procIsOurs()) return FOREIGN_PROC;
    this.#listener = () => this.reapNow();
    Deno.addSignalListener("SIGCHLD", this.#listener);
    this.reapNow(); // zombies that were there before we listened
    return undefined;
  }

  /** Stop listening for SIGCHLD. */
  stop(): void {
    if (this.#listener === undefined) return;
    Deno.removeSignalListener("SIGCHLD", this.#listener);
    this.#listener = undefined;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** Reap every zombie orphan now; returns how many. */
  reapNow(): number {
    const lib = libc();
    if (lib === undefined) return 0;
    const status = new Int32Array(1);
    let n = 0;
    let pids: number[];
    try {
      pids = children();
    } catch {
      return 0; // /proc unreadable: nothing we can prove is ours to reap
    }
    const mine = ownSession();
    const now = performance.now();
    const waiting = new Map<number, number>();
    for (const pid of pids) {
      if (own.has(pid)) continue;
      const sid = zombieSession(pid);
      if (sid === undefined) continue;
      if (sid === mine) {
        // Maybe a Deno.Command child nobody registered: give Deno time to reap it.
        const since = this.#waiting.get(pid) ?? now;
        if (now - since < SAME_SESSION_GRACE_MS) {
          waiting.set(pid, since);
          continue;
        }
      }
      if (lib.waitpid(pid, status, WNOHANG) !== pid) continue;
      n++;
      this.count++;
      this.#onReaped?.({ pid, status: status[0] });
    }
    this.#waiting.clear();
    for (const [pid, since] of waiting) this.#waiting.set(pid, since);
    if (waiting.size > 0 && this.#retry === undefined && this.#listener !== undefined) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.reapNow();
      }, SAME_SESSION_GRACE_MS);
      Deno.unrefTimer(this.#retry);
    }
    return n;
  }
}

/** What {@linkcode adoptOrphans} set up. */
export interface Adoption {
  /** The running reaper, when this process is a subreaper that reaps. */
  reaper?: OrphanReaper;
  /** Why orphans are not adopted (or not reaped), when they are not. */
  problem?: string;
}

/**
 * Become a child subreaper and reap the orphans that brings (a supervisor
 * does this first thing): descendants that double-fork or lose their
 * parent stay this process's children, in view of the group tier, and
 * never linger as zombies. As PID 1 of a PID namespace only the reaper is
 * needed (every orphan of the namespace comes to init anyway).
 *
 * @example
 * ```ts
 * import { adoptOrphans } from "./orphan_reaper.ts";
 * const { reaper, problem } = adoptOrphans();
 * if (problem) console.error(`orphans: ${problem}`);
 * reaper?.stop();
 * ```
 */
export function adoptOrphans(): Adoption {
  const problem = Deno.pid === 1 ? undefined : becomeSubreaper();
  if (problem !== undefined) return { problem };
  const reaper = new OrphanReaper();
  const why = reaper.start();
  return why === undefined ? { reaper } : { problem: why };
}
