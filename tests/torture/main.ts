/**
 * `deno task torture [--quick] [--only NAME,...] [--scale F] [--list]`: runs every scenario
 * (full rounds times F),
 * prints a table of rounds, faults injected and violations found, and exits
 * 1 when any violation was found.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Scenario, type ScenarioResult, table } from "./harness.ts";
import { SCENARIOS } from "./scenarios.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean" },
    only: { type: "string" },
    scale: { type: "string" },
    list: { type: "boolean" },
  },
});
const only = values.only?.split(",");
const quick = values.quick ?? false;
const scale = values.scale === undefined ? 1 : Number(values.scale);
if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
if (values.list) {
  for (const s of SCENARIOS) console.log(`${s.name}: ${s.shows}`);
  Deno.exit(0);
}

const rows: { scenario: Scenario; result: ScenarioResult; ms: number }[] = [];
for (const scenario of SCENARIOS) {
  if (only && !only.includes(scenario.name)) continue;
  const t0 = performance.now();
  let result: ScenarioResult;
  try {
    result = await scenario.run({ quick, scale });
  } catch (err) {
    result = { rounds: 0, faults: 0, violations: 1, details: [`crashed: ${err}`] };
  }
  const ms = performance.now() - t0;
  rows.push({ scenario, result, ms });
  const status = result.skipped ? `skipped (${result.skipped})` : `${result.violations} violations`;
  console.error(
    `${scenario.name}: ${result.rounds} rounds, ${status}, ${(ms / 1000).toFixed(1)} s`,
  );
  for (const d of result.details.slice(0, 5)) console.error(`  ${d}`);
}
console.log(table(rows));
const violations = rows.reduce((n, r) => n + r.result.violations, 0);
console.log(`${quick ? "quick mode: " : ""}${violations} violations in total`);
Deno.exit(violations === 0 ? 0 : 1);
