/**
 * Services' logs from code: {@linkcode serviceLogs} (one service: the last
 * lines across its rotated files, then, following, new lines across
 * restarts and rotation) and {@linkcode mergedServiceLogs} (several, or
 * every service of the run directory, interleaved in time order). `pidkit
 * logs` prints these.
 *
 * @module
 */

import { FileError, PidkitError } from "../../os/errors.ts";
import { delay } from "../../os/delay.ts";
import { readServiceRecord } from "../model/service_record.ts";
import { resolveRunDir, serviceNames, servicePaths, validateName } from "../model/run_dir.ts";
import { LogFollower, type RawLine, tailFile, withKeptLines } from "./log_reader.ts";
import { LogTimesReader } from "./log_times.ts";

/** How often a followed log is looked at. */
const POLL_MS = 100;
/** How often (in polls) the run directory is looked at for new services. */
const SCAN_EVERY = 10;
const decoder = new TextDecoder();

/** One line of a service's log. */
export interface ServiceLogLine {
  /** `"line"`. */
  type: "line";
  /** The service. */
  service: string;
  /** The line without its newline, as UTF-8 (bad bytes as U+FFFD). */
  text: string;
  /** The line's bytes, without its newline. */
  bytes: Uint8Array;
  /**
   * Whether a newline ended it. False for the last line of a file that
   * does not end in one, and, when following, for the part of a line that
   * waited too long for its end (the rest comes as the next line).
   */
  newline: boolean;
  /** When the supervisor wrote it to the log, when it stamped it (see docs/commands.md, "Logs and times"). */
  time?: Date;
}

/** Something the reader should know: a rotated file missing from the numbering, a log that cannot be read. */
export interface ServiceLogWarning {
  /** `"warning"`. */
  type: "warning";
  /** The service. */
  service: string;
  /** One line, e.g. `/run/pidkit/web.log.2 is missing (...)`. */
  message: string;
}

/** What {@linkcode serviceLogs} yields. */
export type ServiceLogItem = ServiceLogLine | ServiceLogWarning;

/** Options of {@linkcode serviceLogs} and {@linkcode mergedServiceLogs}. */
export interface ServiceLogsOptions {
  /** The run directory (see {@linkcode resolveRunDir}). */
  dir?: string;
  /** How many of the last lines to give first (per service); default 20. */
  lines?: number;
  /** Then keep giving new lines as they are written, until `signal` aborts. */
  follow?: boolean;
  /** Ends following: the iterator returns. */
  signal?: AbortSignal;
  /**
   * Following: called with a log's path when it begins to be followed and
   * does not exist yet (it has been looked for; the follower now waits for
   * it). A log made after the call is read from its first line. (To say
   * "waiting for ..." to a user, or for a test to make the log only then.)
   */
  onWaiting?: (path: string) => void;
}

/** Options of {@linkcode mergedServiceLogs}. */
export interface MergedServiceLogsOptions extends ServiceLogsOptions {
  /**
   * Called with the services being read, before the first item and again
   * when following finds more (to pad a prefix to the longest name, say).
   */
  onServices?: (names: string[]) => void;
}

/** One service's log being read. */
class LogSource {
  readonly service: string;
  readonly path: string;
  readonly times: LogTimesReader;
  readonly onWaiting?: (path: string) => void;
  follower?: LogFollower;

  constructor(service: string, path: string, onWaiting?: (path: string) => void) {
    this.service = service;
    this.path = path;
    this.times = new LogTimesReader(path);
    this.onWaiting = onWaiting;
  }

  static async of(
    dir: string,
    name: string,
    onWaiting?: (path: string) => void,
  ): Promise<LogSource> {
    const paths = servicePaths(dir, name);
    const state = await readServiceRecord(paths.state).catch(() => undefined);
    return new LogSource(name, state?.log ?? paths.log, onWaiting);
  }

  line(raw: RawLine): ServiceLogLine {
    const time = this.times.timeOf(raw.ino, raw.end);
    return {
      type: "line",
      service: this.service,
      text: decoder.decode(raw.bytes),
      bytes: raw.bytes,
      newline: raw.newline,
      ...(time ? { time } : {}),
    };
  }

