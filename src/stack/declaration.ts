/**
 * The types of a declaration: what a `pidkit.jsonc` holds (typed, so a
 * TypeScript caller building one gets completion) and what validation
 * makes of it.
 *
 * @module
 */

import type { LaunchOptions } from "../service/control/supervisor_config.ts";

/**
 * The `ready` object of a declared service: the `--ready-*` options.
 * Durations are text (`"10s"`) or a number of milliseconds.
 *
 * @example
 * ```ts
 * import type { ReadyDeclaration } from "./declaration.ts";
 * const ready: ReadyDeclaration = { tcp: "127.0.0.1:8080", timeout: "30s" };
 * console.log(ready);
 * ```
 */
export interface ReadyDeclaration {
  /** Ready once the service has lived this long. */
  after?: string | number;
  /** Ready once a TCP connection to `HOST:PORT` succeeds. */
  tcp?: string;
  /** Ready once the service creates or touches this file (relative to the file's directory). */
  file?: string;
  /** Ready once the service sends `READY=1` (sd_notify). */
  notify?: boolean;
  /** Ready once the service writes a newline to this descriptor (3-255). */
  fd?: number;
  /** Fail the start when not ready within this long (default 60 s). */
  timeout?: string | number;
}

/**
 * The fields every service may take and `defaults` may give (see
 * {@linkcode ServiceDeclaration}).
 *
 * @example
 * ```ts
 * import type { ServiceDefaults } from "./declaration.ts";
 * const defaults: ServiceDefaults = { restart: "on-failure", logMaxSize: "10M" };
 * console.log(defaults);
 * ```
 */
export interface ServiceDefaults {
  /** Working directory (relative to the file's directory). */
  cwd?: string;
  /** Environment variables (win over `envFile`). */
  env?: Record<string, string | number | boolean>;
  /** Env file(s), relative to the file's directory; later files win. */
  envFile?: string | string[];
  /** Run as this user (name or uid; needs root). */
  user?: string;
  /** Restart policy. */
  restart?: "no" | "on-failure" | "always";
  /** Restarts in a row before giving up. */
  maxRestarts?: number;
  /** First restart delay (`"100ms"` or ms). */
  restartDelay?: string | number;
  /** Stop schedule, e.g. `"TERM/10/KILL/5"`. */
  retry?: string;
  /** Log file (relative to the file's directory). */
  log?: string;
  /** Rotate the log at this size (`"10M"` or bytes). */
  logMaxSize?: string | number;
  /** Rotated logs kept. */
  logKeep?: number;
  /** The command forks a daemon and exits 0. */
  forking?: boolean;
  /** `WATCHDOG=1` must come this often once ready. */
  watchdog?: string | number;
  /** Process tracking tier. */
  tracking?: "auto" | "cgroup" | "group";
  /** Resource limits by name (`nofile`, `core`, ...): `"SOFT[:HARD]"` or a number. */
  limits?: Record<string, string | number>;
  /** The service's nice value, -20 to 19. */
  nice?: number;
  /** The service's `oom_score_adj`, -1000 to 1000. */
  oomScoreAdjust?: number;
  /** Readiness conditions (replaced as a whole, never merged with the defaults'). */
  ready?: ReadyDeclaration;
  /** `false`: started only when named. */
  autostart?: boolean;
}

/**
 * One service of a `pidkit.jsonc`: a field for every `pidkit start` option,
 * camelCased, plus `envFile`, `dependsOn`, `instances` and `autostart`.
 *
 * @example
 * ```ts
 * import type { ServiceDeclaration } from "./declaration.ts";
 * const web: ServiceDeclaration = {
 *   cmd: ["deno", "run", "-A", "server.ts"],
 *   dependsOn: ["redis"],
 *   instances: 2,
 *   ready: { tcp: "127.0.0.1:8080" },
 * };
 * console.log(web);
 * ```
 */
export interface ServiceDeclaration extends ServiceDefaults {
  /** The command: an argv array, or a string run through `sh -c`. */
  cmd: string | string[];
  /** PID file to hold (relative to the file's directory). */
  pidfile?: string;
  /** With `forking`: the daemon's own PID file. */
  mainPidfile?: string;
  /** Services that must be ready before this one starts. */
  dependsOn?: string[];
  /** Run N copies `NAME.1` ... `NAME.N`, each with `PIDKIT_INSTANCE` set. */
  instances?: number;
}

/**
 * A whole `pidkit.jsonc`.
 *
 * @example
 * ```ts
 * import type { StackFile } from "./declaration.ts";
 * const file: StackFile = {
 *   defaults: { restart: "on-failure" },
 *   services: { redis: { cmd: "redis-server --supervised systemd", ready: { notify: true } } },
 * };
 * console.log(file);
 * ```
 */
export interface StackFile {
  /** The JSON Schema the file follows (for editors; ignored by pidkit). */
  $schema?: string;
  /** The run directory, relative to the file's directory. */
  dir?: string;
  /** Fields every service gets unless it sets them (`env` is merged key by key). */
  defaults?: ServiceDefaults;
  /** The services, by name. */
  services: Record<string, ServiceDeclaration>;
}

/**
 * A service after validation: defaults merged, values checked and
 * normalised (durations in ms, sizes in bytes), paths still as written.
 *
 * @example
 * ```ts
 * import type { ValidService } from "./declaration.ts";
 * const s: ValidService = {
 *   name: "web", cmd: "deno run -A server.ts", env: {}, envFile: [], dependsOn: [],
 *   autostart: true, launch: { restart: "on-failure" },
 * };
 * console.log(s.name);
 * ```
 */
export interface ValidService {
  /** The declared name. */
  name: string;
  /** The command as declared. */
  cmd: string | string[];
  /** `env`, defaults' first, as strings. */
  env: Record<string, string>;
  /** Env files, defaults' first. */
  envFile: string[];
  /** The declared names this service needs ready first. */
  dependsOn: string[];
  /** The instance count, when `instances` was given (names are then numbered). */
  instances?: number;
  /** Whether `up` without names starts it. */
  autostart: boolean;
  /** Procfile mode: `PORT` of instance 1 (instance N gets `port + N - 1`). */
  port?: number;
  /** Every other field, as the service API takes it (no `dir`, no `env`). */
  launch: LaunchOptions;
}

/**
 * A validated declaration: where it came from, its run directory (as
 * written) and its services in declaration order.
 *
 * @example
 * ```ts
 * import type { StackDeclaration } from "./declaration.ts";
 * const d: StackDeclaration = { file: "/srv/app/pidkit.jsonc", services: [] };
 * console.log(d.file);
 * ```
 */
export interface StackDeclaration {
  /** The absolute path of the declaration file (or Procfile), when read from one. */
  file?: string;
  /** The run directory as written (relative to the file's directory). */
  dir?: string;
  /** The services, in declaration order. */
  services: ValidService[];
}
