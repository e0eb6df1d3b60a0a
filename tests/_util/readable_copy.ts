/**
 * Tests that run Deno as another user (uid 65534) need the deno binary and
 * pidkit's sources at paths that user can reach. A clone under a directory
 * other users cannot enter (a 0700 home) has neither: {@linkcode readableCopy}
 * then copies what such a run needs into the caller's temp dir (which the
 * caller has made world-readable) and the deno binary beside it (a hard
 * link when possible), and returns the paths to use. Where everything is
 * reachable already, it returns the originals and copies nothing.
 *
 * @module
 */

import { type CliResult, ROOT } from "./helpers.ts";

/** Where a run as another user finds deno and pidkit. */
export interface ReadableCopy {
  /** The deno binary to execute. */
  deno: string;
  /** The repository root (the entry points, src/, tests/fixtures/). */
  root: string;
  /** `root`/cli.ts. */
  cli: string;
  /** `root`/tests/fixtures. */
  fixtures: string;
  /** True when something had to be copied (the clone is not readable by others). */
  copied: boolean;
}

/** Whether a user that is not the owner nor in the group can reach (and read) `path`. */
export function othersCanReach(path: string, need: "read" | "exec" = "read"): boolean {
  const parts = path.split("/").filter((p) => p !== "");
  let at = "";
  for (let i = 0; i < parts.length; i++) {
    at += `/${parts[i]}`;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(at);
    } catch {
      return false;
    }
    const mode = info.mode ?? 0;
    const last = i === parts.length - 1;
    if (!last && (mode & 0o001) === 0) return false; // cannot search the directory
    if (last && need === "read" && (mode & (info.isDirectory ? 0o005 : 0o004)) === 0) return false;
    if (last && need === "exec" && (mode & 0o001) === 0) return false;
  }
  return true;
}

const COPIED = ["mod.ts", "tree.ts", "service.ts", "cli.ts", "deno.json", "src", "tests/fixtures"];

/** Copy a file or directory tree, world-readable (directories 0755, files keep their x bits). */
function copyTree(from: string, to: string): void {
  const info = Deno.statSync(from);
  if (info.isDirectory) {
    Deno.mkdirSync(to, { recursive: true });
    Deno.chmodSync(to, 0o755);
    for (const entry of Deno.readDirSync(from)) {
      copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
    return;
  }
  const parent = to.slice(0, to.lastIndexOf("/"));
  Deno.mkdirSync(parent, { recursive: true });
  Deno.chmodSync(parent, 0o755);
  Deno.copyFileSync(from, to);
  Deno.chmodSync(to, ((info.mode ?? 0o644) & 0o111) ? 0o755 : 0o644);
}

/**
 * The deno binary and pidkit's files at paths other users can reach: the
 * originals, or copies under `dir` (a directory that the caller removes,
 * itself reachable by others).
 */
export function readableCopy(dir: string): ReadableCopy {
  let deno = Deno.execPath();
  let root = ROOT;
  let copied = false;
  if (!othersCanReach(deno, "exec")) {
    const target = `${dir}/deno-bin/deno`;
    Deno.mkdirSync(`${dir}/deno-bin`, { recursive: true });
    Deno.chmodSync(`${dir}/deno-bin`, 0o755);
    try {
      Deno.linkSync(deno, target); // same file system: no 90 MiB copy
    } catch {
      Deno.copyFileSync(deno, target);
    }
    Deno.chmodSync(target, 0o755);
    deno = target;
    copied = true;
  }
  const unreadable = COPIED.some((p) => !othersCanReach(`${ROOT}/${p}`));
  if (unreadable) {
    root = `${dir}/pidkit-src`;
    for (const p of COPIED) copyTree(`${ROOT}/${p}`, `${root}/${p}`);
    copied = true;
  }
  return { deno, root, cli: `${root}/cli.ts`, fixtures: `${root}/tests/fixtures`, copied };
}

/** Where and how {@linkcode nobodyDeno} runs deno as uid 65534. */
export interface NobodyOptions {
  /** HOME (and, unless `denoDir` is given, DENO_DIR `home`/deno). */
  home: string;
  /** DENO_DIR, when not under `home`. */
  denoDir?: string;
  /** The working directory (default: this process's). */
  cwd?: string;
}

/**
 * `deno ARGS` as uid/gid 65534 with no supplementary groups, through
 * `setpriv` (its path) and `from`'s deno, with a bare environment (plus
 * what each call adds).
 */
export function nobodyDeno(
  setpriv: string,
  from: ReadableCopy,
  options: NobodyOptions,
): (args: string[], env?: Record<string, string>) => Promise<CliResult> {
  const { home, denoDir = `${home}/deno`, cwd } = options;
  return async (args, env = {}) => {
    const out = await new Deno.Command(setpriv, {
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", from.deno, ...args],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", DENO_DIR: denoDir, HOME: home, NO_COLOR: "1", ...env },
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
}

/**
 * `pidkit ARGS` as uid/gid 65534 through {@linkcode nobodyDeno}, in `home`
 * (its cwd, HOME, and DENO_DIR `home`/deno).
 */
export function nobodyCli(
  setpriv: string,
  from: ReadableCopy,
  home: string,
): (args: string[]) => Promise<CliResult> {
  const deno = nobodyDeno(setpriv, from, { home, cwd: home });
  return (args) => deno(["run", "-A", "--quiet", from.cli, ...args]);
}
