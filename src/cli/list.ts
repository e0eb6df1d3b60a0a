/**
 * `pidkit list [--json]`: every service in the run directory as a table
 * (name, state, pid, uptime, restarts, memory, cpu, command), sorted by
 * name. `/proc` is scanned once for all services.
 *
 * @module
 */

import { formatDuration } from "../duration.ts";
import { inspectService, isRunningPhase, listServices, resolveRunDir } from "../services.ts";
import { commandLine, formatBytes, formatPercent, paintPhase, printJson, table } from "./format.ts";
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
}

/** `pidkit list`. */
export async function run(input: CommandInput): Promise<number> {
  const dir = resolveRunDir({ dir: input.values.dir as string | undefined });
  const names = await listServices(dir);
  const infos = await Promise.all(names.map((n) => inspectService(dir, n)));
  const snap = new ProcSnapshot();
  const rows: ListJson[] = infos.map((info) => {
    const live = info.state?.tree !== undefined && isRunningPhase(info.phase);
    // A supervisor in another PID namespace recorded its namespace's PIDs.
    const { ref, kernelPid, namespaced } = kernelTree(info);
    const members = live && ref ? snap.members(ref) : [];
    const t = totals(members);
    const leader = members.find((m) => m.pid === kernelPid);
    return {
      name: info.name,
      state: info.phase,
      pid: live ? info.pid ?? null : null,
      kernelPid: live ? kernelPid ?? null : null,
      namespaced: live && namespaced,
      uptimeMs: leader ? Math.round(leader.ageSeconds * 1000) : null,
      restarts: info.state?.restarts ?? null,
      processes: t.processes,
      memoryBytes: t.rssBytes,
      cpuPercent: Math.round(t.cpuPercent * 10) / 10,
      command: info.state?.command ?? null,
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
  printOut(table(
    [
      ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "MEM", "CPU", "COMMAND"],
      ...rows.map((r) => [
        r.name,
        paintPhase(r.state as Parameters<typeof paintPhase>[0], color),
        r.pid === null ? dash : r.namespaced ? `${r.kernelPid ?? "?"} (ns ${r.pid})` : `${r.pid}`,
        r.uptimeMs === null ? dash : formatDuration(r.uptimeMs),
        r.restarts?.toString() ?? dash,
        r.processes ? formatBytes(r.memoryBytes) : dash,
        r.processes ? formatPercent(r.cpuPercent) : dash,
        r.command ? commandLine(r.command) : dash,
      ]),
    ],
    ["left", "left", "right", "right", "right", "right", "right", "left"],
  ));
  return EXIT.ok;
}
