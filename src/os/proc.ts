/**
 * Readers for Linux `/proc`: process stat, command line, environment, the
 * lock table, boot id and PID namespace.
 *
 * Deno grants access under `/proc` only with every permission (`-A`): a
 * scoped `--allow-read=/proc` fails with `NotCapable`. These readers let that
 * error through so callers can say clearly what is missing; a process that
 * has gone away reads as `undefined`, never as an error.
 *
 * They are synchronous on purpose: each file is tiny and in memory, and a
 * scan of hundreds of processes is several times faster without a trip
 * through the event loop per file.
 *
 * @module
 */

/**
 * Clock ticks per second for `/proc/PID/stat` times (`USER_HZ`, 100 on Linux).
 *
 * @example
 * ```ts
 * import { CLOCK_TICKS_PER_SECOND, readProcStat } from "./proc.ts";
 * const st = readProcStat("self")!;
 * console.log((st.utime + st.stime) / CLOCK_TICKS_PER_SECOND, "s of CPU");
 * ```
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One process as `/proc/PID/stat` describes it. */
export interface ProcStat {
  /** Process id. */
  pid: number;
  /** The executable's name (at most 15 bytes, as the kernel truncates it). */
  comm: string;
  /** State letter: R, S, D, T, t, Z (zombie), X (dead), I, P... */
  state: string;
  /** Parent process id. */
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Session id. */
  sid: number;
  /** User-mode CPU time in clock ticks. */
  utime: number;
  /** Kernel-mode CPU time in clock ticks. */
  stime: number;
  /** User-mode CPU time of its children that ended and were waited for, clock ticks (field 16). */
  cutime?: number;
  /** Kernel-mode CPU time of its children that ended and were waited for, clock ticks (field 17). */
  cstime?: number;
  /** Number of threads. */
  threads: number;
  /** Start time after boot in clock ticks (field 22): with the PID, identifies a process. */
  startTime: number;
  /** Resident set size in pages. */
  rssPages: number;
}