  /**
   * The last `n` lines (and warnings); then `follower` is ready to follow
   * from the end. `undefined` when there is no log yet.
   */
  async tail(n: number, follow: boolean): Promise<ServiceLogItem[] | undefined> {
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(this.path, { read: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw openError(this.path, err);
      if (follow) {
        this.follower = new LogFollower(this.path);
        this.onWaiting?.(this.path);
      }
      return undefined;
    }
    try {
      const { lines: recent, size } = await tailFile(file, this.path, n);
      const { lines, missing } = await withKeptLines(this.path, recent, n);
      const out: ServiceLogItem[] = [];
      if (missing.length > 0) {
        out.push({
          type: "warning",
          service: this.service,
          message: `${missing.join(", ")} ${
            missing.length === 1 ? "is" : "are"
          } missing (removed by something other than pidkit); older lines are from the files past it`,
        });
      }
      out.push(...lines.map((l) => this.line(l)));
      if (follow) {
        this.follower = new LogFollower(this.path, file, size);
        file = undefined; // the follower's now
      }
      return out;
    } finally {
      file?.close();
    }
  }

  async poll(): Promise<ServiceLogLine[]> {
    let raw: RawLine[];
    try {
      raw = await this.follower!.poll();
    } catch (err) {
      throw openError(this.path, err);
    }
    if (raw.length > 0) this.times.refresh();
    return raw.map((l) => this.line(l));
  }

  close(): void {
    this.follower?.close();
  }
}

function openError(path: string, err: unknown): PidkitError {
  if (err instanceof PidkitError) return err;
  if (err instanceof Deno.errors.PermissionDenied) {
    return new FileError(path, "permission", `cannot read ${path}: permission denied`);
  }
  return new PidkitError(`cannot read ${path}: ${(err as Error).message}`);
}

function checkLines(lines: number | undefined): number {
  const n = lines ?? 20;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new PidkitError(`bad options.lines ${lines}: a whole number, 0 or more`);
  }
  return n;
}

