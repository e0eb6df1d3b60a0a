/**
 * A command run under a real pseudo-terminal: util-linux `script -qfec CMD
 * /dev/null` gives it a terminal on stdin, stdout and stderr; the test
 * types into `script`'s stdin and reads the screen's bytes from its stdout.
 * For `pidkit top`'s tests and benchmark.
 *
 * @module
 */

import { hasProgram, Reaper, startTimeOf } from "./helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whether `script` (util-linux) is there to make a pseudo-terminal. */
export const HAS_SCRIPT: boolean = hasProgram("script");

/**
 * A shell command line running under a pseudo-terminal of `columns` x
 * `rows`. Every process it starts is killed on dispose (by recorded PID
 * and group, start times checked).
 */
export class PtySession implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reaper = new Reaper();
  #output = "";
  readonly #closed: Promise<void>;
  #status: Deno.CommandStatus | undefined;

  /**
   * Start `command` (a `sh -c` line; prefixed by an `stty` setting the size)
   * with `env` added to this process's environment.
   */
  constructor(
    command: string,
    options: { env?: Record<string, string>; columns?: number; rows?: number } = {},
  ) {
    const size = `stty cols ${options.columns ?? 120} rows ${options.rows ?? 30}; `;
    this.#child = new Deno.Command("script", {
      args: ["-qfec", size + command, "/dev/null"],
      env: { SHELL: "/bin/sh", TERM: "xterm", ...options.env },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      detached: true,
    }).spawn();
    this.#reaper.group(this.#child.pid);
    this.#reaper.pid(this.#child.pid);
    this.#writer = this.#child.stdin.getWriter();
    const stdout = this.#child.stdout;
    this.#closed = (async () => {
      for await (const chunk of stdout) {
        this.#output += decoder.decode(chunk, { stream: true });
      }
    })();
    this.#child.status.then((s) => this.#status = s);
  }

  /** `script`'s PID. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything the terminal was sent so far. */
  get output(): string {
    return this.#output;
  }

  /** `script`'s exit status once it has ended. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** Type `text` (bytes as they are: `\x1b[B` is the down arrow). */
  async type(text: string): Promise<void> {
    await this.#writer.write(encoder.encode(text));
  }

  /**
   * The process running under the terminal (a descendant of `script`)
   * whose argument vector `match` accepts, recorded to be killed on dispose.
   */
  descendant(match: (argv: string[]) => boolean): number | undefined {
    const queue = [this.#child.pid];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      let kids: number[] = [];
      try {
        kids = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
          .filter(Boolean).map(Number);
      } catch { /* gone */ }
      for (const kid of kids) {
        let argv: string[] = [];
        try {
          argv = Deno.readTextFileSync(`/proc/${kid}/cmdline`).split("\0");
        } catch { /* gone */ }
        if (match(argv)) {
          const start = startTimeOf(kid);
          if (start !== undefined) this.#reaper.pid(kid, start);
          return kid;
        }
        queue.push(kid);
      }
    }
    return undefined;
  }

  /** Wait until `script` has ended (its command exited and the output is read). */
  async ended(timeoutMs = 30_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => this.#kill(), timeoutMs);
    try {
      await this.#closed;
      return await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
  }

  #kill(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch { /* gone */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#writer.close();
    } catch { /* closed */ }
    await this.#reaper[Symbol.asyncDispose]();
    this.#kill();
    await this.#closed.catch(() => {});
    await this.#child.status;
  }
}

/** The screen's text without escape sequences and carriage returns. */
export function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\x1b[()][A-Z0-9]/g, "")
    .replaceAll("\r", "");
}

/** The frames `pidkit top` drew (each starts with the cursor going home), as plain text. */
export function frames(text: string): string[] {
  return text.split("\x1b[H").slice(1).map(plain);
}
