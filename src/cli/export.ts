/**
 * `pidkit export systemd [-c FILE | NAME...] --out DIR [--dir D] [--force]`:
 * one systemd unit per service, for systemd to supervise them instead of
 * pidkit: from the declaration file (every service, each instance), or from
 * the records of the named services of the run directory. The unit text is
 * src/service/export/systemd_service_unit.ts.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import { absolutePath } from "../os/paths.ts";
import { VERSION } from "../os/version.ts";
import { exportedRecord } from "../service/export/exported_record.ts";
import { type ExportedService, serviceUnit } from "../service/export/systemd_service_unit.ts";
import { serviceUnitName } from "../service/export/systemd_syntax.ts";
import { type UnitFile, writeUnitFiles } from "../service/export/unit_files.ts";
import { resolveRunDir } from "../service/model/run_dir.ts";
import { exportedStack } from "../stack/export_stack.ts";
import { EXIT, printOut } from "./io.ts";
import type { CommandInput } from "./spec.ts";
import { loadFromOptions } from "./up.ts";

/** `pidkit export`. */
export async function run(input: CommandInput): Promise<number> {
  const v = input.values;
  const [system, ...names] = input.positionals;
  if (system !== "systemd") {
    throw new UsageError(`unknown init system '${system}' (pidkit export knows systemd)`);
  }
  if (typeof v.out !== "string" || v.out === "") throw new UsageError("missing --out DIR");
  if (names.length > 0 && (typeof v.config === "string" || typeof v.procfile === "string")) {
    throw new UsageError("give -c FILE or NAMEs of running services, not both");
  }
  const out = absolutePath(v.out);
  const services = names.length > 0 ? await fromRecords(v, names) : await fromDeclaration(v);
  const files: UnitFile[] = [];
  for (const s of services) {
    const envFile = `${out}/${s.name}.env`;
    const text = serviceUnit(s, { envFile, version: VERSION });
    files.push({ name: serviceUnitName(s.name), text: text.unit, mode: 0o644 });
    if (text.env !== undefined) files.push({ name: `${s.name}.env`, text: text.env, mode: 0o600 });
  }
  const results = await writeUnitFiles(out, files, { force: v.force === true });
  for (const r of results) printOut(`${r.action} ${r.path}`);
  const units = services.map((s) => serviceUnitName(s.name)).join(" ");
  printOut(
    `next: stop pidkit's copies, then systemctl link ${out}/*.service (or copy the files to /etc/systemd/system), ` +
      `systemctl daemon-reload, systemctl enable --now ${units}`,
  );
  return EXIT.ok;
}

async function fromRecords(v: CommandInput["values"], names: string[]): Promise<ExportedService[]> {
  const dir = resolveRunDir({ ...(typeof v.dir === "string" ? { dir: v.dir } : {}) });
  const seen = new Set<string>();
  const out: ExportedService[] = [];
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(await exportedRecord(dir, name));
  }
  return out;
}

async function fromDeclaration(v: CommandInput["values"]): Promise<ExportedService[]> {
  const loaded = await loadFromOptions(v);
  const services = exportedStack(loaded.stack);
  if (services.length === 0) throw new UsageError(`${loaded.file} declares no service`);
  return services;
}
