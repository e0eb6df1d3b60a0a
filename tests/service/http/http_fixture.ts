/**
 * Test support for the supervisor's HTTP server: a free port, a raw
 * HTTP/1.1 exchange, and `pidkit supervise --http` as a child that is
 * ended (SIGTERM, then by its recorded PID) when the test ends.
 */
import assert from "node:assert/strict";
import { CLI, killQuietly } from "../../_util/helpers.ts";
import type { Services } from "../../_util/service_dir.ts";

/** A TCP port nobody listens on at the moment. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Send `text` as is, read the whole answer (the server closes after it). */
export async function rawRequest(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(text));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(concat(chunks));
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** `GET path`: status code and body. */
export async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const answer = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const status = Number(answer.slice(9, 12));
  return { status, body: answer.slice(answer.indexOf("\r\n\r\n") + 4) };
}

/** A `pidkit supervise --http` in the foreground, with its stderr collected. */
export class ForegroundSupervisor implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  stderr = "";
  readonly #read: Promise<void>;

  constructor(svc: Services, args: string[]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "supervise", "--dir", svc.dir.path, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: svc.env,
    }).spawn();
    this.child = child;
    svc.pid(child.pid);
    this.#read = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) this.stderr += dec.decode(chunk);
    })();
  }

  /** Wait until its stderr matches `re` (or it exits: a failure). */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    void this.child.status.then(() => exited = true);
    while (!re.test(this.stderr)) {
      assert.ok(!exited, `supervise exited: ${this.stderr}`);
      assert.ok(Date.now() < until, `no ${re} in: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    killQuietly(this.child.pid, "SIGTERM");
    const timer = setTimeout(() => killQuietly(this.child.pid), 30_000);
    await this.child.status;
    clearTimeout(timer);
    await this.#read;
  }
}
