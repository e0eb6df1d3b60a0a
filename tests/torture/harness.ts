/**
 * The torture suite's harness: scenarios, their results, and the table.
 *
 * @module
 */

/** What one scenario reports. */
export interface ScenarioResult {
  /** Rounds run. */
  rounds: number;
  /** Faults injected (kills, sabotage, corrupt files...). */
  faults: number;
  /** Violations of pidkit's promises found: must be 0. */
  violations: number;
  /** One line per violation (the first few), or notes. */
  details: string[];
  /** Set when the scenario could not run here, with the reason. */
  skipped?: string;
}

/** A scenario of the torture suite. */
export interface Scenario {
  /** Short name for the table. */
  name: string;
  /** What it shows, one sentence (goes into docs/reliability.md). */
  shows: string;
  /** Run it; `quick` scales rounds down for CI (the whole quick suite < 60 s). */
  run(options: { quick: boolean }): Promise<ScenarioResult>;
}

/** A result with nothing run, and why. */
export function skipped(reason: string): ScenarioResult {
  return { rounds: 0, faults: 0, violations: 0, details: [], skipped: reason };
}

/** Format the results as a Markdown table. */
export function table(rows: { scenario: Scenario; result: ScenarioResult; ms: number }[]): string {
  const lines = [
    "| scenario | rounds | faults injected | violations | time |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const { scenario, result, ms } of rows) {
    const time = result.skipped ? `skipped: ${result.skipped}` : `${(ms / 1000).toFixed(1)} s`;
    lines.push(
      `| ${scenario.name} | ${result.rounds} | ${result.faults} | ${result.violations} | ${time} |`,
    );
  }
  return lines.join("\n");
}
