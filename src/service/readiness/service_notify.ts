/**
 * What a service tells its supervisor about itself, and what the
 * supervisor does with it: the sd_notify socket (`--ready-notify`), the
 * s6 notification fd (`--ready-fd`) and the watchdog (`--watchdog`). No
 * health check runs here: the service speaks, the supervisor listens (this
 * was `ServiceHealth` before 0.3). The per-service machine
 * (machine/service_machine.ts) creates one {@linkcode ServiceNotify} and
 * calls it around each spawn; the phase changes the service announces
 * (RELOADING=1, READY=1 after it, STOPPING=1) go back to the machine as
 * inputs (`NotifyHooks.enter`), so they emit their events there.
 *
 * Messages are believed only from members of the current tree (the
 * sender's PID from SCM_CREDENTIALS); others are logged once per sender and
 * dropped. State writes for `STATUS=` are coalesced (at most one per
 * {@linkcode STATUS_SAVE_MS}), so a flood of messages costs parsing, not
 * disk writes.
 *
 * @module
 */

import type { FdPoller } from "../../os/fd_poller.ts";
import { messageLine } from "../../os/errors.ts";
import {
  MAX_NOTIFY_BYTES,
  NotifySocket,
  notifySocketPath,
  parseNotify,
  prepareNotifyDir,
} from "./notify_socket.ts";
import type { ReadyFd } from "./ready_fd.ts";
import type { ServiceOptions, ServiceRecord } from "../model/service_record.ts";
import type { ProcessTree } from "../../tree/process_tree.ts";
import { isTreeCgroupId, isTreeMember } from "../../tree/tree_member.ts";
import { Watchdog } from "./watchdog.ts";
import { delay } from "../../os/delay.ts";
import { canSearch } from "../../os/file_access.ts";

/** How often at most a changing `STATUS=` text is written to the state file, in ms. */
export const STATUS_SAVE_MS = 100;
/** The longest `STATUS=` text kept (longer ones are cut). */
const MAX_STATUS_CHARS = 512;
/** Senders remembered for "logged once" (then the memory starts over). */
const MAX_REMEMBERED_SENDERS = 1024;
/** How long a sender's tree membership is believed without a new look at /proc, in ms. */
const MEMBER_CACHE_MS = 200;
/** Datagrams handled per turn before other work of the event loop gets its turn. */
const BATCH = 256;

/** What the supervisor gives a {@linkcode ServiceNotify}. */
export interface NotifyHooks {
  /** The service name, for log lines. */
  name: string;
  /** The run directory (where the notify socket goes). */
  dir: string;
  /** The service's options. */
  options: ServiceOptions;
  /** The service's user, when `--user` was given. */
  user?: { uid: number; gid: number; groups?: number[] };
  /** Append a `[pidkit]` line to the log. */
  log(text: string): void;
  /** Merge a change into the state file. */
  save(change: Partial<ServiceRecord>): Promise<void>;
  /** The current phase in the state. */
  phase(): ServiceRecord["phase"];
  /** A phase change the service announced: RELOADING=1, READY=1 after it, STOPPING=1. */
  enter(input: "reload" | "reloaded" | "stop", details?: { reason?: string }): void;
  /** The watchdog fired: abort and stop the tree, count it as a failure. */
  onWatchdog(why: string): void;
  /** A tree member named another member as the main process (`MAINPID=`). */
  onMainPid(pid: number): void;
  /** The supervisor's poller (it closes it); undefined without FFI. */
  poller: FdPoller | undefined;
}

/** A readiness condition that the supervisor waits for. */
export interface NotifyCondition {
  /** What it waits for, for the timeout message. */
  what: string;
  /** Resolves when it holds. */
  ready: Promise<void>;
}

/**
 * The notify socket, notification fd and watchdog of one service.
 *
 * @example
 * ```ts
 * import { ServiceNotify } from "./service_notify.ts";
 * // inside the supervisor:
 * // const notify = await ServiceNotify.open(hooks);
 * // const { env, wrap } = await notify.prepareSpawn();
 * // notify.attach(tree); ... notify.detach(); await notify.close();
 * console.log(typeof ServiceNotify.open);
 * ```
 */
