/**
 * `pidkit ps NAME [--json]`: the service's process tree, indented by
 * parentage, with pid, rss, cpu and command.
 *
 * @module
 */

import { PidkitError } from "../os/errors.ts";
import { inspectService, isRunningPhase } from "../service/inspect_service.ts";
import { resolveRunDir, validateName } from "../service/run_dir.ts";
import { commandLine, formatBytes, formatPercent, printJson, table } from "./format.ts";
import { EXIT, printOut } from "./io.ts";
import { kernelTree, ProcSnapshot, type TreeProcess } from "../service/proc_snapshot.ts";
import type { CommandInput } from "./spec.ts";
import { scanMarkedTrees } from "../service/marked_trees.ts";
import type { TreeRef } from "../tree/process_tree.ts";

/** The `--json` shape of one process. */
export interface PsJson {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  depth: number;
  rssBytes: number;
  cpuSeconds: number;
  cpuPercent: number;
  command: string[];
}

function newest(refs: TreeRef[]): TreeRef | undefined {
  return refs.sort((a, b) => b.startTime - a.startTime)[0];
}

/** `pidkit ps`. */
export async function run(input: CommandInput): Promise<number> {
  const name = validateName(input.positionals[0]);
  const dir = resolveRunDir({ dir: input.values.dir as string | undefined });
  const info = await inspectService(dir, name);
  const live = isRunningPhase(info.phase);
  // A record that cannot be read (or names no tree) beside a live service:
  // its tree is found by its marker.
  const ref = info.record?.tree ?? info.marked ??
    (live ? newest(scanMarkedTrees(dir, name).get(name) ?? []) : undefined);
  if (!live || ref === undefined) {
    if (info.phase === "unknown") throw new PidkitError(`cannot tell: ${info.error}`);
    if (live) {
      throw new PidkitError(
        `${name} is ${info.phase}, but no process of it is found (between two runs, or its ` +
          `record cannot be read${info.error ? `: ${info.error}` : ""})`,
      );
    }
    throw new PidkitError(`${name} is not running (${info.phase})`);
  }
  const snap = new ProcSnapshot();
  const here = kernelTree(info); // a supervisor in another PID namespace: its PIDs translated
  const rows = ordered(snap.members(here.ref ?? ref)).map(([p, depth]) => ({
    pid: p.pid,
    ppid: p.ppid,
    pgid: p.pgid,
    sid: p.sid,
    depth,
    rssBytes: p.rssBytes,
    cpuSeconds: p.cpuSeconds,
    cpuPercent: Math.round(p.cpuPercent * 10) / 10,
    command: snap.command(p),
  }));
  if (input.values.json === true) {
    printJson({
      name,
      state: info.phase,
      pid: info.pid ?? null,
      kernelPid: here.kernelPid ?? null,
      namespaced: here.namespaced,
      processes: rows satisfies PsJson[],
    });
    return EXIT.ok;
  }
  if (here.namespaced) {
    printOut(`${name}: pid ${here.kernelPid ?? "unknown here"}; pid ${info.pid} in its namespace`);
  }
  printOut(table(
    [
      ["PID", "PPID", "RSS", "CPU", "COMMAND"],
      ...rows.map((r) => [
        String(r.pid),
        String(r.ppid),
        formatBytes(r.rssBytes),
        formatPercent(r.cpuPercent),
        // One argument: a process title (nginx: worker process), shown as ps(1) does.
        "  ".repeat(r.depth) + (r.command.length === 1 ? r.command[0] : commandLine(r.command)),
      ]),
    ],
    ["right", "right", "right", "right", "left"],
  ));
  return EXIT.ok;
}

/** Depth-first order: each process followed by its children (by pid); roots have no parent in the tree. */
function ordered(members: TreeProcess[]): [TreeProcess, number][] {
  const byPid = new Map(members.map((m) => [m.pid, m]));
  const kids = new Map<number, TreeProcess[]>();
  const roots: TreeProcess[] = [];
  for (const m of members) {
    if (byPid.has(m.ppid) && m.ppid !== m.pid) {
      const list = kids.get(m.ppid) ?? [];
      list.push(m);
      kids.set(m.ppid, list);
    } else roots.push(m);
  }
  const out: [TreeProcess, number][] = [];
  const walk = (p: TreeProcess, depth: number) => {
    out.push([p, depth]);
    for (const k of kids.get(p.pid) ?? []) walk(k, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}
