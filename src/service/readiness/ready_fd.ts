/**
 * `--ready-fd N`, s6's notification-fd: the service writes a newline to
 * descriptor N when it is ready.
 *
 * `Deno.Command` cannot hand a child an extra descriptor, and an FFI pipe
 * left without close-on-exec would be inherited at whatever number it got
 * in the supervisor (and by anything else spawned meanwhile). So the
 * supervisor makes a FIFO in a private directory (0700, owned by the
 * service's user), holds it open read-write (never blocks, never sees EOF,
 * docs/runtime_facts.md, "Output that survives the death of its reader")
 * and watches it with its poller; a shim
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

import { PidkitError } from "../../os/errors.ts";
import type { FdPoller } from "../../os/fd_poller.ts";
import { OutputFifo } from "../output/output_fifo.ts";

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
 * import { FdPoller } from "../../os/fd_poller.ts";
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
  readonly #dir: string;
  readonly #fifo: OutputFifo;

  private constructor(n: number, dir: string, fifo: OutputFifo, ready: Promise<void>) {
    this.n = n;
    this.#dir = dir;
    this.#fifo = fifo;
    this.ready = ready;
  }

  /** Make the FIFO (owned by `uid`/`gid` when given) and start watching it. */
  static async create(
    n: number,
    options: { poller: FdPoller; uid?: number; gid?: number },
  ): Promise<ReadyFd> {
    shimShell(n); // fail before creating anything
    const dir = await Deno.makeTempDir({ prefix: "pidkit-readyfd-" });
    try {
      if (options.uid !== undefined) await Deno.chown(dir, options.uid, options.gid ?? null);
      let resolve!: () => void;
      const ready = new Promise<void>((r) => resolve = r);
      // The same FIFO held read-write as a service's output (output_fifo.ts):
      // here only the first newline matters.
      const fifo = await OutputFifo.open(`${dir}/ready`, {
        poller: options.poller,
        ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
        onOutput: (bytes) => {
          if (bytes.includes(10)) resolve();
        },
      });
      // The service holds it open once ready: the name is no longer needed.
      void ready.then(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
      return new ReadyFd(n, dir, fifo, ready);
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
      this.#fifo.path,
      ...command,
    ];
  }

  /** Stop watching, close the FIFO, remove its directory. */
  close(): void {
    this.#fifo.close();
    try {
      Deno.removeSync(this.#dir, { recursive: true });
    } catch { /* removed once ready */ }
  }
}
