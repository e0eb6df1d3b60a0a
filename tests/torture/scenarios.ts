/**
 * Every torture scenario, in the order they run.
 *
 * @module
 */

import type { Scenario } from "./harness.ts";
import { startRace } from "./start_race.ts";
import { crash } from "./crash.ts";
import { exitSignals } from "./exit_signals.ts";
import { releaseRace } from "./release_race.ts";
import { badFiles } from "./bad_files.ts";
import { hostilePaths } from "./hostile_paths.ts";
import { pidReuse } from "./pid_reuse.ts";
import { sabotageCli, sabotageLib } from "./sabotage.ts";
import { cliStartRace } from "./cli_start_race.ts";
import { supervisorCrash } from "./supervisor_crash.ts";
import { cliPidReuse } from "./cli_pid_reuse.ts";
import { cliStatusFuzz } from "./cli_status_fuzz.ts";
import { escapingTrees } from "./escaping_trees.ts";
import { signalStorm } from "./signal_storm.ts";
import { load } from "./load.ts";
import { notifyFlood } from "./notify_flood.ts";
import { resourceFaults } from "./resource_faults.ts";
import { legacyReuse } from "./legacy_reuse.ts";
import { isolation } from "./isolation.ts";
import { groupMany } from "./group_many.ts";
import { foreignStop } from "./foreign_stop.ts";
import { crashDuringFault } from "./crash_during_fault.ts";
import { stackChurn } from "./stack_churn.ts";

/** The scenarios `deno task torture` runs. */
export const SCENARIOS: Scenario[] = [
  startRace,
  crash,
  exitSignals,
  releaseRace,
  badFiles,
  hostilePaths,
  pidReuse,
  sabotageLib,
  cliStartRace,
  supervisorCrash,
  crashDuringFault,
  cliPidReuse,
  legacyReuse,
  cliStatusFuzz,
  escapingTrees,
  signalStorm,
  sabotageCli,
  resourceFaults,
  notifyFlood,
  isolation,
  groupMany,
  foreignStop,
  stackChurn,
  load,
];
