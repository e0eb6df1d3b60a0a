/**
 * A small read-only HTTP/1.1 server on `Deno.listen`, for the supervisor's
 * `/metrics` and status page. Written here rather than with `Deno.serve` or
 * `node:http` because a supervisor must stay in control of what clients
 * cost it: `Deno.serve` sets no header-size, idle or connection limits of
 * its own choosing, and `node:http` loads Deno's Node compatibility layer
 * (several MiB in a process that holds 200 services). This one:
 *
 * - answers only `GET` (anything else: 405), ignores the query string;
 * - reads at most {@linkcode HttpLimits.maxHeaderBytes} of request head
 *   (more: 431) within {@linkcode HttpLimits.headerTimeoutMs} (a client that
 *   sends nothing, or a byte now and then, is dropped then);
 * - holds at most {@linkcode HttpLimits.maxConnections} connections and
 *   {@linkcode HttpLimits.maxStreams} event streams; when they are all
 *   held, a new client takes the place of the oldest one that has not sent
 *   its request yet (so idle or slow clients cannot lock others out), and
 *   is closed at once only when every one is being answered;
 * - gives up on a client that does not take a response within
 *   {@linkcode HttpLimits.writeTimeoutMs}, and on an event stream's client
 *   that lets more than 512 KiB wait;
 * - closes every connection after its response (`Connection: close`),
 *   except event streams, which last until the client goes.
 *
 * Every connection runs on promises of its own: no client holds up another
 * one, nor the supervisor's event loop.
 *
 * @module
 */

/**
 * The limits of an {@linkcode HttpServer}.
 *
 * @example
 * ```ts
 * import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http_server.ts";
 * const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, headerTimeoutMs: 2000 };
 * ```
 */
export interface HttpLimits {
  /** Connections held at once; more are closed as they come. */
  maxConnections: number;
  /** Event streams held at once (within the connections); more get 503. */
  maxStreams: number;
  /** The largest request head (request line and headers), bytes; more: 431. */
  maxHeaderBytes: number;
  /** A request head must arrive whole within this long, ms; else the connection is dropped. */
  headerTimeoutMs: number;
  /** A client must take each write within this long, ms; else it is dropped. */
  writeTimeoutMs: number;
}

/**
 * The limits the supervisor's server runs with.
 *
 * @example
 * ```ts
 * import { DEFAULT_HTTP_LIMITS } from "./http_server.ts";
 * console.log(DEFAULT_HTTP_LIMITS.maxConnections);
 * ```
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxConnections: 64,
  maxStreams: 16,
  maxHeaderBytes: 8192,
  headerTimeoutMs: 5000,
  writeTimeoutMs: 10_000,
};

/**
 * A request as the handler sees it: the path without its query string.
 *
 * @example
 * ```ts
 * import type { HttpRequest } from "./http_server.ts";
 * const request: HttpRequest = { method: "GET", path: "/metrics" };
 * ```
 */
export interface HttpRequest {
  /** Always `GET` (others are answered 405 before the handler). */
  method: string;
  /** The path, query string dropped, not decoded. */
  path: string;
}

/**
 * A handler's answer: a whole body, or an event stream.
 *
 * @example
 * ```ts
 * import type { HttpResponse } from "./http_server.ts";
 * const ok: HttpResponse = { status: 200, type: "text/plain", body: "ok\n" };
 * ```
 */
export type HttpResponse =
  | { status: number; type: string; body: string | Uint8Array; headers?: Record<string, string> }
  | {
    /** Server-sent events: `open` gets a sender until the client goes. */
    stream: (send: (chunk: string) => Promise<boolean>, closed: Promise<void>) => void;
  };

/**
 * Answers requests; it must not throw (a throw is answered 500).
 *
 * @example
 * ```ts
 * import type { HttpHandler } from "./http_server.ts";
 * const handler: HttpHandler = () => ({ status: 200, type: "text/plain", body: "hi\n" });
 * ```
 */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

const encoder = new TextEncoder();

/** What may wait to be written to one event stream, bytes; more and the client is dropped. */
const STREAM_QUEUE_BYTES = 512 * 1024;

/**
 * What an {@linkcode HttpServer} tells its owner.
 *
 * @example
 * ```ts
 * import type { HttpServerHooks } from "./http_server.ts";
 * let done = 0;
 * const hooks: HttpServerHooks = { onRequestDone: ({ stream }) => void (stream || done++) };
 * ```
 */
export interface HttpServerHooks {
  /**
   * Called as each connection ends: its response written (or the client
   * dropped), an event stream once its client goes (`stream`: not per
   * event). It must not throw and should be cheap: it runs once per request.
   */
  onRequestDone?: (done: { stream: boolean }) => void;
}

/**
 * The server. {@linkcode HttpServer.listen} binds (throws `Deno.errors.AddrInUse`
 * and the like); {@linkcode HttpServer.close} drops every client.
 *
 * @example
 * ```ts
 * import { HttpServer } from "./http_server.ts";
 * const server = HttpServer.listen({ hostname: "127.0.0.1", port: 9464 }, () => ({
 *   status: 200,
 *   type: "text/plain",
 *   body: "ok\n",
 * }));
 * await server.close();
 * ```
 */
