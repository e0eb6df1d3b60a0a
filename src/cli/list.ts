/**
 * `pidkit list [--json]`: every service in the run directory as a table
 * (name, state, pid, uptime, restarts, memory, cpu, command), sorted by
 * name. `/proc` is scanned once for all services.
 *
 * @module
 */

import { formatDuration } from "../os/duration.ts";
import {
  inspectService,
  isRunningPhase,
  listServices,
  resolveRunDir,
} from "../service/services.ts";
import {
  type Align,
  commandLine,
  formatBytes,
  formatPercent,
  paintPhase,
  printJson,
  table,
} from "./format.ts";
import { EXIT, printOut, useColor } from "./io.ts";
import { kernelTree, ProcSnapshot, totals } from "./proc_snapshot.ts";
import type { CommandInput } from "./spec.ts";

/** The `--json` shape of one row (every key always present; `null` when not known). */
export interface ListJson {
  name: string;
  state: string;
  pid: number | null;
  /** `pid` as the kernel numbers it here (differs for a supervisor in another PID namespace). */
  kernelPid: number | null;
  /** `pid` is a PID of the supervisor's (nested) PID namespace. */
  namespaced: boolean;
  uptimeMs: number | null;
  restarts: number | null;
  processes: number;
  memoryBytes: number;
  cpuPercent: number;
  command: string[] | null;
  /** The last `STATUS=` text the service sent over sd_notify. */
  statusText: string | null;
}

/** `pidkit list`. */
export async function run(input: CommandInput): Promise<number> {
  const dir = resolveRunDir({ dir: input.values.dir as string | undefined });
  const names = await listServices(dir);
  const infos = await Promise.all(names.map((n) => inspectService(dir, n)));
  const snap = new ProcSnapshot();
  const rows: ListJson[] = infos.map((info) => {
    const live = info.record?.tree !== undefined && isRunningPhase(info.phase);
    // A supervisor in another PID namespace recorded its namespace's PIDs.
    const { ref, kernelPid, namespaced } = kernelTree(info);
    const members = live && ref ? snap.members(ref) : [];
    const t = totals(members);
    const leader = members.find((m) => m.pid === kernelPid);
    return {
      name: info.name,
      state: info.phase,
      // A daemon's own unlocked NAME.pid (no pidkit state) has no tree, but a verified PID.
      pid: live || info.verdict?.status === "running" ? info.pid ?? null : null,
      kernelPid: live ? kernelPid ?? null : info.verdict?.status === "running" ? info.pid! : null,
      namespaced: live && namespaced,
      uptimeMs: leader ? Math.round(leader.ageSeconds * 1000) : null,
      restarts: info.record?.restarts ?? null,
      processes: t.processes,
      memoryBytes: t.rssBytes,
      cpuPercent: Math.round(t.cpuPercent * 10) / 10,
      command: info.record?.command ?? null,
      statusText: live ? info.record?.statusText ?? null : null,
    };
  });
  if (input.values.json === true) {
    printJson({ dir, services: rows });
    return EXIT.ok;
  }
  if (rows.length === 0) {
    printOut(`no services in ${dir}`);
    return EXIT.ok;
  }
  const color = useColor();
  const dash = "-";
  const status = statusColumn(rows);
  printOut(table(
    [
      ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "MEM", "CPU", ...status.head, "COMMAND"],
      ...rows.map((r) => [
        r.name,
        paintPhase(r.state as Parameters<typeof paintPhase>[0], color),
        r.pid === null ? dash : r.namespaced ? `${r.kernelPid ?? "?"} (ns ${r.pid})` : `${r.pid}`,
        r.uptimeMs === null ? dash : formatDuration(r.uptimeMs),
        r.restarts?.toString() ?? dash,
        r.processes ? formatBytes(r.memoryBytes) : dash,
        r.processes ? formatPercent(r.cpuPercent) : dash,
        ...status.cell(r),
        r.command ? commandLine(r.command) : dash,
      ]),
    ],
    ["left", "left", "right", "right", "right", "right", "right", ...status.align, "left"],
  ));
  return EXIT.ok;
}

/** The widest STATUS cell; longer texts are cut with an ellipsis. */
const STATUS_WIDTH = 40;

/**
 * The STATUS column (sd_notify `STATUS=` texts), only when some service has
 * one and the terminal, if there is one, leaves room for it.
 */
function statusColumn(rows: ListJson[]): {
  head: string[];
  align: Align[];
  cell: (r: ListJson) => string[];
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
