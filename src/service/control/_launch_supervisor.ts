/**
 * Start the resident supervisor of a run directory in the background and
 * wait for its first line (see `supervisor_protocol.ts`).
 *
 * @module
 */

import { selfCommand } from "../../os/self_exec.ts";
import {
  type LaunchAnswer,
  SUPERVISE_COMMAND,
  SUPERVISOR_V8_FLAGS,
} from "./supervisor_protocol.ts";

/**
 * Start a detached resident supervisor for `dir` and wait until it listens
 * on the directory's socket (or says why not). It runs in its own session
 * and outlives us.
 */
export async function launchSupervisor(dir: string): Promise<LaunchAnswer> {
  const argv = selfCommand([SUPERVISE_COMMAND, dir]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
    cwd: "/",
    // A young generation of 1 MiB and no optimizing compiler: 59 instead of
    // 67 MiB PSS with 200 services, and output floods went no slower (it is
    // I/O, not JavaScript): bench/dir_supervisor_bench.ts. A user's own flags win.
    ...(Deno.env.get("DENO_V8_FLAGS") ? {} : { env: { DENO_V8_FLAGS: SUPERVISOR_V8_FLAGS } }),
  }).spawn();
  const line = await firstLine(child.stdout);
  let answer: LaunchAnswer | undefined;
  try {
    answer = line === undefined ? undefined : JSON.parse(line);
  } catch { /* not an answer line: treated as a crash below */ }
  if (answer === undefined) {
    const err = (await new Response(child.stderr).text()).split("\n")
      // deno-lint-ignore no-control-regex -- strip the colours of Deno's own error lines
      .map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trim()).find((l) => l !== "");
    const status = await child.status;
    return {
      ok: false,
      error: `the supervisor of ${dir} exited (${status.code}) before it listened${
        err ? `: ${err}` : ""
      }`,
    };
  }
  await child.stderr.cancel().catch(() => {});
  child.unref();
  return answer;
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text.trim() === "" ? undefined : text;
      text += decoder.decode(value, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) return text.slice(0, nl);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
