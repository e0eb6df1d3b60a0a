/**
 * Line-oriented talk with fixture processes: read stdout line by line with
 * a deadline, write command lines to stdin.
 *
 * @module
 */

import { FIXTURES, Reaper } from "./helpers.ts";

/** Lines of a child's stdout, read one at a time. */
export class Lines {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line (without its newline); throws at EOF or after `timeoutMs`. */
  async next(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#done) throw new Error(`EOF before a line (got ${JSON.stringify(this.#buffer)})`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no line within ${timeoutMs} ms`)),
          Math.max(0, deadline - Date.now()),
        );
      });
      try {
        const { value, done } = await Promise.race([this.#reader.read(), timeout]);
        if (done) this.#done = true;
        else this.#buffer += value;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Everything left until EOF. */
  async rest(): Promise<string> {
    let text = this.#buffer;
    this.#buffer = "";
    while (!this.#done) {
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else text += value;
    }
    return text;
  }
}

/** A running fixture: the child, its stdout lines, and a way to send lines. */
export interface Fixture {
  child: Deno.ChildProcess;
  lines: Lines;
  send(line: string): Promise<void>;
  /** Close the child's stdin (if piped). */
  closeStdin(): Promise<void>;
}

/** Options for {@linkcode spawnFixture}. */
export interface SpawnFixtureOptions {
  /** Deno permission flags; default `["-A"]`. */
  permissions?: string[];
  stdin?: boolean;
  uid?: number;
  gid?: number;
  env?: Record<string, string>;
  /** Working directory (another user may not be able to enter the test's own). */
  cwd?: string;
  /** Where deno and the fixtures are (another user may need copies: see readable_copy.ts). */
  from?: { deno: string; fixtures: string };
}

/** Run `deno run tests/fixtures/NAME ARGS...` under `reaper`, stdout piped. */
export function spawnFixture(
  reaper: Reaper,
  name: string,
  args: string[],
  options: SpawnFixtureOptions = {},
): Fixture {
  const child = reaper.spawn(
    [
      options.from?.deno ?? Deno.execPath(),
      "run",
      "--quiet",
      ...(options.permissions ?? ["-A"]),
      `${options.from?.fixtures ?? FIXTURES}/${name}`,
      ...args,
    ],
    {
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      uid: options.uid,
      gid: options.gid,
      cwd: options.cwd,
      env: options.env,
    },
  );
  const writer = options.stdin ? child.stdin.getWriter() : undefined;
  const encoder = new TextEncoder();
  return {
    child,
    lines: new Lines(child.stdout),
    send: async (line: string) => {
      await writer!.write(encoder.encode(line + "\n"));
    },
    closeStdin: async () => {
      try {
        await writer?.close();
      } catch { /* the child is gone */ }
    },
  };
}

/** Spawn the PID file holder fixture and wait until it holds `path`; returns its PID. */
export async function startHolder(
  reaper: Reaper,
  path: string,
  args: string[] = [],
): Promise<{ fixture: Fixture; pid: number }> {
  const fixture = spawnFixture(reaper, "pid_holder.ts", [path, ...args]);
  const line = await fixture.lines.next();
  if (!line.startsWith("ready ")) throw new Error(`holder failed: ${line}`);
  return { fixture, pid: fixture.child.pid };
}
