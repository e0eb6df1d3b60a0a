/**
 * The fields of a declared service, one row per field: its JSON type, the
 * `start` flag it stands for, whether it is a path (made absolute against
 * the file's directory) and its help. Validation, resolution and the JSON
 * Schema (`schema/pidkit.schema.json`, see {@linkcode stackSchema}) all read
 * this table, and a test keeps it in step with `start`'s options.
 *
 * @module
 */

import type { LaunchOptions } from "../service/control/supervisor_config.ts";

/**
 * How a field's value is typed and checked:
 * `string`, `boolean`; `duration` (text such as `"10s"` or a number of ms);
 * `size` (text such as `"10M"` or a number of bytes); `integer`; `env` (an
 * object of strings, numbers or booleans); `strings` (an array of strings);
 * `command` (an argv array or a string run through `sh -c`); `paths` (one
 * path or an array of paths); `limits` (an object of resource names to
 * `"SOFT[:HARD]"` or a number).
 *
 * @example
 * ```ts
 * import type { FieldKind } from "./fields.ts";
 * const kind: FieldKind = "duration";
 * console.log(kind);
 * ```
 */
export type FieldKind =
  | "string"
  | "boolean"
  | "duration"
  | "size"
  | "integer"
  | "env"
  | "strings"
  | "command"
  | "paths"
  | "limits";

/**
 * One field of a declared service.
 *
 * @example
 * ```ts
 * import type { FieldSpec } from "./fields.ts";
 * const field: FieldSpec = { key: "cwd", kind: "string", flag: "cwd", path: true, description: "working directory" };
 * console.log(field.key);
 * ```
 */
export interface FieldSpec {
  /** The field's JSON key; `ready.tcp` is `tcp` inside `ready`. */
  key: string;
  /** Its type. */
  kind: FieldKind;
  /** The `pidkit start` option it stands for, if any (`ready-tcp`). */
  flag?: string;
  /** The {@linkcode LaunchOptions} field it becomes, if any. */
  launch?: keyof LaunchOptions;
  /** A path, made absolute against the declaration file's directory. */
  path?: boolean;
  /** The values it takes, when a fixed set. */
  values?: string[];
  /** The smallest and largest integer it takes. */
  range?: [number, number];
  /** Not allowed in `defaults` (it makes sense only per service). */
  perService?: boolean;
  /** Required in every service. */
  required?: boolean;
  /** One line of help (the schema's description). */
  description: string;
}

/**
 * Every field of a declared service, in the order `pidkit check` prints
 * them; `ready.*` are the fields of the `ready` object.
 *
 * @example
 * ```ts
 * import { SERVICE_FIELDS } from "./fields.ts";
 * console.log(SERVICE_FIELDS.map((f) => f.key).join(", "));
 * ```
 */
