/**
 * The client side of a line protocol over a Unix stream socket, with a
 * deadline and no timer.
 *
 * Why no timer: a command's first `setTimeout` costs it ~11-13 ms of Deno
 * start-up (the timers load lazily). Why not libc's socket and `poll` with
 * a timeout (FFI): binding even seven symbols costs a command ~2 ms of CPU
 * and ~4.5 MiB of peak RSS. The deadline is `Atomics.waitAsync` with a
 * timeout instead, raced against the connection's read or write: V8 wakes
 * it without Deno's timers, at no measurable cost (25 interleaved runs of
 * each against a socket that answers at once: CPU 23.2 ms mean against
 * 26.0 ms for the same exchange without a deadline, RSS +0.5 MiB). It does
 * not keep the process alive by itself; the pending read or write does.
 *
 * @module
 */

import { PidkitError } from "./errors.ts";

/**
 * How a line exchange ended: `answer` (the first line that is not an
 * acknowledgement), `absent` (nothing listens at the path: no file, a
 * socket nobody listens on, or not a socket), `denied` (the socket's mode
 * keeps us out), `closed` (the server hung up before it answered), `late`
 * (the deadline passed first; `accepted` when the server had acknowledged
 * the request).
 *
 * @example
 * ```ts
 * import type { Exchange } from "./unix_client.ts";
 * const show = (e: Exchange) => e.kind === "answer" ? e.line : e.kind;
 * console.log(show({ kind: "absent" }));
 * ```
 */
export type Exchange =
  | { kind: "answer"; line: string }
  | { kind: "absent" }
  | { kind: "denied" }
  | { kind: "closed"; accepted: boolean }
  | { kind: "late"; accepted: boolean };

/**
 * Options of {@linkcode exchangeLine}.
 *
 * @example
 * ```ts
 * import type { ExchangeOptions } from "./unix_client.ts";
 * const o: ExchangeOptions = { deadline: Date.now() + 5000, ackDeadline: Date.now() + 1000 };
 * ```
 */
export interface ExchangeOptions {
  /** Give up at this time (ms since the epoch, as `Date.now()`). */
  deadline: number;
  /** Give up at this time unless an acknowledgement ({@linkcode ExchangeOptions.isAck}) came. */
  ackDeadline?: number;
  /** Whether a line is the server's acknowledgement (read on, not returned). */
  isAck?: (line: string) => boolean;
}

/**
 * Connect to the Unix stream socket at `path`, send `line` (a newline is
 * added) and wait, up to the deadline, for the answer line. Throws
 * {@linkcode PidkitError} only for the unexpected (say, too many open files).
 *
 * @example
 * ```ts
 * import { exchangeLine } from "./unix_client.ts";
 * const e = await exchangeLine("/tmp/pidkit-example/supervisor.sock", '{"op":"hello"}', {
 *   deadline: Date.now() + 2000,
 * });
 * console.log(e.kind);
 * ```
 */
export async function exchangeLine(
  path: string,
  line: string,
  options: ExchangeOptions,
): Promise<Exchange> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    // No file, a socket no one listens on, or not a socket at all.
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused) {
      return { kind: "absent" };
    }
    if (err instanceof Deno.errors.PermissionDenied) return { kind: "denied" };
    // A full listen queue: the server accepts nothing (frozen, or flooded).
    if (err instanceof Deno.errors.WouldBlock) return { kind: "late", accepted: false };
    throw new PidkitError(`cannot connect to ${path}: ${(err as Error).message}`);
  }
  let accepted = options.isAck === undefined || options.ackDeadline === undefined;
  const until = () =>
    accepted ? options.deadline : Math.min(options.deadline, options.ackDeadline!);
  let late = lateAt(until());
  try {
    const bytes = new TextEncoder().encode(line + "\n");
    for (let off = 0; off < bytes.length;) {
      const n = await Promise.race([conn.write(bytes.subarray(off)), late.promise]);
      if (n === LATE) return { kind: "late", accepted };
      off += n;
    }
    const decoder = new TextDecoder();
    const buf = new Uint8Array(65536);
    let text = "";
    for (;;) {
      const n = await Promise.race([conn.read(buf), late.promise]);
      if (n === LATE) return { kind: "late", accepted };
      if (n === null) return { kind: "closed", accepted };
      text += decoder.decode(buf.subarray(0, n), { stream: true });
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
        const got = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (!options.isAck?.(got)) return { kind: "answer", line: got };
        if (!accepted) {
          accepted = true; // from now on, the whole deadline
          late.cancel();
          late = lateAt(until());
        }
      }
    }
  } catch {
    return { kind: "closed", accepted }; // reset by a server that died
  } finally {
    late.cancel();
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

const LATE = Symbol("late");

/**
 * A promise of {@linkcode LATE} at `deadline` (ms since the epoch; never
 * when not finite), through `Atomics.waitAsync`'s timeout: no timer.
 */
function lateAt(deadline: number): { promise: Promise<typeof LATE>; cancel(): void } {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const ms = deadline - Date.now();
  if (!Number.isFinite(ms)) return { promise: new Promise(() => {}), cancel() {} };
  const wait = Atomics.waitAsync(cell, 0, 0, Math.max(0, ms));
  let cancelled = false;
  const promise = (wait.async ? wait.value : Promise.resolve(wait.value)).then((how) =>
    // "ok": woken by cancel(), which never comes before the race is decided.
    how === "timed-out" || !cancelled ? LATE : new Promise<typeof LATE>(() => {})
  );
  return {
    promise,
    cancel() {
      cancelled = true;
      Atomics.notify(cell, 0);
    },
  };
}
