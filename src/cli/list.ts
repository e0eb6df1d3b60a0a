/**
 * `pidkit list [--json]`: every service in the run directory as a table
 * (name, state, pid, uptime, restarts, memory, cpu, command), sorted by
 * name. The data comes from src/service/inspect/list_services.ts; this module
 * prints it.
 *
 * @module
 */

import { formatDuration } from "../os/duration.ts";
import { listServices, type ServiceListEntry } from "../service/inspect/list_services.ts";
import { formatBytes } from "../os/byte_size.ts";
import { type Align, commandLine, formatPercent, paintPhase, printJson, table } from "./format.ts";
import { EXIT, printOut, useColor } from "./io.ts";
import type { CommandInput } from "./spec.ts";

/** `pidkit list`. */
export async function run(input: CommandInput): Promise<number> {
  const { dir, services: rows, stoppedSupervisors } = await listServices({
    dir: input.values.dir as string | undefined,
  });
  if (input.values.json === true) {
    printJson({ dir, services: rows, stoppedSupervisors });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    printOut(`no services in ${dir}`);
    return EXIT.ok;
  }
  const color = useColor();
  const dash = "-";
  const status = statusColumn(rows);
  // FILE only when some service came from a declaration (`pidkit up`)
  const from = rows.some((r) => r.file !== null);
  // NEXT RUN only when some service has a schedule (--cron, --cron-restart)
  const next = rows.some((r) => r.nextRun !== null);
  printOut(table(
    [
      [
        ...["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "MEM", "CPU", ...status.head],
        ...(next ? ["NEXT RUN"] : []),
        ...(from ? ["FILE"] : []),
        "COMMAND",
      ],
      ...rows.map((r) => [
        r.name,
        paintPhase(r.state as Parameters<typeof paintPhase>[0], color),
        r.pid === null ? dash : r.namespaced ? `${r.kernelPid ?? "?"} (ns ${r.pid})` : `${r.pid}`,
        r.uptimeMs === null ? dash : formatDuration(r.uptimeMs),
        r.restarts?.toString() ?? dash,
        r.processes ? formatBytes(r.memoryBytes) : dash,
        r.processes ? formatPercent(r.cpuPercent) : dash,
        ...status.cell(r),
        ...(next ? [nextRunCell(r)] : []),
        ...(from ? [r.file === null ? dash : shortPath(r.file)] : []),
        r.command ? commandLine(r.command) : dash,
      ]),
    ],
    [
      ...["left", "left", "right", "right", "right", "right", "right", ...status.align] as Align[],
      ...(next ? ["left" as const] : []),
      ...(from ? ["left" as const] : []),
      "left",
    ],
  ));
  for (const pid of stoppedSupervisors) {
    printOut(`supervisor ${pid} is stopped: it does not answer; kill -CONT ${pid} resumes it`);
  }
  return EXIT.ok;
}

/** `start in 3s`, `restart in 2h` (the schedule's next tick), or `-`. */
function nextRunCell(r: ServiceListEntry): string {
  if (r.nextRun === null) return "-";
  return `${r.nextRun.action} in ${formatDuration(r.nextRun.inMs)}`;
}

/** A declaration file as the FILE column shows it: relative to the working directory when under it. */
function shortPath(file: string): string {
  const cwd = Deno.cwd();
  return file.startsWith(`${cwd}/`) ? file.slice(cwd.length + 1) : file;
}

/** The widest STATUS cell; longer texts are cut with an ellipsis. */
const STATUS_WIDTH = 40;

/**
 * The STATUS column (sd_notify `STATUS=` texts), only when some service has
 * one and the terminal, if there is one, leaves room for it.
 */
function statusColumn(rows: ServiceListEntry[]): {
  head: string[];
  align: Align[];
  cell: (r: ServiceListEntry) => string[];
} {
  let room = true;
  try {
    if (Deno.stdout.isTerminal()) room = Deno.consoleSize().columns >= 120;
  } catch { /* no terminal size: assume room */ }
  if (!room || !rows.some((r) => r.statusText)) return { head: [], align: [], cell: () => [] };
  const cut = (t: string) => t.length > STATUS_WIDTH ? `${t.slice(0, STATUS_WIDTH - 3)}...` : t;
  return {
    head: ["STATUS"],
    align: ["left"],
    cell: (r) => [r.statusText ? cut(r.statusText) : "-"],
  };
}
