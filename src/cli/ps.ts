/**
 * `pidkit ps NAME [--json]`: the service's process tree, indented by
 * parentage, with pid, rss, cpu and command (see serviceProcesses).
 *
 * @module
 */

import { serviceProcesses } from "../service/inspect/service_processes.ts";
import { formatBytes } from "../os/byte_size.ts";
import { commandLine, formatPercent, printJson, table } from "./format.ts";
import { EXIT, printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";
import { enterableRunDir } from "./run_dir_access.ts";

/** `pidkit ps`. */
export async function run(input: CommandInput): Promise<number> {
  const dir = enterableRunDir(input.values.dir as string | undefined);
  const tree = await serviceProcesses(input.positionals[0], { dir });
  if (input.values.json === true) {
    printJson(tree);
    return EXIT.ok;
  }
  if (tree.namespaced) {
    printOut(
      `${tree.name}: pid ${tree.kernelPid ?? "unknown here"}; pid ${tree.pid} in its namespace`,
    );
  }
  printOut(table(
    [
      ["PID", "PPID", "RSS", "CPU", "COMMAND"],
      ...tree.processes.map((r) => [
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
