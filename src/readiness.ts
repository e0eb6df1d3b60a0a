/**
 * When a freshly started service counts as ready: it has lived a while
 * (default 100 ms), a TCP connection to it succeeds, or a file it creates
 * exists. `pidkit start` returns only then.
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
/** How long `--ready-tcp`/`--ready-file` may take before the start fails, in ms. */
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
 * Wait until `check` passes. Resolves `"ready"`, or `"exited"` as soon as
 * `exited` settles first, or `"timeout"` after {@linkcode READY_TIMEOUT_MS}
 * (`--ready-tcp`/`--ready-file` only).
 */
export async function waitReady(
  check: ReadyCheck,
  exited: Promise<unknown>,
): Promise<"ready" | "exited" | "timeout"> {
  let gone = false;
  const goneP = exited.then(() => {
    gone = true;
    return "exited" as const;
  }, () => {
    gone = true;
    return "exited" as const;
  });
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const afterMs = check.afterMs ?? (check.tcp || check.file ? 0 : DEFAULT_READY_AFTER_MS);
  if (afterMs > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lived = new Promise<"ready">((r) => timer = setTimeout(() => r("ready"), afterMs));
    const first = await Promise.race([lived, goneP]);
    clearTimeout(timer);
    if (first === "exited") return first;
  }
  if (!check.tcp && !check.file) return gone ? "exited" : "ready";
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const target = check.tcp ? parseHostPort(check.tcp) : undefined;
  while (!gone) {
    if (target && await connects(target)) return "ready";
    if (check.file && isNew(await markFile(check.file), check.fileBefore)) return "ready";
    if (Date.now() > deadline) return "timeout";
    await Promise.race([sleep(POLL_MS), goneP]);
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