export const SERVICE_FIELDS: readonly FieldSpec[] = [
  {
    key: "cmd",
    kind: "command",
    perService: true,
    required: true,
    description: "the command: an argv array, or a string run through `sh -c`",
  },
  {
    key: "cwd",
    kind: "string",
    flag: "cwd",
    launch: "cwd",
    path: true,
    description: "working directory (relative to the file's directory; default that directory)",
  },
  {
    key: "env",
    kind: "env",
    flag: "env",
    launch: "env",
    description: "environment variables; they win over envFile",
  },
  {
    key: "envFile",
    kind: "paths",
    path: true,
    description: "env file(s) (KEY=VALUE, quotes, # comments, export prefix); later files win",
  },
  {
    key: "user",
    kind: "string",
    flag: "user",
    launch: "user",
    description: "run as this user, name or uid (needs root)",
  },
  {
    key: "restart",
    kind: "string",
    flag: "restart",
    launch: "restart",
    values: ["no", "on-failure", "always"],
    description: "restart policy (default no)",
  },
  {
    key: "maxRestarts",
    kind: "integer",
    flag: "max-restarts",
    launch: "maxRestarts",
    range: [0, Number.MAX_SAFE_INTEGER],
    description: "give up after this many restarts in a row (default 10)",
  },
  {
    key: "restartDelay",
    kind: "duration",
    flag: "restart-delay",
    launch: "restartDelay",
    description: "first restart delay, doubled up to 30s (default 100ms)",
  },
  {
    key: "retry",
    kind: "string",
    flag: "retry",
    launch: "retry",
    description: "stop schedule SIG/SECS/SIG/SECS..., N, or forever (default TERM/10/KILL/5)",
  },
  {
    key: "log",
    kind: "string",
    flag: "log",
    launch: "log",
    path: true,
    description: "log file (default DIR/NAME.log)",
  },
  {
    key: "logMaxSize",
    kind: "size",
    flag: "log-max-size",
    launch: "logMaxSize",
    description: "rotate the log at this size (512K, 10M, 1G, or bytes)",
  },
  {
    key: "logKeep",
    kind: "integer",
    flag: "log-keep",
    launch: "logKeep",
    range: [0, 1000],
    description: "rotated logs kept with logMaxSize (default 5)",
  },
  {
    key: "pidfile",
    kind: "string",
    flag: "pidfile",
    launch: "pidfile",
    path: true,
    perService: true,
    description: "PID file to hold (default DIR/NAME.pid)",
  },
  {
    key: "forking",
    kind: "boolean",
    flag: "forking",
    launch: "forking",
    description: "the command forks a daemon and exits 0 (systemd Type=forking)",
  },
  {
    key: "mainPidfile",
    kind: "string",
    flag: "main-pidfile",
    launch: "mainPidfile",
    path: true,
    perService: true,
    description: "with forking: the daemon's own PID file, naming the main process",
  },
  {
    key: "watchdog",
    kind: "duration",
    flag: "watchdog",
    launch: "watchdog",
    description: "once ready, WATCHDOG=1 must arrive this often, or abort and restart it",
  },
  {
    key: "tracking",
    kind: "string",
    flag: "tracking",
    launch: "tracking",
    values: ["auto", "cgroup", "group"],
    description: "process tracking tier (default auto)",
  },
  {
    key: "limits",
    kind: "limits",
    flag: "limit",
    launch: "limits",
    description:
      'resource limits set before the service runs: nofile, nproc, core, ... to "SOFT[:HARD]" or a number (unlimited; sizes with K, M, G)',
  },
  {
    key: "nice",
    kind: "integer",
    flag: "nice",
    launch: "nice",
    range: [-20, 19],
    description: "nice value of the service's tree (below your own needs root)",
  },
  {
    key: "oomScoreAdjust",
    kind: "integer",
    flag: "oom-score-adjust",
    launch: "oomScoreAdjust",
    range: [-1000, 1000],
    description: "oom_score_adj of the service's tree (below your own needs root)",
  },
  {
    key: "watch",
    kind: "paths",
    flag: "watch",
    launch: "watch",
    path: true,
    description: "restart when a file under these paths changes (relative to the file's directory)",
  },
  {
    key: "watchIgnore",
    kind: "strings",
    flag: "watch-ignore",
    launch: "watchIgnore",
    description: "globs of changes to ignore (.git and node_modules always are)",
  },
  {
    key: "watchDelay",
    kind: "duration",
    flag: "watch-delay",
    launch: "watchDelay",
    description: "gather changes this long before the restart (default 200ms)",
  },
  {
    key: "maxMemory",
    kind: "size",
    flag: "max-memory",
    launch: "maxMemory",
    description:
      'restart the service when its tree\'s resident memory is above this size ("200M" or bytes)',
  },
  {
    key: "cron",
    kind: "string",
    flag: "cron",
    launch: "cron",
    perService: true,
    description:
      "a task: started at each tick of this cron expression when not running (5 fields, or 6 with seconds first)",
  },
  {
    key: "cronRestart",
    kind: "string",
    flag: "cron-restart",
    launch: "cronRestart",
    perService: true,
    description: "restart the running service at each tick of this cron expression",
  },
  {
    key: "tz",
    kind: "string",
    flag: "tz",
    launch: "tz",
    description: "IANA time zone of cron and cronRestart (default local time)",
  },
  {
    key: "cronCatchUp",
    kind: "boolean",
    flag: "cron-catch-up",
    launch: "cronCatchUp",
    description: "act once at once for ticks missed while no supervisor ran",
  },
  {
    key: "ready.after",
    kind: "duration",
    flag: "ready-after",
    launch: "readyAfter",
    description: "ready once the service has lived this long",
  },
  {
    key: "ready.tcp",
    kind: "string",
    flag: "ready-tcp",
    launch: "readyTcp",
    description: "ready once a TCP connection to HOST:PORT succeeds",
  },
  {
    key: "ready.file",
    kind: "string",
    flag: "ready-file",
    launch: "readyFile",
    path: true,
    description: "ready once the service creates or touches this file",
  },
  {
    key: "ready.notify",
    kind: "boolean",
    flag: "ready-notify",
    launch: "readyNotify",
    description: "ready once the service sends READY=1 to $NOTIFY_SOCKET (sd_notify)",
  },
  {
    key: "ready.fd",
    kind: "integer",
    flag: "ready-fd",
    launch: "readyFd",
    range: [3, 255],
    description: "ready once the service writes a newline to this descriptor",
  },
  {
    key: "ready.timeout",
    kind: "duration",
    flag: "ready-timeout",
    launch: "readyTimeout",
    description: "fail the start when not ready within this long (default 60s)",
  },
  {
    key: "dependsOn",
    kind: "strings",
    perService: true,
    description: "services that must be ready before this one starts",
  },
  {
    key: "instances",
    kind: "integer",
    range: [1, 1000],
    perService: true,
    description: "run N copies NAME.1 ... NAME.N, each with PIDKIT_INSTANCE set",
  },
  {
    key: "autostart",
    kind: "boolean",
    description: "false: declared, started only when named (pidkit up NAME)",
  },
];

/**
 * The top-level fields of a declaration file.
 *
 * @example
 * ```ts
 * import { FILE_FIELDS } from "./fields.ts";
 * console.log(FILE_FIELDS.includes("services")); // true
 * ```
 */
export const FILE_FIELDS: readonly string[] = ["$schema", "dir", "defaults", "services"];

/**
 * The row for `key` (`"ready.tcp"`), if there is one.
 *
 * @example
 * ```ts
 * import { fieldByKey } from "./fields.ts";
 * console.log(fieldByKey("ready.fd")?.range); // [3, 255]
 * ```
 */
export function fieldByKey(key: string): FieldSpec | undefined {
  return SERVICE_FIELDS.find((f) => f.key === key);
}

/**
 * The row that stands for `start`'s option `flag` (`"ready-tcp"`), if any.
 *
 * @example
 * ```ts
 * import { fieldByFlag } from "./fields.ts";
 * console.log(fieldByFlag("max-restarts")?.key); // "maxRestarts"
 * ```
 */
export function fieldByFlag(flag: string): FieldSpec | undefined {
  return SERVICE_FIELDS.find((f) => f.flag === flag);
}
