/**
 * The resident supervisor's side of `DIR/supervisor.http` and of the
 * `http` request (`pidkit start --http`): kept out of dir_supervisor.ts,
 * which only holds the server.
 *
 * @module
 */

import { messageLine, PidkitError } from "../../os/errors.ts";
import { askSupervisor } from "../control/supervisor_client.ts";
import {
  checkBindable,
  formatHttpAddress,
  type HttpAddress,
  parseHttpAddress,
  readHttpConfig,
  writeHttpConfig,
} from "./http_config.ts";
import type { HttpServerHooks } from "./http_server.ts";
import type { SupervisorHttp } from "./supervisor_http.ts";
import type { ServiceEvent } from "../model/service_event.ts";

/**
 * What these functions need of the supervisor.
 *
 * @example
 * ```ts
 * import type { HttpHost } from "./supervisor_http_requests.ts";
 * const host: HttpHost = {
 *   dir: "/tmp/pidkit-example",
 *   serveHttp: () => Promise.reject(new Error("not here")),
 *   note: async (text) => console.error(text),
 * };
 * ```
 */
export interface HttpHost {
  /** The run directory. */
  dir: string;
  /** The server serving now, if any. */
  http?: SupervisorHttp;
  /** Start a server on `at` (rejects with one line when it cannot be bound). */
  serveHttp(at: HttpAddress): Promise<SupervisorHttp>;
  /** A journal line. */
  note(text: string): Promise<void>;
}

/**
 * As the supervisor starts listening: without `--http`, serve what
 * `DIR/supervisor.http` says, if it can (else say why in the journal and
 * supervise without); then say where it serves.
 *
 * @example
 * ```ts
 * import { httpFromConfig, type HttpHost } from "./supervisor_http_requests.ts";
 * declare const host: HttpHost;
 * await httpFromConfig(host);
 * ```
 */
export async function httpFromConfig(host: HttpHost): Promise<void> {
  if (host.http === undefined) {
    try {
      const at = readHttpConfig(host.dir);
      if (at !== undefined) host.http = await host.serveHttp(at);
    } catch (err) {
      return await host.note(`${messageLine(err)}; supervising without it`);
    }
  }
  if (host.http !== undefined) await host.note(host.http.startLine());
}

/**
 * The `http` request: serve `listen` from now on (the old server closes
 * once the new one is bound) and record it for later supervisors. A bad
 * address or one that cannot be bound changes nothing.
 *
 * @example
 * ```ts
 * import { httpRequest, type HttpHost } from "./supervisor_http_requests.ts";
 * declare const host: HttpHost;
 * console.log(await httpRequest(host, "127.0.0.1:9464"));
 * ```
 */
export async function httpRequest(
  host: HttpHost,
  listen: string,
): Promise<{ ok: boolean; error?: string; line?: string }> {
  try {
    const at = parseHttpAddress(listen);
    if (host.http === undefined || !host.http.serves(at)) {
      const fresh = await host.serveHttp(at);
      await host.http?.close();
      host.http = fresh;
      await host.note(fresh.startLine());
    }
    await writeHttpConfig(host.dir, at);
    return { ok: true, line: host.http.startLine() };
  } catch (err) {
    return { ok: false, error: messageLine(err) };
  }
}

/**
 * `pidkit start --http HOST:PORT`: make the supervisor of `dir` serve
 * `listen`, now if one runs (it binds, then records it), else by recording
 * it in `DIR/supervisor.http` for the one the start launches. Returns what
 * to tell the user. {@linkcode UsageError} for a bad address,
 * {@linkcode PidkitError} when it cannot be bound (nothing changed either way).
 *
 * @example
 * ```ts
 * import { enableSupervisorHttp } from "./supervisor_http_requests.ts";
 * console.log(await enableSupervisorHttp("/tmp/pidkit-example", ":9464"));
 * ```
 */
export async function enableSupervisorHttp(dir: string, listen: string): Promise<string> {
  const at = parseHttpAddress(listen);
  const answer = await askSupervisor<{ ok?: boolean; error?: string; line?: string }>(
    dir,
    { op: "http", listen: formatHttpAddress(at) },
    { launch: false },
  );
  if (answer !== undefined) {
    if (answer.ok !== true) throw new PidkitError(answer.error ?? "the supervisor refused --http");
    return answer.line ?? `serving http://${formatHttpAddress(at)}/`;
  }
  checkBindable(at);
  await writeHttpConfig(dir, at);
  return `serving http://${formatHttpAddress(at)}/ from the supervisor (${
    formatHttpAddress(at)
  } recorded in ${dir}/supervisor.http)`;
}

/**
 * The HTTP server of a run directory's supervisor on `at`, showing its own
 * figures and following its lifecycle events (loaded only by a supervisor
 * that serves). Rejects with one line when `at` cannot be bound. `hooks`
 * go to the server: the supervisor passes `onRequestDone` to collect the
 * garbage of a burst of scrapes once they stop (supervisor/_quiet_gc.ts).
 *
 * @example
 * ```ts
 * import { serveDirHttp } from "./supervisor_http_requests.ts";
 * import { EventJournal } from "../events/event_journal.ts";
 * const http = await serveDirHttp({
 *   dir: "/tmp/pidkit-example",
 *   adoptions: 0,
 *   services: new Map(),
 *   startedAt: Date.now(),
 *   events: EventJournal.open("/tmp/pidkit-example"),
 * }, { hostname: "127.0.0.1", port: 9464 });
 * await http.close();
 * ```
 */
export async function serveDirHttp(
  sup: {
    dir: string;
    adoptions: number;
    services: { size: number };
    startedAt: number;
    events: { subscribe(listener: (event: ServiceEvent) => void): () => void };
  },
  at: HttpAddress,
  hooks: HttpServerHooks = {},
): Promise<SupervisorHttp> {
  const { SupervisorHttp } = await import("./supervisor_http.ts");
  return SupervisorHttp.start(
    sup.dir,
    at,
    () => ({
      pid: Deno.pid,
      memoryBytes: Deno.memoryUsage().rss,
      adoptions: sup.adoptions,
      services: sup.services.size,
      startTimeSeconds: sup.startedAt / 1000,
    }),
    (listener) => sup.events.subscribe(listener),
    hooks,
  );
}
