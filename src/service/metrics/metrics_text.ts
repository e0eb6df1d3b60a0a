/**
 * A run directory's metrics in the Prometheus text exposition format
 * (version 0.0.4): what `pidkit metrics` prints and what the supervisor's
 * HTTP server answers at `/metrics`. Names follow Prometheus conventions:
 * `pidkit_` prefix, base units (seconds, bytes), `_total` for counters,
 * one `service` label per service. docs/metrics.md has the table.
 *
 * @module
 */

import type { ServiceDetail, ServiceListEntry } from "../inspect/list_services.ts";
import { signalNumber } from "../../os/signals.ts";

/**
 * The resident supervisor as the metrics show it; `null` fields are left out.
 *
 * @example
 * ```ts
 * import type { SupervisorFigures } from "./metrics_text.ts";
 * const sup: SupervisorFigures = { pid: 42, memoryBytes: 30e6, adoptions: 0, services: 3, startTimeSeconds: 1.7e9 };
 * console.log(sup.pid);
 * ```
 */
export interface SupervisorFigures {
  /** Its PID. */
  pid: number;
  /** Its resident memory, bytes. */
  memoryBytes: number | null;
  /** Orphaned services it adopted since it started. */
  adoptions: number | null;
  /** Services it holds. */
  services: number | null;
  /** When it started, seconds since the epoch. */
  startTimeSeconds: number | null;
}

/**
 * What {@linkcode metricsText} renders: the services of `list --json` with
 * their details (same order) and the supervisor, if one listens.
 *
 * @example
 * ```ts
 * import type { MetricsInput } from "./metrics_text.ts";
 * const input: MetricsInput = { services: [], details: [], supervisor: null };
 * console.log(input.services.length);
 * ```
 */
export interface MetricsInput {
  /** Every service of the run directory, as `listServices` gives them. */
  services: ServiceListEntry[];
  /** Per service (same order): CPU seconds, start time, last exit. */
  details: ServiceDetail[];
  /** The run directory's supervisor; `null` when none listens. */
  supervisor: SupervisorFigures | null;
}

interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  /** The value for one service; `null` leaves the service out. */
  value: (s: ServiceListEntry, d: ServiceDetail) => number | null;
}

/** Phases in which the service's readiness condition has held. */
const READY_PHASES = new Set(["running", "reloading", "orphaned"]);

/** The per-service families, in the order they are printed. */
const SERVICE_FAMILIES: readonly Family[] = [
  {
    name: "pidkit_service_up",
    type: "gauge",
    help: "1 while the service's main process runs, else 0.",
    value: (s) => s.pid === null ? 0 : 1,
  },
  {
    name: "pidkit_service_ready",
    type: "gauge",
    help: "1 once the service's readiness condition held (running, reloading), else 0.",
    value: (s) => READY_PHASES.has(s.state) ? 1 : 0,
  },
  {
    name: "pidkit_service_restarts_total",
    type: "counter",
    help: "Restarts since the service was started.",
    value: (s) => s.restarts ?? 0,
  },
  {
    name: "pidkit_service_cpu_seconds_total",
    type: "counter",
    help: "User and system CPU time of the service tree's live processes, seconds.",
    value: (_s, d) => round(d.cpuSeconds, 2),
  },
  {
    name: "pidkit_service_memory_bytes",
    type: "gauge",
    help: "Resident memory of the service's whole process tree, bytes.",
    value: (s) => s.memoryBytes,
  },
  {
    name: "pidkit_service_processes",
    type: "gauge",
    help: "Live processes in the service's tree.",
    value: (s) => s.processes,
  },
  {
    name: "pidkit_service_start_time_seconds",
    type: "gauge",
    help: "When the service's current tree started, seconds since the epoch (while it runs).",
    value: (s, d) => {
      if (s.pid === null) return null;
      const at = d.startedAt === null ? NaN : Date.parse(d.startedAt);
      if (Number.isFinite(at)) return round(at / 1000, 3);
      return s.uptimeMs === null ? null : round((Date.now() - s.uptimeMs) / 1000, 3);
    },
  },
  {
    name: "pidkit_service_last_exit_code",
    type: "gauge",
    help: "How the service last ended: its exit code, or 128+N when signal N ended it.",
    value: (_s, d) => {
      if (d.lastExit === null) return null;
      if (d.lastExit.code !== null) return d.lastExit.code;
      try {
        return 128 + signalNumber(d.lastExit.signal as Deno.Signal);
      } catch {
        return null;
      }
    },
  },
];

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * A label value as the exposition format quotes it (backslash, double
 * quote and newline escaped).
 *
 * @example
 * ```ts
 * import { escapeLabel } from "./metrics_text.ts";
 * console.log(escapeLabel('a"b')); // a\"b
 * ```
 */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/**
 * Render the metrics in the Prometheus text exposition format (ends with a
 * newline). Every per-service family carries a `service` label;
 * `pidkit_service_state` has a `state` label too (one sample per service,
 * value 1). A service's environment is never part of it.
 *
 * @example
 * ```ts
 * import { metricsText } from "./metrics_text.ts";
 * const text = metricsText({ services: [], details: [], supervisor: null });
 * console.log(text.includes("pidkit_supervisor_up 0")); // true
 * ```
 */
export function metricsText(input: MetricsInput): string {
  const out: string[] = [];
  const labels = input.services.map((s) => `{service="${escapeLabel(s.name)}"}`);
  for (const family of SERVICE_FAMILIES) {
    out.push(header(family.name, family.type, family.help));
    input.services.forEach((s, i) => {
      const v = family.value(s, input.details[i]);
      if (v !== null) out.push(`${family.name}${labels[i]} ${v}\n`);
    });
  }
  out.push(header(
    "pidkit_service_state",
    "gauge",
    "The service's state (status's word) as a label; always 1.",
  ));
  input.services.forEach((s) => {
    out.push(
      `pidkit_service_state{service="${escapeLabel(s.name)}",state="${escapeLabel(s.state)}"} 1\n`,
    );
  });
  out.push(supervisorText(input.supervisor, input.services.length));
  return out.join("");
}

function supervisorText(sup: SupervisorFigures | null, services: number): string {
  const out = [
    header("pidkit_supervisor_up", "gauge", "1 while the run directory's supervisor answers."),
    `pidkit_supervisor_up ${sup ? 1 : 0}\n`,
    header("pidkit_services", "gauge", "Services in the run directory (any state)."),
    `pidkit_services ${services}\n`,
  ];
  if (sup === null) return out.join("");
  const add = (name: string, type: string, help: string, v: number | null) => {
    if (v !== null) out.push(header(name, type, help), `${name} ${v}\n`);
  };
  add(
    "pidkit_supervisor_memory_bytes",
    "gauge",
    "Resident memory of the run directory's supervisor, bytes.",
    sup.memoryBytes,
  );
  add(
    "pidkit_supervisor_adoptions_total",
    "counter",
    "Orphaned services the supervisor adopted since it started.",
    sup.adoptions,
  );
  add("pidkit_supervisor_services", "gauge", "Services the supervisor holds.", sup.services);
  add(
    "pidkit_supervisor_start_time_seconds",
    "gauge",
    "When the supervisor started, seconds since the epoch.",
    sup.startTimeSeconds,
  );
  return out.join("");
}
