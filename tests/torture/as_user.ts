/**
 * Who runs pidkit in a scenario: root in the best tier, root with
 * `--tracking group`, or uid 65534 (the group tier, as every non-root user
 * gets it; through setpriv(1), with a run directory and home it owns).
 * Shared by the scenarios that hold many services in one run directory.
 *
 * @module
 */

import { findCgroup2 } from "../../src/tree/cgroup.ts";
import { findSetpriv } from "../../src/tree/find_program.ts";
import { readableCopy } from "../_util/readable_copy.ts";
import { pidkit } from "./cli_util.ts";
import { type Output, run } from "./util.ts";

/** One way of running pidkit against one run directory. */
export interface Runner {
  /** For the table: `root/cgroup`, `root/group`, `uid 65534` (or `uid N`, not root). */
  label: string;
  /** The tier its services are tracked in. */
  tier: "cgroup" | "group";
  /** The uid it runs pidkit (and so its services) as. */
  uid: number;
  /** The run directory (it owns it). */
  dir: string;
  /** Extra `start` options (the tier). */
  startOptions: string[];
  /** `pidkit ARGS`; `--dir` is added after the subcommand (and its NAME, when `named`). */
  cli(args: string[], options?: { named?: boolean; timeoutMs?: number }): Promise<Output>;
  /** Run `sh -c SCRIPT` as this user (to spoil its own files). */
  sh(script: string): Promise<Output>;
}

const NOBODY = 65534;

/**
 * The runners that apply here, each with a run directory under `base` (a
 * temporary directory the caller removes): root's best tier, root's group
 * tier, and uid 65534 when root with setpriv. `quick` keeps root's best
 * tier and uid 65534. Not root, only the current user's group tier runs.
 * Skipped ones are reported through `note`.
 */
export function runners(base: string, quick: boolean, note: (s: string) => void): Runner[] {
  const out: Runner[] = [];
  const me = Deno.uid() ?? 0;
  if (me !== 0) {
    note("root's tiers and uid 65534 skipped: not root (only this user's group tier runs)");
    const dir = `${base}/user`;
    Deno.mkdirSync(dir, { recursive: true });
    return [{
      label: `uid ${me}`,
      tier: "group",
      uid: me,
      dir,
      startOptions: ["--tracking", "group"],
      cli: (args, o = {}) => pidkit(withDir(args, dir, o.named ?? true), o),
      sh: (script) => run(["sh", "-c", script]),
    }];
  }
  const cgroup = findCgroup2() !== undefined;
  const asRoot = (tier: "cgroup" | "group"): Runner => {
    const dir = `${base}/root-${tier}`;
    Deno.mkdirSync(dir, { recursive: true });
    return {
      label: `root/${tier}`,
      tier,
      uid: 0,
      dir,
      startOptions: ["--tracking", tier],
      cli: (args, o = {}) => pidkit(withDir(args, dir, o.named ?? true), o),
      sh: (script) => run(["sh", "-c", script]),
    };
  };
  if (cgroup) out.push(asRoot("cgroup"));
  else note("cgroup tier skipped: no writable cgroup2 here");
  if (!quick || !cgroup) out.push(asRoot("group"));
  const setpriv = findSetpriv();
  if (setpriv === undefined) {
    note("uid 65534 skipped: no setpriv(1)");
    return out;
  }
  Deno.chmodSync(base, 0o755);
  const from = readableCopy(base);
  const home = `${base}/nobody`;
  Deno.mkdirSync(home, { mode: 0o700 });
  Deno.chownSync(home, NOBODY, NOBODY);
  const dir = `${home}/run`;
  const env = { PATH: "/usr/bin:/bin", DENO_DIR: `${home}/deno`, HOME: home, NO_COLOR: "1" };
  const as = [setpriv, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"];
  out.push({
    label: "uid 65534",
    tier: "group",
    uid: NOBODY,
    dir,
    startOptions: [],
    cli: (args, o = {}) =>
      run([
        ...as,
        from.deno,
        "run",
        "-A",
        "--quiet",
        from.cli,
        ...withDir(args, dir, o.named ?? true),
      ], {
        env,
        timeoutMs: o.timeoutMs ?? 60_000,
      }),
    sh: (script) => run([...as, "sh", "-c", script], { env }),
  });
  return out;
}

function withDir(args: string[], dir: string, named: boolean): string[] {
  const at = named ? 2 : 1;
  return [...args.slice(0, at), "--dir", dir, ...args.slice(at)];
}
