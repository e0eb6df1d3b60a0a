/**
 * The tracking tiers a test of both can run here: `group` always, `cgroup`
 * where a writable cgroup2 lets spawnTree use it (found the way
 * tests/tree/tree_test.ts does: a probe tree). Where the cgroup tier cannot
 * run, a line says which tests skip it and why.
 *
 * @module
 */
import { findCgroup2 } from "../../src/tree/cgroup.ts";
import { spawnTree } from "../../src/tree/spawn_tree.ts";

/** A tracking tier, as `--tracking` takes it. */
export type Tier = "cgroup" | "group";

/**
 * `["cgroup", "group"]`, or `["group"]` with a printed reason naming `what`.
 *
 * @example
 * ```ts
 * import { trackingTiers } from "./tiers.ts";
 * for (const tier of await trackingTiers("the forking tests")) console.log(tier);
 * ```
 */
export async function trackingTiers(what: string): Promise<Tier[]> {
  if (await cgroupTierWorks()) return ["cgroup", "group"];
  console.log(`skipped: the cgroup tier of ${what} (no writable cgroup2)`);
  return ["group"];
}

async function cgroupTierWorks(): Promise<boolean> {
  if (findCgroup2() === undefined) return false;
  const probe = await spawnTree(["true"], { stdin: "null", name: "probe" });
  await probe.status;
  await probe.stop();
  return probe.tracking === "cgroup";
}
