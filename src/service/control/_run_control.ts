/**
 * The control socket of `pidkit run` (`DIR/NAME.run.sock`, see
 * supervisor_protocol.ts): the requests the run directory's resident
 * supervisor takes on `DIR/supervisor.sock`, for the one service the run
 * holds. `stop` keeps its schedule (`--retry`), and `restart` is carried
 * out in place: the run stays in the foreground with its PID (in a
 * container or a systemd `Type=exec` unit it never leaves its unit).
 *
 * The answer to a stop goes out once the PID file's lock is released, just
 * before the run exits: a `status` right after the stop says stopped.
 *
 * @module
 */

import { messageLine } from "../../os/errors.ts";
import type { FdPoller } from "../../os/fd_poller.ts";
import { type UnixConnection, UnixServer } from "../../os/unix_server.ts";
import {
  readRequest,
  refusalLine,
  type RestartAnswer,
  type StopAnswer,
  type StopRequest,
  type StopResult,
  type SupervisorRequest,
  unknownOp,
} from "./supervisor_protocol.ts";
import { ackLine, answerLine, errorLine, PROTOCOL_VERSION } from "./wire.ts";
import { scheduleOf, serveStop } from "./serve_stop.ts";

/** What the run's control socket works on: its per-service machine (machine/service_machine.ts). */
export interface RunControlled {
  /** The service's name, run directory and options (its stop schedule). */
  readonly cfg: { name: string; dir: string; options: { retry: string } };
  /** Set by a stop request: the schedule and who asked. */
  stopRequest?: StopRequest;
  /** What the stop did, once done. */
  stopResult?: StopResult;
  /** Stop the service; the supervision then ends. */
  requestStop(): void;
  /** Restart in place; resolves once the new tree is ready (or failed). */
  requestRestart(request: { retry?: string; requestedBy: number }): Promise<RestartAnswer>;
}

/** The listening control socket of one `pidkit run`. */
export class RunControl {
  readonly #server: UnixServer;
  readonly #sup: RunControlled;
  readonly #pending = new Set<Promise<void>>();
  #end!: () => void;
  readonly #ended = new Promise<void>((r) => this.#end = r);

  private constructor(sup: RunControlled, path: string, poller: FdPoller) {
    this.#sup = sup;
    this.#server = UnixServer.listen(path, poller, (conn) => {
      const p = this.#serve(conn).finally(() => this.#pending.delete(p));
      this.#pending.add(p);
    });
  }

  /**
   * Listen at `path` (the caller holds the service's PID file lock: no one
   * else listens there). Throws PidkitError when it cannot.
   */
  static listen(sup: RunControlled, path: string, poller: FdPoller): RunControl {
    return new RunControl(sup, path, poller);
  }

  /** The socket's path. */
  get path(): string {
    return this.#server.path;
  }

  /**
   * The supervision is over and the lock released: answer the stops waiting
   * for that, refuse what comes after (`held: false`), stop listening.
   */
  async close(): Promise<void> {
    this.#end();
    await Promise.all(this.#pending);
    await this.#server.close(`{"held":false,"v":${PROTOCOL_VERSION}}\n`);
  }

  async #serve(conn: UnixConnection): Promise<void> {
    try {
      const request = await readRequest(
        conn,
        this.#sup.cfg.dir,
        (uid) => `permission denied: uid ${uid} may not control ${this.#sup.cfg.name}`,
      );
      if (request === undefined) return;
      // As the resident supervisor does: a request read after its client
      // gave up (this process was frozen, say), or whose client is gone, is
      // dropped, never carried out late.
      const late = typeof request.deadline === "number" && Date.now() > request.deadline;
      if (late || conn.peerGone()) {
        await conn.write(
          refusalLine("expired", "the request's deadline passed before it was read"),
        );
        return;
      }
      if (request.ack === true) {
        const stop = request.op === "stop" && request.name === this.#sup.cfg.name;
        await conn.write(ackLine(stop ? { retry: scheduleOf(this.#sup, request) } : {}, request.v));
      }
      const answer = await this.#handle(request);
      await conn.write(request.v === 0 ? JSON.stringify(answer) + "\n" : answerLine(answer));
    } catch (err) {
      await conn.write(errorLine("failed", messageLine(err)));
    } finally {
      conn.close();
    }
  }

  async #handle(request: SupervisorRequest): Promise<unknown> {
    const sup = this.#sup;
    if (request.op === "hello") return { ok: true, pid: Deno.pid, services: [sup.cfg.name] };
    if (request.op !== "stop" && request.op !== "restart") return unknownOp(request);
    if (request.name !== sup.cfg.name) return { held: false };
    if (request.op === "restart") {
      // Only what a client may ask: a manual restart (a policy's is the supervisor's own).
      const { retry, requestedBy } = request;
      return await sup.requestRestart({ ...(retry ? { retry } : {}), requestedBy });
    }
    return await this.#stop(request);
  }

  #stop(request: Extract<SupervisorRequest, { op: "stop" }>): Promise<StopAnswer> {
    return serveStop(this.#sup, request, this.#ended);
  }
}
