/**
 * When a freshly started service counts as ready: it has lived a while
 * (default 100 ms), a TCP connection to it succeeds, a file it creates
 * exists, it said so (sd_notify, a notification fd); every condition given
 * must hold, within one timeout. `pidkit start` returns only then. The
 * supervisor waits through one wait built on this one
 * (machine/ready_wait.ts), for every kind of start.
 *
 * @module
 */

/** How to decide that a service is ready. */
export interface ReadyCheck {
  /** Ready once it has lived this long, in ms (default 100 when nothing else is given). */
  afterMs?: number;
  /** Ready once a TCP connection to `HOST:PORT` succeeds. */
  tcp?: string;
  /**
   * Ready once this file exists, created or touched after
   * {@linkcode ReadyCheck.fileBefore} was taken.
   */
  file?: string;
  /**
   * What was at `file` before the service started ({@linkcode markFile}):
   * a file left there by an earlier run does not count as ready until it is
   * replaced or its modification time changes.
   */
  fileBefore?: FileMark;
  /** Give up after this long, in ms (default {@linkcode READY_TIMEOUT_MS}). */
  timeoutMs?: number;
  /**
   * Conditions that say by themselves when they hold (sd_notify `READY=1`,
   * a notification fd): each `ready` resolves then; `what` says what was
   * missing when the wait times out.
   */
  conditions?: { what: string; ready: Promise<void> }[];
  /** A later deadline asked for meanwhile (`EXTEND_TIMEOUT_USEC=`), ms since the epoch. */
  extendedUntil?: () => number;
}

/** The identity and modification time of a file, to tell whether it changed. */
export interface FileMark {
  /** Device number. */
  dev: number;
  /** Inode number. */
  ino: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
}

/** What is at `path` now: `undefined` when nothing (or it cannot be seen). */
export async function markFile(path: string): Promise<FileMark | undefined> {
  try {
    const st = await Deno.stat(path);
    return { dev: st.dev, ino: st.ino ?? 0, mtimeMs: st.mtime?.getTime() ?? 0 };
  } catch {
    return undefined;
  }
}

/** The default for {@linkcode ReadyCheck.afterMs}. */
export const DEFAULT_READY_AFTER_MS = 100;
/** How long readiness may take before the start fails, in ms (`--ready-timeout`'s default). */
export const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 25;

/** Split `HOST:PORT` (IPv6 hosts in brackets); `undefined` when malformed. */
export function parseHostPort(text: string): { hostname: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { hostname: m[1] ?? (m[2] || "127.0.0.1"), port };
}

/**
 * Wait until every condition of `check` holds. Resolves `"ready"`, or
 * `"exited"` as soon as `exited` settles first, or `"timeout"` after
 * {@linkcode ReadyCheck.timeoutMs} (default {@linkcode READY_TIMEOUT_MS};
 * a lone `afterMs` cannot time out), calling `options.onTimeout` with what
 * was still missing.
 */
export async function waitReady(
  check: ReadyCheck,
  exited: Promise<unknown>,
  options: { onTimeout?: (unmet: string[]) => void } = {},
): Promise<"ready" | "exited" | "timeout"> {
  const started = Date.now();
  let gone = false;
  const goneP = exited.then(() => {
    gone = true;
    return "exited" as const;
  }, () => {
    gone = true;
    return "exited" as const;
  });
  const conditions = (check.conditions ?? []).map((c) => {
    const held = { what: c.what, done: false, ready: c.ready };
    c.ready.then(() => held.done = true, () => {});
    return held;
  });
  const others = check.tcp !== undefined || check.file !== undefined || conditions.length > 0;
  const afterMs = check.afterMs ?? (others ? 0 : DEFAULT_READY_AFTER_MS);
  if (afterMs > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lived = new Promise<"ready">((r) => timer = setTimeout(() => r("ready"), afterMs));
    const first = await Promise.race([lived, goneP]);
    clearTimeout(timer);
    if (first === "exited") return first;
  }
  if (!others) return gone ? "exited" : "ready";
  const timeoutMs = check.timeoutMs ?? READY_TIMEOUT_MS;
  const deadline = () => Math.max(started + timeoutMs, check.extendedUntil?.() ?? 0);
  const target = check.tcp ? parseHostPort(check.tcp) : undefined;
  let tcpHeld = target === undefined;
  let fileHeld = check.file === undefined;
  while (!gone) {
    if (!tcpHeld) tcpHeld = await connects(target!);
    if (!fileHeld) fileHeld = isNew(await markFile(check.file!), check.fileBefore);
    const unmet = [
      ...(tcpHeld ? [] : [`${check.tcp} accepted no connection`]),
      ...(fileHeld ? [] : [`${check.file} did not appear`]),
      ...conditions.filter((c) => !c.done).map((c) => c.what),
    ];
    if (unmet.length === 0) return gone ? "exited" : "ready";
    const left = deadline() - Date.now();
    if (left < 0) {
      options.onTimeout?.(unmet);
      return "timeout";
    }
    // Polled conditions look again soon; the others wake us when they hold.
    const ms = tcpHeld && fileHeld ? Math.min(left + 1, 1000) : POLL_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise((r) => timer = setTimeout(r, ms)),
      goneP,
      ...conditions.filter((c) => !c.done).map((c) => c.ready),
    ]);
    clearTimeout(timer);
  }
  return "exited";
}

/** How long one connection attempt may take before it counts as "not yet". */
const CONNECT_TIMEOUT_MS = 1000;

/**
 * Whether a TCP connection to `target` succeeds within a second. A host
 * that drops SYNs would otherwise hold one attempt for minutes, past the
 * 60 s limit of the whole wait.
 */
async function connects(target: { hostname: string; port: number }): Promise<boolean> {
  const attempt = Deno.connect({ ...target, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), CONNECT_TIMEOUT_MS));
  try {
    const conn = await Promise.race([attempt, late]);
    if (conn === "late") {
      // Close it if it connects after all; nobody waits for it any more.
      attempt.then((c) => c.close(), () => {});
      return false;
    }
    conn.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `now` is a file that was not there as `before`: created, replaced or touched since. */
function isNew(now: FileMark | undefined, before: FileMark | undefined): boolean {
  if (now === undefined) return false;
  if (before === undefined) return true;
  return now.dev !== before.dev || now.ino !== before.ino || now.mtimeMs !== before.mtimeMs;
}