/** Read a `/proc` file as text, or `undefined` when it (the process) does not exist. */
function readProcFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    // ESRCH surfaces as an Error with this text when the process dies mid-read.
    if (err instanceof Error && /No such process|os error 3\b/.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * Parse the text of a `/proc/PID/stat` file. The command name is in
 * parentheses and may itself contain spaces and parentheses, so the fields
 * are counted from the *last* `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: field(4),
    pgid: field(5),
    sid: field(6),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    threads: field(20),
    startTime: field(22),
    rssPages: field(24),
  };
}

/**
 * The stat of process `pid`, or `undefined` if there is no such process.
 *
 * @example
 * ```ts
 * import { readProcStat } from "./proc.ts";
 * const me = readProcStat(Deno.pid);
 * console.log(me?.startTime, me?.pgid);
 * ```
 */
export function readProcStat(pid: number | "self"): ProcStat | undefined {
  const text = readProcFile(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/**
 * Whether process `pid` is stopped (SIGSTOP, SIGTSTP, a tracer): state `T`
 * or `t` in /proc/PID/stat. It answers nothing until it gets SIGCONT.
 *
 * @example
 * ```ts
 * import { isStoppedProcess } from "./proc.ts";
 * console.log(isStoppedProcess(Deno.pid)); // false
 * ```
 */
export function isStoppedProcess(pid: number): boolean {
  const state = readProcStat(pid)?.state;
  return state === "T" || state === "t";
}

/** True for the state letters of a process that has exited (zombie `Z`, dead `X`/`x`). */
export function isDeadState(state: string): boolean {
  return state === "Z" || state === "X" || state === "x";
}

/**
 * Whether `pid` is a live process: it exists and is not a zombie. Unlike
 * `kill(pid, 0)`, a zombie that nobody has reaped yet counts as dead.
 * When `startTime` is given, the process must also have started then
 * (otherwise the PID was reused by another process).
 *
 * @example
 * ```ts
 * import { isProcessAlive } from "./proc.ts";
 * console.log(isProcessAlive(Deno.pid)); // true
 * ```
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  const st = readProcStat(pid);
  if (st === undefined || isDeadState(st.state)) return false;
  return startTime === undefined || st.startTime === startTime;
}

/**
 * The argument vector of `pid` (empty for kernel threads), or `undefined` if it is gone.
 *
 * @example
 * ```ts
 * import { readCmdline } from "./proc.ts";
 * console.log(readCmdline(Deno.pid)?.join(" "));
 * ```
 */
export function readCmdline(pid: number | "self"): string[] | undefined {
  const text = readProcFile(`/proc/${pid}/cmdline`);
  if (text === undefined) return undefined;
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

/**
 * The environment of `pid` as `KEY=VALUE` strings, or `undefined` if it is
 * gone or not readable (another user's process without privilege).
 *
 * @example
 * ```ts
 * import { readEnviron } from "./proc.ts";
 * const marker = readEnviron(Deno.pid)?.find((e) => e.startsWith("PIDKIT_SERVICE="));
 * ```
 */
export function readEnviron(pid: number | "self"): string[] | undefined {
  try {
    const text = readProcFile(`/proc/${pid}/environ`);
    return text === undefined ? undefined : text.split("\0").filter((s) => s !== "");
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) return undefined;
    throw err;
  }
}

/**
 * Every PID listed in `/proc`, in directory order.
 *
 * @example
 * ```ts
 * import { listPids } from "./proc.ts";
 * console.log(listPids().length, "processes");
 * ```
 */
export function listPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const c = entry.name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(entry.name));
  }
  return pids;
}

/** One line of `/proc/locks`. */
export interface LockEntry {
  /** `FLOCK`, `POSIX`, `OFDLCK`, `LEASE`... */
  kind: string;
  /** `WRITE` (exclusive) or `READ` (shared). */
  mode: string;
  /** PID that took the lock, in this PID namespace (may be dead or reused: cross-check). */
  pid: number;
  /** `major:minor` of the device, lowercase hex, as `/proc/locks` prints it. */
  device: string;
  /** Inode number. */
  inode: number;
  /** True for a process blocked waiting for the lock (`->` lines). */
  waiting: boolean;
}

/**
 * Parse one line of `/proc/locks` (`N: KIND ADVISORY MODE PID MAJ:MIN:INO
 * START END`, or `N: -> KIND ...` for a waiter); `undefined` for anything
 * else.
 *
 * @example
 * ```ts
 * import { parseLockLine } from "./proc.ts";
 * parseLockLine("1: FLOCK  ADVISORY  WRITE 678 fe:00:2146655 0 EOF");
 * // { kind: "FLOCK", mode: "WRITE", pid: 678, device: "fe:00", inode: 2146655, waiting: false }
 * ```
 */
export function parseLockLine(line: string): LockEntry | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 6) return undefined;
  const waiting = f[1] === "->";
  const g = waiting ? f.slice(2) : f.slice(1);
  // g: kind, ADVISORY|MANDATORY, mode, pid, maj:min:ino, start, end
  const idx = g[4]?.lastIndexOf(":") ?? -1;
  if (idx < 0) return undefined;
  return {
    kind: g[0],
    mode: g[2],
    pid: Number(g[3]),
    device: g[4].slice(0, idx),
    inode: Number(g[4].slice(idx + 1)),
    waiting,
  };
}

/**
 * The `major:minor` text `/proc/locks` uses for a `stat().dev` number
 * (Linux `new_encode_dev` layout, lowercase hex, two digits at least).
 *
 * @example
 * ```ts
 * import { deviceKey } from "./proc.ts";
 * deviceKey(65024); // "fe:00"
 * ```
 */
export function deviceKey(dev: number): string {
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/**
 * This boot's id (`/proc/sys/kernel/random/boot_id`), or `undefined` where there is none.
 *
 * @example
 * ```ts
 * import { readBootId } from "./proc.ts";
 * console.log(readBootId()); // e.g. "3f1c9f0e-..."
 * ```
 */
export function readBootId(): string | undefined {
  try {
    return readProcFile("/proc/sys/kernel/random/boot_id")?.trim();
  } catch {
    return undefined;
  }
}

/**
 * The inode of `/proc/PID/ns/pid`: equal numbers mean the same PID namespace.
 *
 * @example
 * ```ts
 * import { readPidNamespace } from "./proc.ts";
 * const sameNamespace = readPidNamespace(1) === readPidNamespace();
 * ```
 */
export function readPidNamespace(pid: number | "self" = "self"): number | undefined {
  try {
    const link = Deno.readLinkSync(`/proc/${pid}/ns/pid`); // "pid:[4026531836]"
    const m = /\[(\d+)\]/.exec(link);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

let cachedPageSize: number | undefined;

/**
 * The memory page size in bytes, derived from this process's own resident
 * size as `/proc/self/status` (kB) and `/proc/self/statm` (pages) report it,
 * so 16 KiB and 64 KiB page kernels are right too.
 */
export function pageSize(): number {
  if (cachedPageSize !== undefined) return cachedPageSize;
  let size = 4096;
  try {
    const statm = Deno.readTextFileSync("/proc/self/statm").split(" ");
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    const pages = Number(statm[1]);
    if (kb > 0 && pages > 0) {
      // Round to a power of two: the two reads are not simultaneous.
      size = 2 ** Math.round(Math.log2((kb * 1024) / pages));
    }
  } catch {
    // keep the common default
  }
  cachedPageSize = size;
  return size;
}

/** Seconds since boot, from `/proc/uptime`. */
export function readUptimeSeconds(): number {
  return Number((readProcFile("/proc/uptime") ?? "0").split(" ")[0]);
}

/**
 * Whether `/proc` can be read here: Linux, and the process has the
 * permissions Deno requires for it (`-A`).
 */
export function procAvailable(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    Deno.readTextFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the environment of `pid` holds exactly the entry `entry`
 * (`KEY=VALUE`). Reads `/proc/PID/environ` as raw text and searches it,
 * which is cheaper than splitting it. False when the process is gone or
 * its environment is not readable.
 */
export function environHas(pid: number, entry: string): boolean {
  const text = environText(pid);
  if (text === null) return false;
  return text.startsWith(`${entry}\0`) || text.includes(`\0${entry}\0`) || text === entry;
}

/** The raw text of `/proc/PID/environ`, `null` when gone or not readable. */
function environText(pid: number): string | null {
  try {
    return readProcFile(`/proc/${pid}/environ`) ?? null;
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) return null;
    throw err;
  }
}

/**
 * The value of variable `key` in the environment of `pid` (the first entry
 * `key=...`): `undefined` when it has none, `null` when the process is gone
 * or its environment is not readable. Searches the raw text, cheaper than
 * splitting it.
 *
 * @example
 * ```ts
 * import { environValue } from "./proc.ts";
 * console.log(environValue(Deno.pid, "PIDKIT_SERVICE")); // undefined outside a service
 * ```
 */
export function environValue(pid: number, key: string): string | undefined | null {
  const text = environText(pid);
  if (text === null) return null;
  const at = text.startsWith(`${key}=`) ? 0 : text.indexOf(`\0${key}=`) + 1;
  if (at === 0 && !text.startsWith(`${key}=`)) return undefined;
  const start = at + key.length + 1;
  const end = text.indexOf("\0", start);
  return text.slice(start, end < 0 ? undefined : end);
}

/**
 * The PID most recently handed out in this PID namespace (last field of
 * `/proc/loadavg`). When it has not changed, no process was created in
 * between: a cheap way to skip a rescan of `/proc`.
 */
export function readLastPid(): number {
  const text = readProcFile("/proc/loadavg") ?? "";
  return Number(text.slice(text.lastIndexOf(" ") + 1));
}

/** One line of `/proc/PID/mountinfo`, the fields pidkit needs. */
export interface MountInfo {
  /** The mount's root inside its filesystem (field 4), e.g. `/` or `/user.slice`. */
  root: string;
  /** Where it is mounted (field 5), octal escapes decoded. */
  mountPoint: string;
  /** Filesystem type after the ` - ` separator, e.g. `cgroup2`. */
  fsType: string;
  /** Per-mount options (field 6), e.g. `rw,relatime`. */
  options: string;
}

/** Decode the `\040`-style octal escapes of `/proc` mount tables. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse the text of `/proc/PID/mountinfo`. */
export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const f = line.slice(0, sep).split(" ");
    const after = line.slice(sep + 3).split(" ");
    if (f.length < 6 || after.length < 1) continue;
    mounts.push({
      root: unescapeMount(f[3]),
      mountPoint: unescapeMount(f[4]),
      fsType: after[0],
      options: f[5],
    });
  }
  return mounts;
}

/** The mounts this process sees, from `/proc/self/mountinfo` (empty when unreadable). */
export function readMountinfo(): MountInfo[] {
  try {
    return parseMountinfo(readProcFile("/proc/self/mountinfo") ?? "");
  } catch {
    return [];
  }
}

/**
 * The cgroup v2 path of `pid` (the `0::/path` line of `/proc/PID/cgroup`),
 * or `undefined` when the process is gone or not in a v2 hierarchy.
 */
export function readCgroupV2Path(pid: number | "self" = "self"): string | undefined {
  const text = readProcFile(`/proc/${pid}/cgroup`);
  if (text === undefined) return undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("0::")) return line.slice(3).replace(/ \(deleted\)$/, "");
  }
  return undefined;
}

/**
 * PIDs holding (not waiting for) an `flock` on the file with this `dev` and
 * `ino`, as the kernel reports them in this PID namespace. The listed PID is
 * the process that took the lock; it may since have died while a child that
 * inherited the descriptor keeps the lock, so cross-check with `/proc/PID`.
 * Only the lines naming this file are parsed (with {@linkcode parseLockLine}):
 * `probe()` calls it every time, and a machine with many POSIX locks
 * (SQLite databases, say) has long `/proc/locks` files.
 *
 * @example
 * ```ts
 * import { findLockHolders } from "./proc.ts";
 * const st = await Deno.stat("/run/app.pid");
 * console.log(findLockHolders(st.dev, st.ino!, "WRITE"));
 * ```
 */
export function findLockHolders(dev: number, ino: number, mode?: "WRITE" | "READ"): number[] {
  const text = readProcFile("/proc/locks") ?? "";
  const device = deviceKey(dev);
  const needle = ` ${device}:${ino} `;
  const pids: number[] = [];
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const end = text.indexOf("\n", at);
    const entry = parseLockLine(
      text.slice(text.lastIndexOf("\n", at) + 1, end < 0 ? undefined : end),
    );
    if (entry === undefined || entry.kind !== "FLOCK" || entry.waiting) continue;
    if (entry.device !== device || entry.inode !== ino) continue;
    if (mode !== undefined && entry.mode !== mode) continue;
    // One PID once: a process may hold shared locks through two open files,
    // and /proc/locks read while locks change can repeat a line.
    if (!pids.includes(entry.pid)) pids.push(entry.pid);
  }
  return pids;
}

/** One open descriptor of a process, read only as far as asked. */
export interface OpenFd {
  /** The descriptor number. */
  fd: number;
  /** Where `/proc/PID/fd/N` points (a path, `path (deleted)`, `pipe:[...]`...); `undefined` once closed. */
  link(): string | undefined;
  /** The file it has open (through the descriptor: even an unlinked one); `undefined` once closed. */
  stat(): Deno.FileInfo | undefined;
  /**
   * The locks held through this open file (`/proc/PID/fdinfo/N`'s `lock:`
   * lines): one small file, read at once, where `/proc/locks` is generated a
   * page at a time and can skip a line while other locks come and go.
   * Empty once closed.
   */
  locks(): LockEntry[];
}

/**
 * The first open descriptor of process `pid` that `match` accepts, from
 * `/proc/PID/fd` (the one scan of a process's descriptors): `found` is it,
 * or `error` says why none could be looked at (`gone`: no such process;
 * `unreadable`: another user's process, say).
 *
 * @example
 * ```ts
 * import { findOpenFd } from "./proc.ts";
 * const { found } = findOpenFd(Deno.pid, (f) => f.link()?.endsWith(".pid") === true);
 * console.log(found?.fd);
 * ```
 */
export function findOpenFd(
  pid: number | "self",
  match: (fd: OpenFd) => boolean,
): { found?: OpenFd; error?: "gone" | "unreadable" } {
  const dir = `/proc/${pid}/fd`;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    return { error: err instanceof Deno.errors.NotFound ? "gone" : "unreadable" };
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    const fd: OpenFd = {
      fd: Number(entry.name),
      link: () => {
        try {
          return Deno.readLinkSync(path);
        } catch {
          return undefined; // closed meanwhile
        }
      },
      stat: () => {
        try {
          return Deno.statSync(path);
        } catch {
          return undefined; // closed meanwhile
        }
      },
      locks: () => fdLocks(`/proc/${pid}/fdinfo/${entry.name}`),
    };
    if (match(fd)) return { found: fd };
  }
  return {};
}

/** The `lock:` lines of an fdinfo file, parsed; none when it cannot be read. */
function fdLocks(path: string): LockEntry[] {
  let text: string | undefined;
  try {
    text = readProcFile(path);
  } catch {
    return [];
  }
  const out: LockEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    if (!line.startsWith("lock:")) continue;
    const entry = parseLockLine(line.slice("lock:".length));
    if (entry) out.push(entry);
  }
  return out;
}

/**
 * Whether process `pid` has the file with this `dev` and `ino` open, from
 * its `/proc/PID/fd` links. Evidence that a PID reported as a lock holder
 * still holds the file: `/proc/locks` names the process that *took* the
 * lock, which may since have died (its PID reused) while a child that
 * inherited the descriptor keeps the lock. `false` when unreadable.
 *
 * @example
 * ```ts
 * import { hasFileOpen } from "./proc.ts";
 * using f = await Deno.open("/tmp/x", { create: true, write: true });
 * const st = await f.stat();
 * console.log(hasFileOpen(Deno.pid, st.dev, st.ino!)); // true
 * ```
 */
export function hasFileOpen(pid: number, dev: number, ino: number): boolean {
  return findOpenFd(pid, (f) => {
    const st = f.stat();
    return st !== undefined && st.dev === dev && st.ino === ino;
  }).found !== undefined;
}
