/**
 * The run directory supervisor's read-only HTTP server as it runs: the
 * server (http_server.ts) with its routes (status_routes.ts), and the line
 * it says as it starts. Loaded only by a supervisor that serves; where and
 * whether is http_config.ts's.
 *
 * @module
 */

import { PidkitError } from "../../os/errors.ts";
import type { SupervisorFigures } from "../metrics/metrics_text.ts";
import { bindError, formatHttpAddress, type HttpAddress } from "./http_config.ts";
import { HttpServer, type HttpServerHooks } from "./http_server.ts";
import { StatusRoutes } from "./status_routes.ts";
import type { ServiceEvent } from "../model/service_event.ts";

/**
 * The running HTTP server of a supervisor and its routes.
 *
 * @example
 * ```ts
 * import { SupervisorHttp } from "./supervisor_http.ts";
 * const http = SupervisorHttp.start("/tmp/pidkit-example", { hostname: "127.0.0.1", port: 9464 }, () => null);
 * console.log(http.startLine());
 * await http.close();
 * ```
 */
export class SupervisorHttp {
  /** The server. */
  readonly server: HttpServer;
  /** Its routes. */
  readonly routes: StatusRoutes;
  /** The address it was asked to bind. */
  readonly address: HttpAddress;

  private constructor(server: HttpServer, routes: StatusRoutes, address: HttpAddress) {
    this.server = server;
    this.routes = routes;
    this.address = address;
  }

  /**
   * Bind and serve; {@linkcode PidkitError} with one line when the address
   * cannot be bound. `hooks` are the server's (the supervisor collects its
   * garbage once requests stop: supervisor/_quiet_gc.ts).
   */
  static start(
    dir: string,
    address: HttpAddress,
    figures: () => SupervisorFigures | null,
    events?: (listener: (event: ServiceEvent) => void) => () => void,
    hooks: HttpServerHooks = {},
  ): SupervisorHttp {
    const routes = new StatusRoutes(dir, figures, events);
    let server: HttpServer;
    try {
      server = HttpServer.listen(address, routes.handler, {}, hooks);
    } catch (err) {
      throw new PidkitError(bindError(address, err));
    }
    return new SupervisorHttp(server, routes, address);
  }

  /** What the supervisor says as it starts serving. */
  startLine(): string {
    const at = formatHttpAddress(this.address);
    const local = /^(127\.|::1$|localhost$)/.test(this.address.hostname);
    return `serving http://${at}/ (status page, /metrics, /api/services; read-only) ` +
      (local
        ? `on ${this.address.hostname} only`
        : `on ${this.address.hostname}: anyone who can reach it sees every service's state`);
  }

  /** Whether it serves `at`. */
  serves(at: HttpAddress): boolean {
    return at.hostname === this.address.hostname && at.port === this.address.port;
  }

  /** Stop serving. */
  async close(): Promise<void> {
    this.routes.close();
    await this.server.close();
  }
}
