/**
 * `--ready-fd N`, s6's notification-fd: the service writes a newline to
 * descriptor N when it is ready.
 *
 * `Deno.Command` cannot hand a child an extra descriptor, and an FFI pipe
 * left without close-on-exec would be inherited at whatever number it got
 * in the supervisor (and by anything else spawned meanwhile). So the
 * supervisor makes a FIFO in a private directory (0700, owned by the
 * service's user), holds it open read-write (never blocks, never sees EOF,
 * deno-runtime-facts section 16) and watches it with its poller; a shim
 * `sh -c 'exec N>"$0"; exec "$@"' FIFO CMD...` opens it as descriptor N in
 * the service and then runs the command in its place. Nothing else of the
 * supervisor's is opened in the service: its own descriptors are all
 * close-on-exec.
 *
 * dash takes only one-digit descriptors in redirections: N from 3 to 9 runs
 * the shim with /bin/sh, a larger N needs bash.
 *
 * @module
 */

import fs from "node:fs";
import { PidkitError, UsageError } from "../os/errors.ts";
import type { FdPoller } from "../os/fd_poller.ts";
import { cString, libc } from "../os/libc.ts";

/** The largest descriptor `--ready-fd` takes. */
export const MAX_READY_FD = 255;

/**
 * Check a `--ready-fd` value: a whole number from 3 to 255 (0, 1 and 2 are
 * the service's stdin, stdout and stderr). Throws {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { parseReadyFd } from "./ready_fd.ts";
 * parseReadyFd("3"); // 3
 * ```
 */
export function parseReadyFd(text: string): number {
  if (!/^\d{1,3}$/.test(text)) {
    throw new UsageError(`bad --ready-fd '${text}' (use a descriptor number from 3 to 255)`);
  }
  const n = Number(text);
  if (n <= 2) {
    throw new UsageError(
      `bad --ready-fd ${n}: 0, 1 and 2 are the service's stdin, stdout and stderr (use 3 to 255)`,
    );
  }
  if (n > MAX_READY_FD) throw new UsageError(`bad --ready-fd ${n} (use 3 to 255)`);
  return n;
}

/** The shell that runs the shim for descriptor `n`, or why there is none. */
function shimShell(n: number): string {
  if (n <= 9) return "/bin/sh";
  for (const bash of ["/bin/bash", "/usr/bin/bash"]) {
    try {
      if (Deno.statSync(bash).isFile) return bash;
    } catch { /* next */ }
  }
  throw new PidkitError(`--ready-fd ${n} needs bash (dash takes descriptors 3 to 9 only)`);
}

/**
 * The notification channel of one spawn: a FIFO the service opens as
 * descriptor N. {@linkcode ReadyFd.ready} resolves at the first newline.
 *
 * @example
 * ```ts
 * import { FdPoller } from "../os/fd_poller.ts";
 * import { ReadyFd } from "./ready_fd.ts";
 * const poller = FdPoller.create()!;
 * const channel = await ReadyFd.create(3, { poller });
 * const argv = channel.wrap(["sh", "-c", "echo >&3; sleep 1"]);
 * console.log(argv[0]); // "/bin/sh"
 * channel.close();
 * await poller.close();
 * ```
 */
export class ReadyFd {
  /** The descriptor number in the service. */
  readonly n: number;
  /** Resolves once the service wrote a newline. */
  readonly ready: Promise<void>;
  #resolve!: () => void;
  #isReady = false;
  readonly #dir: string;
  readonly #fifo: string;
  readonly #fd: number;
  readonly #poller: FdPoller;
  #closed = false;

  private constructor(n: number, dir: string, fd: number, poller: FdPoller) {
    this.n = n;
    this.#dir = dir;
    this.#fifo = `${dir}/ready`;
    this.#fd = fd;
    this.#poller = poller;
    this.ready = new Promise((r) => this.#resolve = r);
    poller.watch(fd, () => this.#onReadable());
  }

  /** Make the FIFO (owned by `uid`/`gid` when given) and start watching it. */
  static async create(
    n: number,
    options: { poller: FdPoller; uid?: number; gid?: number },
  ): Promise<ReadyFd> {
    shimShell(n); // fail before creating anything
    const lib = libc();
    if (lib === undefined) throw new PidkitError("--ready-fd needs FFI on Linux (run with -A)");
    const dir = await Deno.makeTempDir({ prefix: "pidkit-readyfd-" });
    const fifo = `${dir}/ready`;
    try {
      if (lib.mkfifo(cString(fifo), 0o600) !== 0) {
        throw new PidkitError(`cannot create ${fifo} for --ready-fd`);
      }
      if (options.uid !== undefined) {
        await Deno.chown(dir, options.uid, options.gid ?? null);
        await Deno.chown(fifo, options.uid, options.gid ?? null);
      }
      const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      return new ReadyFd(n, dir, fd, options.poller);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /** `command` behind the shim that opens the FIFO as descriptor N. */
  wrap(command: string[]): string[] {
    return [
      shimShell(this.n),
      "-c",
      `exec ${this.n}>"$0" || exit 125; exec "$@"`,
      this.#fifo,
      ...command,
    ];
  }

  #onReadable(): void {
    const lib = libc()!;
    const buf = new Uint8Array(512);
    for (;;) {
      const n = Number(lib.read(this.#fd, buf, BigInt(buf.length)));
      if (n <= 0) return;
      if (!this.#isReady && buf.subarray(0, n).includes(10)) {
        this.#isReady = true;
        this.#resolve();
        // The service holds it open now: the name is no longer needed.
        Deno.remove(this.#dir, { recursive: true }).catch(() => {});
      }
    }
  }

  /** Stop watching, close the FIFO, remove its directory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.unwatch(this.#fd);
    try {
      fs.closeSync(this.#fd);
    } catch { /* closed */ }
    try {
      Deno.removeSync(this.#dir, { recursive: true });
    } catch { /* removed once ready */ }
  }
}