export class HttpServer {
  readonly #listener: Deno.TcpListener;
  readonly #handler: HttpHandler;
  readonly #limits: HttpLimits;
  readonly #hooks: HttpServerHooks;
  readonly #conns = new Set<Deno.TcpConn>();
  /** Connections whose request head is still awaited, oldest first. */
  readonly #reading = new Set<Deno.TcpConn>();
  #streams = 0;
  #closed = false;
  /** Response buffers not in use: a scrape's 80 KiB is encoded into one of them, not into new ones. */
  readonly #buffers: Uint8Array[] = [];
  /** Connections refused because {@linkcode HttpLimits.maxConnections} were being answered. */
  refused = 0;
  /** Connections dropped to make room before they sent a request. */
  evicted = 0;

  private constructor(
    listener: Deno.TcpListener,
    handler: HttpHandler,
    limits: HttpLimits,
    hooks: HttpServerHooks,
  ) {
    this.#listener = listener;
    this.#handler = handler;
    this.#limits = limits;
    this.#hooks = hooks;
    void this.#acceptLoop();
  }

  /** Bind `address` and serve; throws when it cannot be bound. */
  static listen(
    address: { hostname: string; port: number },
    handler: HttpHandler,
    limits: Partial<HttpLimits> = {},
    hooks: HttpServerHooks = {},
  ): HttpServer {
    const listener = Deno.listen({ hostname: address.hostname, port: address.port });
    return new HttpServer(listener, handler, { ...DEFAULT_HTTP_LIMITS, ...limits }, hooks);
  }

