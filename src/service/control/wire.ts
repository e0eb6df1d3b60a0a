/**
 * The control protocol's version and error codes: what lets a command and a
 * supervisor of different pidkit releases tell each other apart before
 * anything is done.
 *
 * A request line is an envelope, `{"v":1,"request":{"op":...}}`. A
 * supervisor from before versioning (pidkit 0.2) reads `op` at the top
 * level, finds none, answers `{"ok":false,"error":"unknown request ..."}` and
 * does nothing: so a newer command learns that it faces an older supervisor
 * without having started or stopped anything. A versioned supervisor
 * writes `v` in its acknowledgement and in every answer, refuses a request
 * of a protocol newer than its own with code `version`, and takes a bare
 * request (no envelope: a command from before versioning) as before.
 *
 * Refusals carry a code ({@linkcode ControlErrorCode}); a client acts on
 * the code, never on the text.
 *
 * Version history: 0, pidkit 0.2 (no field: start, stop, hello; no
 * acknowledgement, no deadline); 1, pidkit 0.3 (acknowledgement, deadline,
 * `pidkit run`'s socket and `restart`, a stop whose schedule and time limit
 * are the supervisor's when the request names none).
 *
 * @module
 */

/** The control protocol version this pidkit speaks. */
export const PROTOCOL_VERSION = 1;

/**
 * Why a supervisor refused a request or could not carry it out:
 * `permission-denied` (the peer's uid may not control the directory),
 * `expired` (its deadline passed before it was read), `bad-request` (not
 * one JSON request), `unknown-op`, `version` (the request's protocol is
 * newer than the supervisor's), `failed` (an error while carrying it out;
 * the text says which).
 *
 * @example
 * ```ts
 * import type { ControlErrorCode } from "./wire.ts";
 * const askAgainLater = (code: ControlErrorCode) => code === "expired";
 * console.log(askAgainLater("version"));
 * ```
 */
export type ControlErrorCode =
  | "permission-denied"
  | "expired"
  | "bad-request"
  | "unknown-op"
  | "version"
  | "failed";

/**
 * A refused request, or one that failed: the client maps `code`, never the text.
 *
 * @example
 * ```ts
 * import type { ControlError } from "./wire.ts";
 * const e: ControlError = { ok: false, code: "unknown-op", error: "unknown request", v: 1 };
 * ```
 */
export interface ControlError {
  /** Always false. */
  ok: false;
  /** Why, for the client to act on. */
  code: ControlErrorCode;
  /** One line for the user. */
  error: string;
  /** The protocol version of the supervisor that answered. */
  v: number;
}

/**
 * The line of a refusal (or failure) `code` with text `error`.
 *
 * @example
 * ```ts
 * import { errorLine } from "./wire.ts";
 * console.log(errorLine("bad-request", "bad request: not one JSON line"));
 * ```
 */
export function errorLine(code: ControlErrorCode, error: string): string {
  return answerLine({ ok: false, code, error });
}

/**
 * The line of an answer: `answer` with the protocol version added.
 *
 * @example
 * ```ts
 * import { answerLine } from "./wire.ts";
 * console.log(answerLine({ held: false })); // {"held":false,"v":1}
 * ```
 */
export function answerLine(answer: unknown): string {
  return JSON.stringify({ ...answer as object, v: PROTOCOL_VERSION }) + "\n";
}

/**
 * The acknowledgement a supervisor writes as soon as it takes a request
 * that asked for one, with what the client may want to know before the
 * answer (a stop's schedule, say); to a request of protocol `v` 0 (a
 * command from before versioning), the bare one it knows.
 *
 * @example
 * ```ts
 * import { ackLine } from "./wire.ts";
 * console.log(ackLine({ retry: "TERM/10/KILL/5" })); // {"accepted":true,"v":1,"retry":"TERM/10/KILL/5"}
 * ```
 */
export function ackLine(extra: { retry?: string } = {}, v = PROTOCOL_VERSION): string {
  // A command from before versioning (v 0) knows the bare acknowledgement only.
  if (v === 0) return '{"accepted":true}\n';
  return JSON.stringify({ accepted: true, v: PROTOCOL_VERSION, ...extra }) + "\n";
}

/**
 * What an acknowledgement says; `undefined` when `line` is not one.
 *
 * @example
 * ```ts
 * import { ackLine, parseAck } from "./wire.ts";
 * console.log(parseAck(ackLine().trim())?.v); // 1
 * ```
 */
export function parseAck(line: string): { v?: number; retry?: string } | undefined {
  if (!line.startsWith('{"accepted":true')) return undefined; // answers never start so
  try {
    const ack = JSON.parse(line);
    return {
      ...(typeof ack.v === "number" ? { v: ack.v } : {}),
      ...(typeof ack.retry === "string" ? { retry: ack.retry } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * The line that carries `request` (its envelope fields included) at this
 * protocol version.
 *
 * @example
 * ```ts
 * import { requestLine } from "./wire.ts";
 * console.log(requestLine({ op: "hello" })); // {"v":1,"request":{"op":"hello"}}
 * ```
 */
export function requestLine(request: object): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, request });
}

/**
 * A request line read by a supervisor: the request and the protocol
 * version it was sent at (0: a bare request from before versioning), or
 * the code to refuse it with.
 *
 * @example
 * ```ts
 * import { parseRequestLine } from "./wire.ts";
 * const got = parseRequestLine('{"v":1,"request":{"op":"hello"}}');
 * console.log("request" in got ? got.request : got.code);
 * ```
 */
export function parseRequestLine(
  line: string,
): { v: number; request: Record<string, unknown> & { op?: unknown } } | {
  code: ControlErrorCode;
  error: string;
} {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { code: "bad-request", error: "bad request: not one JSON line" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { code: "bad-request", error: "bad request: not a JSON object" };
  }
  const outer = value as Record<string, unknown>;
  if (!("v" in outer)) return { v: 0, request: outer }; // a command from before versioning
  const v = outer.v;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    return { code: "bad-request", error: `bad request: bad protocol version ${JSON.stringify(v)}` };
  }
  if (v > PROTOCOL_VERSION) {
    return {
      code: "version",
      error: `the request speaks control protocol ${v}; this supervisor (pid ${Deno.pid}) ` +
        `speaks ${PROTOCOL_VERSION}: stop its services and let a newer pidkit start a new one`,
    };
  }
  const request = outer.request;
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return { code: "bad-request", error: "bad request: no request in the envelope" };
  }
  return { v, request: request as Record<string, unknown> };
}