/** Wait one poll; false when `signal` aborted. */
async function pause(signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await delay(POLL_MS, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * The log of service `name`: its last `lines` lines (default 20), read
 * from the end and back into the rotated files `NAME.log.1`, `.2`, ...
 * (a number missing between them is read past and reported as a warning
 * item before the lines); with `follow`, then every new line as it is
 * written, across restarts and rotation (the old file is finished, then
 * the new one read from its start), until `signal` aborts; a log that does
 * not exist yet is waited for (`onWaiting` says when). The log is the
 * one the service's record names (`--log`), else `DIR/NAME.log`.
 *
 * Throws {@linkcode PidkitError} when there is no log (and not following)
 * or it cannot be read.
 *
 * @example The last 5 lines, then follow for a second
 * ```ts
 * import { serviceLogs } from "@pidkit/pidkit/service";
 *
 * const signal = AbortSignal.timeout(1000);
 * try {
 *   for await (const item of serviceLogs("web", { lines: 5, follow: true, signal })) {
 *     if (item.type === "warning") console.error(item.message);
 *     else console.log(item.time?.toISOString() ?? "-", item.text);
 *   }
 * } catch (err) {
 *   console.error((err as Error).message); // e.g. no log for web: ... does not exist
 * }
 * ```
 */
export async function* serviceLogs(
  name: string,
  options: ServiceLogsOptions = {},
): AsyncGenerator<ServiceLogItem> {
  validateName(name);
  const n = checkLines(options.lines);
  const dir = resolveRunDir({ dir: options.dir });
  const source = await LogSource.of(dir, name, options.onWaiting);
  try {
    const first = await source.tail(n, options.follow === true);
    if (first === undefined && !options.follow) {
      throw new PidkitError(`no log for ${name}: ${source.path} does not exist`);
    }
    yield* first ?? [];
    if (!options.follow) return;
    while (await pause(options.signal)) yield* await source.poll();
  } finally {
    source.close();
  }
}

/**
 * The logs of several services (`names`), or of every service in the run
 * directory (`names` empty or missing), interleaved in time order: the
 * last `lines` lines of each, ordered by when the supervisor wrote them
 * (lines written before pidkit stamped times take the time of the next
 * stamped line of their log, else their file's modification time: see
 * docs/commands.md); with `follow`, then new lines as they are written,
 * including, when `names` is empty, services that appear in the run
 * directory after it began. A named service without a log is a warning
 * item (it is followed once it has one); when none of the named services
 * has a log (and not following), {@linkcode PidkitError}.
 *
 * @example Every service's last 10 lines, prefixed with its name
 * ```ts
 * import { mergedServiceLogs } from "@pidkit/pidkit/service";
 *
 * for await (const item of mergedServiceLogs([], { lines: 10 })) {
 *   if (item.type === "line") console.log(`${item.service} | ${item.text}`);
 * }
 * ```
 */
export async function* mergedServiceLogs(
  names: string[] = [],
  options: MergedServiceLogsOptions = {},
): AsyncGenerator<ServiceLogItem> {
  names.forEach(validateName);
  const n = checkLines(options.lines);
  const follow = options.follow === true;
  const dir = resolveRunDir({ dir: options.dir });
  const all = names.length === 0;
  const sources = new Map<string, LogSource>();
  const list = async () => all ? await allNames(dir) : [...new Set(names)];
  const begin = Date.now();
  try {
    const batches: ServiceLogItem[][] = [];
    const absent: ServiceLogWarning[] = [];
    const first = await list();
    options.onServices?.(first);
    for (const name of first) {
      const source = await LogSource.of(dir, name, options.onWaiting);
      sources.set(name, source);
      const got = await source.tail(n, follow);
      if (got !== undefined) batches.push(await inTimeOrder(got, source.path));
      else if (!all) {
        const message = `no log for ${name}: ${source.path} does not exist`;
        absent.push({ type: "warning", service: name, message });
      }
    }
    if (!follow && absent.length > 0 && absent.length === first.length) {
      throw new PidkitError(absent.map((w) => w.message).join("; "));
    }
    yield* absent;
    yield* merge(batches);
    if (!follow) return;
    for (let round = 1; await pause(options.signal); round++) {
      const fresh: ServiceLogItem[] = [];
      if (all && round % SCAN_EVERY === 0) {
        const now = await list();
        if (now.some((name) => !sources.has(name))) options.onServices?.(now);
        for (const name of now) {
          if (sources.has(name)) continue;
          // A new service: all of its log (it may have rotated already),
          // but for lines stamped before we began (an earlier run's).
          const source = await LogSource.of(dir, name, options.onWaiting);
          sources.set(name, source);
          const got = await source.tail(Number.MAX_SAFE_INTEGER, true) ?? [];
          fresh.push(
            ...got.filter((i) => i.type !== "line" || (i.time?.getTime() ?? begin) >= begin),
          );
        }
      }
      for (const source of sources.values()) fresh.push(...await source.poll());
      const now = Date.now();
      // Stable: each service's lines keep their order.
      yield* fresh.map((l, i) => ({ l, i, t: (l.type === "line" ? l.time?.getTime() : 0) ?? now }))
        .sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.l);
    }
  } finally {
    for (const s of sources.values()) s.close();
  }
}

/** The services of `dir` with a record or a log (`NAME.log`). */
async function allNames(dir: string): Promise<string[]> {
  const names = new Set(await serviceNames(dir));
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = /^(.+)\.log$/.exec(e.name);
      if (!m) continue;
      try {
        names.add(validateName(m[1]));
      } catch { /* not a service's log */ }
    }
  } catch { /* serviceNames said why already, or it is gone */ }
  return [...names].sort();
}

/** Sort keys for one service's lines: its stamps, else the next stamped line's, else the file's mtime. */
async function inTimeOrder(items: ServiceLogItem[], path: string): Promise<ServiceLogItem[]> {
  let mtime: number | undefined;
  try {
    mtime = (await Deno.stat(path)).mtime?.getTime();
  } catch { /* gone */ }
  let next = mtime ?? Infinity;
  const keys: number[] = new Array(items.length);
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    // Not the min with the mtime: file times lag the clock by a tick or so.
    if (item.type === "line" && item.time) next = item.time.getTime();
    keys[i] = next;
  }
  return items.map((item, i) => Object.assign(item, { [KEY]: keys[i] }));
}

const KEY = Symbol("order");
type Keyed = ServiceLogItem & { [KEY]?: number };

/** Merge per-service batches (each in order) by their keys; ties keep the services' order. */
function merge(batches: Keyed[][]): ServiceLogItem[] {
  const out: ServiceLogItem[] = [];
  const at = batches.map(() => 0);
  while (true) {
    let best = -1;
    for (let b = 0; b < batches.length; b++) {
      if (at[b] >= batches[b].length) continue;
      if (best < 0 || (batches[b][at[b]][KEY] ?? 0) < (batches[best][at[best]][KEY] ?? 0)) best = b;
    }
    if (best < 0) return out;
    const item = batches[best][at[best]++];
    delete item[KEY];
    out.push(item);
  }
}
