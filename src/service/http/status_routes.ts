/**
 * What the supervisor's HTTP server answers, read-only by design: no
 * route starts, stops or signals anything (control stays on the 0600
 * socket), and none shows a service's environment.
 *
 * - `GET /metrics`: the Prometheus text (src/service/metrics/);
 * - `GET /api/services`: `pidkit list --json`'s shape;
 * - `GET /api/logs/NAME`: the service's last 50 log lines, as JSON;
 * - `GET /events`: server-sent events, one `services` event (the
 *   `/api/services` JSON) whenever it changed, checked once a second while
 *   anyone listens: one look at the run directory for every listener;
 * - `GET /`: the status page (status_page.ts), which follows `/events`.
 *
 * Looks at the run directory are shared: requests that come while one is
 * under way get its result, so a burst of scrapes costs one look.
 *
 * @module
 */

import { listServiceDetails, type ServiceDetail, type ServiceList } from "../list_services.ts";
import { metricsText, type SupervisorFigures } from "../metrics/metrics_text.ts";
import { serviceNames, validateName } from "../run_dir.ts";
import { serviceLogs } from "../service_logs.ts";
import type { HttpHandler, HttpResponse } from "./http_server.ts";
import { STATUS_PAGE } from "./status_page.ts";

/** How often event streams are refreshed, ms. */
export const STREAM_INTERVAL_MS = 1000;

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
  readonly #supervisor: () => SupervisorFigures | null;
  #look?: Promise<{ list: ServiceList; details: ServiceDetail[] }>;
  readonly #streams = new Set<(chunk: string) => Promise<boolean>>();
  #timer?: ReturnType<typeof setInterval>;
  #last = "";

  constructor(dir: string, supervisor: () => SupervisorFigures | null) {
    this.#dir = dir;
    this.#supervisor = supervisor;
  }

  /** The handler to give the server. */
  readonly handler: HttpHandler = (request) => this.#route(request.path);

  /** Stop feeding event streams. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#streams.clear();
  }

  /** One look at the run directory, shared by every request that comes meanwhile. */
  look(): Promise<{ list: ServiceList; details: ServiceDetail[] }> {
    this.#look ??= listServiceDetails({ dir: this.#dir }).finally(() => this.#look = undefined);
    return this.#look;
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
        const { list, details } = await this.look();
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
      if (this.#streams.size === 0) this.close();
    });
    // The newest snapshot at once, then on every change.
    void this.look().then(({ list }) => send(event(JSON.stringify(list))));
    this.#timer ??= setInterval(() => void this.#tick(), STREAM_INTERVAL_MS);
  }

  async #tick(): Promise<void> {
    const text = JSON.stringify((await this.look()).list);
    if (text === this.#last) return;
    this.#last = text;
    const chunk = event(text);
    for (const send of this.#streams) void send(chunk);
  }
}

function event(data: string): string {
  return `event: services\ndata: ${data}\n\n`;
}

function json(value: unknown): HttpResponse {
  return { status: 200, type: "application/json", body: JSON.stringify(value) + "\n" };
}