export class ServiceNotify {
  readonly #hooks: NotifyHooks;
  readonly #poller: FdPoller | undefined;
  readonly #socket: NotifySocket | undefined;
  readonly #fallbackDir: string | undefined;
  readonly #watchdog: Watchdog | undefined;
  #tree: ProcessTree | undefined;
  #readyFd: ReadyFd | undefined;
  #notifyReady!: Promise<void>;
  #resolveReady!: () => void;
  #isReady = false;
  #extendedUntil = 0;
  readonly #warned = new Set<string>();
  #statusText: string | undefined;
  #statusTimer: ReturnType<typeof setTimeout> | undefined;
  #draining = false;
  readonly #members = new Map<number, { tree: ProcessTree; member: boolean; at: number }>();
  /** The attached tree runs (not detached): its messages may change the phase. */
  #live = false;
  /** A spawn is under way: the socket is not read until attach() knows the new tree. */
  #paused = false;

  private constructor(
    hooks: NotifyHooks,
    poller: FdPoller | undefined,
    socket: NotifySocket | undefined,
    fallbackDir: string | undefined,
  ) {
    this.#hooks = hooks;
    this.#poller = poller;
    this.#socket = socket;
    this.#fallbackDir = fallbackDir;
    const wd = hooks.options.watchdogMs;
    if (wd !== undefined || socket !== undefined) {
      this.#watchdog = new Watchdog(wd ?? 0, (why) => {
        hooks.log(`watchdog timeout for ${hooks.name}: ${why}`);
        hooks.onWatchdog(why);
      });
    }
    this.#newReadyPromise();
    if (socket && poller) poller.watch(socket.fd, () => this.#drain());
  }

  /**
   * Set up what the options ask for. Throws {@linkcode PidkitError} with a
   * one-line reason when the socket cannot be made.
   */
  static async open(hooks: NotifyHooks): Promise<ServiceNotify> {
    const { options } = hooks;
    const wanted = options.readyNotify || options.readyFd !== undefined ||
      options.watchdogMs !== undefined;
    if (!wanted) return new ServiceNotify(hooks, undefined, undefined, undefined);
    const poller = hooks.poller;
    if (poller === undefined) {
      const { PidkitError } = await import("../../os/errors.ts");
      throw new PidkitError("--ready-notify, --ready-fd and --watchdog need FFI on Linux (-A)");
    }
    let socket: NotifySocket | undefined;
    let fallbackDir: string | undefined;
    // The watchdog's WATCHDOG=1 comes over the notify socket too.
    if (options.readyNotify || options.watchdogMs !== undefined) {
      // The same path on every start and adoption (the service keeps
      // sending where NOTIFY_SOCKET said when it started).
      // A --user that cannot search the run dir (0750, another group) could never connect there.
      const outOfReach = hooks.user !== undefined && !canSearch(hooks.dir, hooks.user);
      const where = await notifySocketPath(hooks.dir, hooks.name, { outOfReach });
      if (where.fallback) fallbackDir = prepareNotifyDir(where.path, hooks.user);
      try {
        socket = NotifySocket.bind(where.path, hooks.user ?? {});
      } catch (err) {
        if (fallbackDir) Deno.removeSync(fallbackDir, { recursive: true });
        throw err;
      }
      if (where.fallback) {
        hooks.log(
          `${hooks.dir}/${hooks.name}.notify is ${
            outOfReach ? "out of its user's reach" : "too long for a socket address"
          }; NOTIFY_SOCKET is ${where.path}`,
        );
      }
    }
    return new ServiceNotify(hooks, poller, socket, fallbackDir);
  }

  /** The notify socket's path, when there is one. */
  get socketPath(): string | undefined {
    return this.#socket?.path;
  }

  /** The last `STATUS=` text. */
  get statusText(): string | undefined {
    return this.#statusText;
  }

  /** The time (ms since the epoch) `EXTEND_TIMEOUT_USEC=` pushed the ready deadline to (0: none). */
  get extendedUntil(): number {
    return this.#extendedUntil;
  }

  /**
   * Before a spawn: the environment to add and the command wrapper (the
   * notification-fd and WATCHDOG_PID shims).
   */
  async prepareSpawn(): Promise<{ env: Record<string, string>; wrap(cmd: string[]): string[] }> {
    // A service may say READY=1 before its spawn has returned (the spawn
    // still awaits its clean-up; `systemd-notify` takes a few ms): read
    // then, it was judged against no tree (or the last one) and lost. It
    // waits in the socket until attach().
    this.#pause();
    this.#closeReadyFd();
    this.#isReady = false;
    this.#newReadyPromise();
    const env: Record<string, string> = {};
    if (this.#socket) env.NOTIFY_SOCKET = this.#socket.path;
    const wdMs = this.#hooks.options.watchdogMs;
    if (wdMs !== undefined) env.WATCHDOG_USEC = String(wdMs * 1000);
    if (this.#hooks.options.readyFd !== undefined && this.#poller) {
      // Loaded only when asked for.
      const { ReadyFd } = await import("./ready_fd.ts");
      this.#readyFd = await ReadyFd.create(this.#hooks.options.readyFd, {
        poller: this.#poller,
        ...(this.#hooks.user ?? {}),
      });
    }
    const readyFd = this.#readyFd;
    return {
      env,
      wrap: (cmd) => {
        let argv = cmd;
        // The leader keeps the shim's PID through each exec: $$ is the main PID.
        if (wdMs !== undefined) {
          argv = ["/bin/sh", "-c", 'export WATCHDOG_PID=$$; exec "$@"', "sh", ...argv];
        }
        if (readyFd) argv = readyFd.wrap(argv);
        return argv;
      },
    };
  }

  /** After a spawn: messages from this tree's members count from now. */
  attach(tree: ProcessTree): void {
    this.#tree = tree;
    this.#live = true;
    this.#resume();
  }

  #pause(): void {
    if (!this.#socket || !this.#poller || this.#paused) return;
    this.#poller.unwatch(this.#socket.fd);
    this.#paused = true;
  }

  #resume(): void {
    if (!this.#socket || !this.#poller || !this.#paused) return;
    this.#paused = false;
    this.#poller.watch(this.#socket.fd, () => this.#drain());
  }

  /** The tree is ending (exited or being stopped): the watchdog stops, the notification fd closes. */
  detach(): void {
    // Members may still talk while they go (STOPPING=1): still believed,
    // but they change no phase any more.
    this.#live = false;
    this.#watchdog?.disarm();
    this.#closeReadyFd();
  }

  /** The conditions of `--ready-notify` and `--ready-fd` for the current spawn. */
  conditions(): NotifyCondition[] {
    const out: NotifyCondition[] = [];
    if (this.#hooks.options.readyNotify) {
      out.push({ what: "no READY=1 arrived on the notify socket", ready: this.#notifyReady });
    }
    if (this.#readyFd) {
      out.push({
        what: `no newline arrived on descriptor ${this.#readyFd.n} (--ready-fd)`,
        ready: this.#readyFd.ready,
      });
    }
    return out;
  }

  /** The service counts as ready (all conditions held): arm the watchdog. */
  markReady(): void {
    this.#watchdog?.arm();
  }

  /** Stop everything and remove the socket. */
  async close(): Promise<void> {
    this.detach();
    clearTimeout(this.#statusTimer);
    if (this.#socket) this.#poller?.unwatch(this.#socket.fd);
    this.#socket?.close();
    if (this.#fallbackDir) {
      await Deno.remove(this.#fallbackDir, { recursive: true }).catch(() => {});
    }
  }

  #newReadyPromise(): void {
    this.#notifyReady = new Promise((r) => this.#resolveReady = r);
  }

  #closeReadyFd(): void {
    this.#readyFd?.close();
    this.#readyFd = undefined;
  }

  async #drain(): Promise<void> {
    if (this.#draining || !this.#socket) return;
    this.#draining = true;
    try {
      for (let handled = 0;; handled++) {
        if (handled > 0 && handled % BATCH === 0) {
          await delay(0); // let status and stop requests in
        }
        const d = this.#socket.receive();
        if (d === undefined) return;
        this.#handle(d.pid, d.text, d.oversized, d.senderCgroupId);
      }
    } catch (err) {
      this.#hooks.log(`notify socket error: ${messageLine(err)}`);
    } finally {
      this.#draining = false;
    }
  }

  #warnOnce(key: string, text: string): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= MAX_REMEMBERED_SENDERS) this.#warned.clear();
    this.#warned.add(key);
    this.#hooks.log(text);
  }

  #handle(
    pid: number,
    text: string,
    oversized: boolean,
    senderCgroupId: () => bigint | undefined,
  ): void {
    const tree = this.#tree;
    if (tree === undefined || !this.#isMember(tree, pid, senderCgroupId)) {
      this.#warnOnce(
        `sender:${pid}`,
        `ignored a notify message from pid ${pid}: not a process of ${this.#hooks.name}`,
      );
      return;
    }
    if (oversized) {
      this.#warnOnce(
        `big:${pid}`,
        `ignored a notify message over ${MAX_NOTIFY_BYTES} bytes from pid ${pid}`,
      );
      return;
    }
    for (const { key, value } of parseNotify(text)) this.#apply(pid, key, value, tree);
  }

  /**
   * Membership of a sender, remembered for {@linkcode MEMBER_CACHE_MS}: a
   * chatty member costs one look at /proc per period, not one per message.
   * A sender /proc does not place (it sent, exited and was reaped before
   * the datagram was read: a short-lived helper on a loaded machine) is
   * placed by the cgroup its pidfd names, in the cgroup tier.
   */
  #isMember(tree: ProcessTree, pid: number, senderCgroupId: () => bigint | undefined): boolean {
    const now = performance.now();
    const known = this.#members.get(pid);
    if (known !== undefined && known.tree === tree && now - known.at < MEMBER_CACHE_MS) {
      return known.member;
    }
    let member = isTreeMember(tree.ref, pid);
    if (!member && tree.ref.tracking === "cgroup") {
      const id = senderCgroupId();
      member = id !== undefined && isTreeCgroupId(tree.ref, id);
    }
    if (this.#members.size >= MAX_REMEMBERED_SENDERS) this.#members.clear();
    this.#members.set(pid, { tree, member, at: now });
    return member;
  }

  #apply(pid: number, key: string, value: string, tree: ProcessTree): void {
    const h = this.#hooks;
    if (!this.#live && key !== "STATUS") return;
    switch (key) {
      case "READY":
        if (value !== "1") return;
        if (!this.#isReady) {
          this.#isReady = true;
          h.log(`${h.name} is ready (READY=1 from pid ${pid})`);
          this.#resolveReady();
        } else if (h.phase() === "reloading") {
          h.log(`${h.name} finished reloading (READY=1)`);
          h.enter("reloaded");
        }
        return;
      case "STATUS":
        this.#setStatus(value);
        return;
      case "STOPPING":
        if (value !== "1") return;
        h.log(`${h.name} is stopping (STOPPING=1 from pid ${pid})`);
        this.#watchdog?.disarm();
        h.enter("stop", { reason: `STOPPING=1 from pid ${pid}` });
        return;
      case "RELOADING":
        if (value !== "1") return;
        h.log(`${h.name} is reloading (RELOADING=1 from pid ${pid})`);
        h.enter("reload");
        return;
      case "ERRNO": {
        const n = Number(value);
        if (/^\d{1,4}$/.test(value)) void h.save({ notifyErrno: n });
        return;
      }
      case "MAINPID": {
        const main = /^\d{1,10}$/.test(value) ? Number(value) : 0;
        if (main > 0 && isTreeMember(tree.ref, main)) h.onMainPid(main);
        else {
          this.#warnOnce(
            `mainpid:${value}`,
            `ignored MAINPID=${value.slice(0, 32)} from pid ${pid}: not a process of ${h.name}`,
          );
        }
        return;
      }
      case "EXTEND_TIMEOUT_USEC": {
        const us = Number(value);
        if (/^\d{1,15}$/.test(value)) this.#extendedUntil = Date.now() + Math.ceil(us / 1000);
        return;
      }
      case "WATCHDOG":
        if (value === "1") this.#watchdog?.ping();
        else if (value === "trigger") this.#watchdog?.trigger();
        return;
      case "WATCHDOG_USEC": {
        if (!/^\d{1,15}$/.test(value) || Number(value) === 0) return;
        this.#watchdog?.setPeriod(Math.ceil(Number(value) / 1000));
        return;
      }
    }
  }

  #setStatus(value: string): void {
    // deno-lint-ignore no-control-regex -- a status line is shown on one terminal line
    const text = value.replace(/[\x00-\x1f\x7f]/g, " ").slice(0, MAX_STATUS_CHARS);
    if (text === this.#statusText) return;
    this.#statusText = text;
    if (this.#statusTimer !== undefined) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = undefined;
      void this.#hooks.save({ statusText: this.#statusText });
    }, STATUS_SAVE_MS);
  }

  /** Write a pending `STATUS=` now (before a phase change is saved, say). */
  flushStatus(): Partial<ServiceRecord> {
    if (this.#statusTimer === undefined) return {};
    clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
    return { statusText: this.#statusText };
  }
}
