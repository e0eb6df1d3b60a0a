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
  run(options: RunOptions): Promise<ScenarioResult>;
}

/** How a scenario is run. */
export interface RunOptions {
  /** CI mode: few rounds, the whole quick suite < 60 s. */
  quick: boolean;
  /** Multiplies the full-mode rounds (`--scale`, default 1); ignored in quick mode. */
  scale: number;
}

/** The number of rounds to run: `quick` in quick mode, else `full` times the scale (at least 1). */
export function rounds(options: RunOptions, full: number, quick: number): number {
  return options.quick ? quick : Math.max(1, Math.round(full * options.scale));
}

/** Counts rounds, faults and violations as a scenario runs. */
export class Tally {
  rounds = 0;
  faults = 0;
  violations = 0;
  details: string[] = [];

  /** Record a violation (the first 20 are kept as details). */
  violation(message: string): void {
    this.violations++;
    if (this.details.length < 20) this.details.push(`VIOLATION: ${message}`);
  }

  /** Add a note (a figure, or what was skipped) to the details. */
  note(message: string): void {
    this.details.push(message);
  }

  /** The result so far. */
  result(): ScenarioResult {
    return {
      rounds: this.rounds,
      faults: this.faults,
      violations: this.violations,
      details: this.details,
    };
  }
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