  /** The bound address. */
  get address(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Connections held now. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Stop listening and drop every client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* closed already */ }
    for (const conn of this.#conns) drop(conn);
    this.#conns.clear();
    this.#reading.clear();
    await Promise.resolve();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        continue; // EMFILE and the like: this client is lost, not the server
      }
      if (this.#conns.size >= this.#limits.maxConnections) {
        const oldest = this.#reading.values().next();
        if (oldest.done) {
          this.refused++;
          drop(conn);
          continue;
        }
        // The oldest client that has not asked anything yet gives way.
        this.#reading.delete(oldest.value);
        this.#conns.delete(oldest.value);
        this.evicted++;
        drop(oldest.value);
      }
      this.#conns.add(conn);
      const done = { stream: false };
      void this.#serve(conn, done).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        drop(conn);
        try {
          this.#hooks.onRequestDone?.(done);
        } catch { /* the owner's; the server goes on */ }
      });
    }
  }

  async #serve(conn: Deno.TcpConn, done: { stream: boolean }): Promise<void> {
    this.#reading.add(conn);
    let head;
    try {
      head = await readHead(conn, this.#limits);
    } finally {
      this.#reading.delete(conn);
    }
    if (head === "too-large") return void await this.#write(conn, plain(431, "header too large"));
    if (head === undefined) return;
    const request = parseRequestLine(head);
    if (request === undefined) return void await this.#write(conn, plain(400, "bad request"));
    if (request.method !== "GET") {
      const r = plain(405, "only GET");
      r.headers = { Allow: "GET" };
      return void await this.#write(conn, r);
    }
    let response: HttpResponse;
    try {
      response = await this.#handler(request);
    } catch {
      response = plain(500, "internal error");
    }
    if ("stream" in response) {
      done.stream = true;
      return await this.#stream(conn, response.stream);
    }
    await this.#write(conn, response);
  }

  async #stream(
    conn: Deno.TcpConn,
    open: (send: (chunk: string) => Promise<boolean>, closed: Promise<void>) => void,
  ): Promise<void> {
    if (this.#streams >= this.#limits.maxStreams) {
      return void await this.#write(conn, plain(503, "too many event streams"));
    }
    this.#streams++;
    try {
      const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" +
        "Cache-Control: no-store\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\n";
      if (!await writeAll(conn, encoder.encode(head), this.#limits.writeTimeoutMs)) return;
      // The client sends nothing more: a read ends when it goes.
      const closed = drain(conn);
      // Chunks wait their turn; a client that lets more than
      // STREAM_QUEUE_BYTES pile up (or takes no write within the write
      // timeout) is dropped: it costs the supervisor a bounded amount.
      const queue: Uint8Array[] = [];
      let queued = 0;
      let writing: Promise<void> | undefined;
      let gone = false;
      const pump = async () => {
        while (queue.length > 0 && !gone) {
          const next = queue.shift()!;
          queued -= next.length;
          if (!await writeAll(conn, next, this.#limits.writeTimeoutMs)) gone = true;
        }
      };
      const kick = (): void => {
        writing ??= pump().finally(() => {
          writing = undefined;
          if (queue.length > 0 && !gone) kick(); // pushed as the pump ended
        });
      };
      open((chunk) => {
        if (gone) return Promise.resolve(false);
        const bytes = encoder.encode(chunk);
        if (queued + bytes.length > STREAM_QUEUE_BYTES) {
          gone = true;
          drop(conn);
          return Promise.resolve(false);
        }
        queue.push(bytes);
        queued += bytes.length;
        kick();
        return writing!.then(() => !gone);
      }, closed);
      await closed;
    } finally {
      this.#streams--;
    }
  }

  async #write(conn: Deno.TcpConn, r: Extract<HttpResponse, { status: number }>): Promise<void> {
    // The body goes after room for the head, in a buffer used again by later
    // responses: a fresh one per response lives outside the V8 heap until a
    // collection, and a supervisor that allocates little collects seldom.
    const room = HEAD_ROOM;
    const most = room + (typeof r.body === "string" ? r.body.length * 3 : r.body.length);
    let buf = this.#buffers.pop();
    if (buf === undefined || buf.length < most) buf = new Uint8Array(most);
    try {
      const length = typeof r.body === "string"
        ? encoder.encodeInto(r.body, buf.subarray(room)).written
        : (buf.set(r.body, room), r.body.length);
      const headers = {
        "Content-Type": r.type,
        "Content-Length": String(length),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        Connection: "close",
        ...r.headers,
      };
      const head = encoder.encode(
        `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? "Status"}\r\n` +
          Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n",
      );
      let bytes: Uint8Array;
      if (head.length <= room) {
        buf.set(head, room - head.length);
        bytes = buf.subarray(room - head.length, room + length);
      } else {
        bytes = new Uint8Array(head.length + length);
        bytes.set(head);
        bytes.set(buf.subarray(room, room + length), head.length);
      }
      await writeAll(conn, bytes, this.#limits.writeTimeoutMs);
    } finally {
      if (this.#buffers.length < KEPT_BUFFERS && buf.length <= MAX_KEPT_BYTES) {
        this.#buffers.push(buf);
      }
    }
  }
}

/** Bytes before a response's body kept for its head (status line and headers). */
const HEAD_ROOM = 1024;
/** Response buffers kept for later responses (more at once get their own). */
const KEPT_BUFFERS = 2;
/** A buffer larger than this is not kept. */
const MAX_KEPT_BYTES = 4 << 20;

function plain(status: number, text: string): {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
} {
  return { status, type: "text/plain; charset=utf-8", body: `${text}\n` };
}

function drop(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}

/**
 * The request head (up to the empty line), `"too-large"`, or `undefined`
 * when the client went, sent nothing in time, or dribbled too slowly.
 */
async function readHead(
  conn: Deno.Conn,
  limits: HttpLimits,
): Promise<string | "too-large" | undefined> {
  let buf = new Uint8Array(1024);
  let len = 0;
  const timer = setTimeout(() => drop(conn), limits.headerTimeoutMs);
  try {
    for (;;) {
      if (len === buf.length) {
        if (buf.length >= limits.maxHeaderBytes) return "too-large";
        const bigger = new Uint8Array(Math.min(buf.length * 4, limits.maxHeaderBytes));
        bigger.set(buf);
        buf = bigger;
      }
      let n: number | null;
      try {
        n = await conn.read(buf.subarray(len));
      } catch {
        return undefined; // dropped by the timer, or reset
      }
      if (n === null) return undefined;
      const from = Math.max(0, len - 3);
      len += n;
      const end = headEnd(buf, from, len);
      if (end >= 0) return new TextDecoder().decode(buf.subarray(0, end));
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Where `\r\n\r\n` (or a bare `\n\n`) starts in `buf[from..len)`, or -1. */
function headEnd(buf: Uint8Array, from: number, len: number): number {
  for (let i = from; i < len - 1; i++) {
    if (buf[i] !== 10) continue;
    if (buf[i + 1] === 10) return i;
    if (buf[i + 1] === 13 && i + 2 < len && buf[i + 2] === 10) return i;
  }
  return -1;
}

/** `GET /path?query HTTP/1.1` as a request; `undefined` when malformed. */
function parseRequestLine(head: string): HttpRequest | undefined {
  // The head ends before its last line break: a request without headers keeps a "\r".
  const line = head.split(/\r?\n/, 1)[0].replace(/\r$/, "");
  const m = /^([A-Z]{1,16}) (\S{1,4096}) HTTP\/1\.[01]$/.exec(line);
  if (!m) return undefined;
  let target = m[2];
  // An absolute form (a proxy's): only its path counts.
  const abs = /^https?:\/\/[^/]*(\/.*)?$/i.exec(target);
  if (abs) target = abs[1] ?? "/";
  if (!target.startsWith("/")) return undefined;
  const q = target.search(/[?#]/);
  return { method: m[1], path: q < 0 ? target : target.slice(0, q) };
}

/** Write every byte, or give up (false) after `timeoutMs` or when the client is gone. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array, timeoutMs: number): Promise<boolean> {
  const timer = setTimeout(() => drop(conn), timeoutMs);
  try {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Read and discard until the client closes (or the connection is dropped). */
async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(256);
  try {
    while (await conn.read(buf) !== null) { /* nothing is expected */ }
  } catch { /* dropped or reset */ }
}
