/**
 * Start a background supervisor for a {@linkcode SupervisorConfig} and wait
 * for its answer on the start-up handshake (see `supervisor_protocol.ts`).
 *
 * @module
 */

import { selfCommand } from "../os/self_exec.ts";
import {
  type StartResult,
  SUPERVISE_COMMAND,
  type SupervisorConfig,
} from "./supervisor_protocol.ts";

/**
 * Start a background supervisor for `config` and wait for its answer: it
 * holds the lock and the service is ready, or why not. The supervisor runs
 * in its own session and outlives us.
 */
export async function launchSupervisor(config: SupervisorConfig): Promise<StartResult> {
  const argv = selfCommand([SUPERVISE_COMMAND, config.name]);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true,
    cwd: "/",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(config) + "\n"));
  await writer.close();
  const line = await firstLine(child.stdout);
  let result: StartResult | undefined;
  try {
    result = line === undefined ? undefined : JSON.parse(line);
  } catch { /* not a result line: treated as a crash below */ }
  if (result === undefined) {
    const err = (await new Response(child.stderr).text()).split("\n")
      // deno-lint-ignore no-control-regex -- strip the colours of Deno's own error lines
      .map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trim()).find((l) => l !== "");
    const status = await child.status;
    return {
      ok: false,
      error: `the supervisor exited (${status.code}) before the service started${
        err ? `: ${err}` : ""
      }`,
      reason: "failed",
    };
  }
  await child.stderr.cancel().catch(() => {});
  child.unref();
  return result;
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
