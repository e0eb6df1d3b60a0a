/**
 * What the supervisor's HTTP server answers, read-only by design: no
 * route starts, stops or signals anything (control stays on the 0600
 * socket), and none shows a service's environment.
 *
 * - `GET /metrics`: the Prometheus text (src/service/metrics/);
 * - `GET /api/services`: `pidkit list --json`'s shape;
 * - `GET /api/logs/NAME`: the service's last 50 log lines, as JSON;
 * - `GET /events`: server-sent events: an `event` event for each lifecycle
 *   event the supervisor records (src/service/events/), and a
 *   `services` event (the `/api/services` JSON) at once, after each
 *   lifecycle event, and every {@linkcode STREAM_INTERVAL_MS} when it
 *   changed: one look at the run directory for every listener, and nothing
 *   while none listens;
 * - `GET /`: the status page (status_page.ts), which follows `/events`.
 *
 * Looks at the run directory are shared: requests that come while one is
 * under way get its result, so a burst of scrapes costs one look. Looks
 * keep what did not change (records, names, markers: run_dir_looks.ts), but
 * a look of 200 services still takes ~20 ms (every lock and tree in `/proc`),
 * so a scraper that comes back at a steady interval (Prometheus does) finds
 * its next look taken just before it comes ({@linkcode PREFETCH_LEAD_MS}
 * ahead) and gets it at once: one look per scrape, as without, never older
 * than {@linkcode FRESH_MS}. Other requests get a look of their own (or
 * the one under way).
 *
 * @module
 */

import type { ServiceDetail, ServiceList } from "../inspect/list_services.ts";
import { RunDirLooks } from "../inspect/run_dir_looks.ts";
import { metricsText, type SupervisorFigures } from "../metrics/metrics_text.ts";
import { serviceNames, validateName } from "../model/run_dir.ts";
import { serviceLogs } from "../output/service_logs.ts";
import type { ServiceEvent } from "../model/service_event.ts";
import type { HttpHandler, HttpResponse } from "./http_server.ts";
import { STATUS_PAGE } from "./status_page.ts";

/** How often event streams get a snapshot when it changed (uptime, CPU, memory), ms. */
export const STREAM_INTERVAL_MS = 2000;

/** How long after a lifecycle event its snapshot is taken (events together share one), ms. */
export const EVENT_SETTLE_MS = 30;

/** A look this recent is answered as is. */
export const FRESH_MS = 1000;

/** How long before a steady scraper's next scrape its look is taken. */
export const PREFETCH_LEAD_MS = 400;

/** Log lines `/api/logs/NAME` gives. */
const LOG_LINES = 50;

/**
 * The routes of one run directory, as an {@linkcode HttpHandler}, and the
 * timer that feeds event streams (runs only while one is open).
 *
 * @example
 * ```ts
 * import { StatusRoutes } from "./status_routes.ts";
 * import { HttpServer } from "./http_server.ts";
 * const routes = new StatusRoutes("/tmp/pidkit-example", () => null);
 * const server = HttpServer.listen({ hostname: "127.0.0.1", port: 9464 }, routes.handler);
 * await server.close();
 * routes.close();
 * ```
 */
export class StatusRoutes {
  readonly #dir: string;
  /** Every look: records, names and markers not read again when unchanged. */
  readonly #looks: RunDirLooks;
  readonly #supervisor: () => SupervisorFigures | null;
  #look?: Promise<{ list: ServiceList; details: ServiceDetail[] }>;
  #fresh?: {
    at: number;
    value: { list: ServiceList; details: ServiceDetail[] };
    /** Taken ahead for the next scrape, which uses it (once). */
    ahead: boolean;
  };
  #lastScrape = 0;
  #prefetch?: ReturnType<typeof setTimeout>;
  #follow?: () => void;
  readonly #events?: (listener: (event: ServiceEvent) => void) => () => void;
  #soon?: ReturnType<typeof setTimeout>;
  readonly #streams = new Set<(chunk: string) => Promise<boolean>>();
  #timer?: ReturnType<typeof setInterval>;
  #last = "";

  /**
   * `supervisor` gives the supervisor's own figures; `events`, when given,
   * subscribes a listener to the lifecycle events as they happen (and
   * returns the function that unsubscribes it).
   */
  constructor(
    dir: string,
    supervisor: () => SupervisorFigures | null,
    events?: (listener: (event: ServiceEvent) => void) => () => void,
  ) {
    this.#dir = dir;
    this.#looks = new RunDirLooks(dir);
    this.#supervisor = supervisor;
    this.#events = events;
  }

  /** The handler to give the server. */
  readonly handler: HttpHandler = (request) => this.#route(request.path);

  /** Stop feeding event streams. */
  close(): void {
    clearTimeout(this.#prefetch);
    this.#quiet();
    this.#streams.clear();
  }

  /**
   * One look at the run directory, shared by every request that comes
   * meanwhile; one taken at most `maxAgeMs` ago is given as is.
   */
  look(maxAgeMs = 0): Promise<{ list: ServiceList; details: ServiceDetail[] }> {
    if (this.#fresh && Date.now() - this.#fresh.at <= maxAgeMs) {
      return Promise.resolve(this.#fresh.value);
    }
    const at = Date.now();
    this.#look ??= this.#looks.look().then((value) => {
      this.#fresh = { at, value, ahead: false };
      return value;
    }).finally(() => this.#look = undefined);
    return this.#look;
  }

  /** A scrape now: its look, and the next one taken ahead when scrapes come steadily. */
  scrape(): Promise<{ list: ServiceList; details: ServiceDetail[] }> {
    const now = Date.now();
    const interval = now - this.#lastScrape;
    this.#lastScrape = now;
    clearTimeout(this.#prefetch);
    if (interval >= 2 * FRESH_MS && interval <= 300_000) {
      this.#prefetch = setTimeout(() => {
        void this.look().then(() => {
          if (this.#fresh) this.#fresh.ahead = true;
        }, () => {});
      }, interval - PREFETCH_LEAD_MS);
      Deno.unrefTimer(this.#prefetch);
    }
    const ahead = this.#fresh;
    if (ahead?.ahead && now - ahead.at <= FRESH_MS) {
      ahead.ahead = false;
      return Promise.resolve(ahead.value);
    }
    return this.look();
  }

  async #route(path: string): Promise<HttpResponse> {
    switch (path) {
      case "/":
        return {
          status: 200,
          type: "text/html; charset=utf-8",
          body: STATUS_PAGE,
          headers: {
            "Content-Security-Policy":
              "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
          },
        };
      case "/metrics": {
        const { list, details } = await this.scrape();
        return {
          status: 200,
          type: "text/plain; version=0.0.4; charset=utf-8",
          body: metricsText({ services: list.services, details, supervisor: this.#supervisor() }),
        };
      }
      case "/api/services":
        return json((await this.look()).list);
      case "/events":
        return { stream: (send, closed) => this.#open(send, closed) };
    }
    if (path.startsWith("/api/logs/")) return await this.#logs(path.slice("/api/logs/".length));
    return { status: 404, type: "text/plain; charset=utf-8", body: "not found\n" };
  }

  async #logs(raw: string): Promise<HttpResponse> {
    let name: string;
    try {
      name = decodeURIComponent(raw);
      validateName(name);
    } catch {
      return { status: 404, type: "text/plain; charset=utf-8", body: "no such service\n" };
    }
    if (!(await serviceNames(this.#dir).catch((): string[] => [])).includes(name)) {
      return { status: 404, type: "text/plain; charset=utf-8", body: "no such service\n" };
    }
    const lines: { time: string | null; text: string }[] = [];
    try {
      for await (const item of serviceLogs(name, { dir: this.#dir, lines: LOG_LINES })) {
        if (item.type === "line") {
          lines.push({ time: item.time?.toISOString() ?? null, text: item.text.slice(0, 2000) });
        }
      }
    } catch { /* no log yet: none */ }
    return json({ service: name, lines });
  }

  #open(send: (chunk: string) => Promise<boolean>, closed: Promise<void>): void {
    this.#streams.add(send);
    void closed.then(() => {
      this.#streams.delete(send);
      if (this.#streams.size === 0) this.#quiet();
    });
    // The newest snapshot at once, then on every event and every change.
    // (The others get it too when it is news to them, so no tick repeats it.)
    void this.look().then(({ list }) => {
      const text = JSON.stringify(list);
      const chunk = chunkOf("services", text);
      void send(chunk);
      if (text === this.#last) return;
      this.#last = text;
      for (const other of this.#streams) if (other !== send) void other(chunk);
    });
    this.#timer ??= setInterval(() => void this.#tick(), STREAM_INTERVAL_MS);
    this.#follow ??= this.#followEvents();
  }

  /** No stream is open: nothing runs for them. */
  #quiet(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#soon);
    this.#soon = undefined;
    this.#follow?.();
    this.#follow = undefined;
  }

  /**
   * The supervisor's lifecycle events (src/service/events/), as it appends
   * them to the journal, while a stream is open: each is passed on as an
   * `event` event, and a snapshot follows it within
   * {@linkcode EVENT_SETTLE_MS} (events that come together share one). In
   * process, not by following the journal file: a file watch in the
   * supervisor would be one more thing that can hold it up.
   */
  #followEvents(): () => void {
    return this.#events?.((e) => {
      const chunk = chunkOf("event", JSON.stringify(e));
      for (const send of this.#streams) void send(chunk);
      this.#soon ??= setTimeout(() => {
        this.#soon = undefined;
        void this.#tick();
      }, EVENT_SETTLE_MS);
    }) ?? (() => {});
  }

  async #tick(): Promise<void> {
    const text = JSON.stringify((await this.look()).list);
    if (text === this.#last) return;
    this.#last = text;
    const chunk = chunkOf("services", text);
    for (const send of this.#streams) void send(chunk);
  }
}

function chunkOf(name: string, data: string): string {
  return `event: ${name}\ndata: ${data}\n\n`;
}

function json(value: unknown): HttpResponse {
  return { status: 200, type: "application/json", body: JSON.stringify(value) + "\n" };
}
