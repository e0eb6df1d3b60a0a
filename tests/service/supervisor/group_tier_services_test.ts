/**
 * Many services under one resident supervisor in the group tier (the tier of
 * every non-root user): stopping, restarting or the plain exit of one
 * service leaves every other one running (0.2 killed every service started
 * after it: the supervisor, a subreaper, counted each of its children a
 * member of every tree). Run as root with `--tracking group`, and as uid
 * 65534 (skipped with a reason unless root with setpriv(1)).
 */

import assert from "node:assert/strict";
import { findSetpriv } from "../../../src/tree/find_program.ts";
import { type CliResult, Reaper, startTimeOf, tempDir, waitUntil } from "../../_util/helpers.ts";
import { nobodyCli, readableCopy } from "../../_util/readable_copy.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { readPids } from "../../_util/process_view.ts";

type Cli = (args: string[]) => Promise<CliResult>;

/** A running service's PID and start time, from `status --json`. */
async function running(cli: Cli, name: string): Promise<{ pid: number; startTime: number }> {
  const r = await cli(["status", name, "--json"]);
  assert.equal(r.code, 0, `${name} is not running: ${r.stdout}${r.stderr}`);
  const pid = JSON.parse(r.stdout).pid as number;
  const startTime = startTimeOf(pid);
  assert.ok(startTime !== undefined, `${name}: pid ${pid} is gone`);
  return { pid, startTime };
}

/**
 * a, b, c, d (exits 3 by itself), e, f (leaves an orphan that cleared its
 * environment and left the session); then d exits, a is stopped, b
 * restarted, f stopped: every other service keeps its very process.
 * `onPid` learns every PID to clean up.
 */
async function oneSupervisorManyServices(
  cli: Cli,
  tag: string,
  onPid: (pid: number) => void,
): Promise<void> {
  const n = (s: string) => `${tag}-${s}`;
  const start = async (name: string, ...cmd: string[]) => {
    const r = await cli(["start", n(name), "--", ...cmd]);
    assert.equal(r.code, 0, `start ${name}: ${r.stderr}`);
  };
  await start("a", "sleep", "600");
  await start("b", "sleep", "600");
  await start("c", "sleep", "600");
  await start("d", "sh", "-c", "sleep 1; exit 3");
  await start("e", "sleep", "600");
  const escapee = tmpFile();
  await start("f", "sh", "-c", `(env -i setsid sleep 600 & echo $! > ${escapee}); exec sleep 600`);
  await waitUntil(() => readPids(escapee).length === 1, { what: "f's escapee" });
  onPid(readPids(escapee)[0]);
  const before = new Map<string, { pid: number; startTime: number }>();
  for (const s of ["a", "b", "c", "e", "f"]) {
    before.set(s, await running(cli, n(s)));
    onPid(before.get(s)!.pid);
  }
  const untouched = async (names: string[], after: string) => {
    for (const s of names) {
      const now = await running(cli, n(s));
      assert.deepEqual(now, before.get(s), `${s} was hit when ${after}`);
    }
  };
  await waitUntil(async () => (await cli(["status", n("d")])).code !== 0, {
    timeoutMs: 20_000,
    what: "d to exit by itself",
  });
  await untouched(["a", "b", "c", "e", "f"], "d exited by itself");
  const stopA = await cli(["stop", n("a")]);
  assert.equal(stopA.code, 0, stopA.stderr);
  await untouched(["b", "c", "e", "f"], "a was stopped");
  const restartB = await cli(["restart", n("b")]);
  assert.equal(restartB.code, 0, restartB.stderr);
  onPid((await running(cli, n("b"))).pid);
  await untouched(["c", "e", "f"], "b was restarted");
  const stopF = await cli(["stop", n("f")]);
  assert.equal(stopF.code, 0, stopF.stderr);
  await untouched(["c", "e"], "f was stopped");
  for (const s of ["b", "c", "e"]) {
    const r = await cli(["stop", n(s)]);
    assert.equal(r.code, 0, r.stderr);
  }
}

let scratch: string | undefined;
/** A file name in a scratch dir every user may write to (removed at unload). */
function tmpFile(): string {
  if (scratch === undefined) {
    scratch = Deno.makeTempDirSync({ prefix: "pidkit-gts-" });
    Deno.chmodSync(scratch, 0o1777);
    const dir = scratch;
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  return `${scratch}/${uniqueName("escapee")}`;
}

Deno.test({
  name:
    "group tier (root, --tracking group): one service's stop, restart or exit spares the others",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using s = new Services();
    const cli: Cli = (args) =>
      s.cli(
        args[0] === "start" ? [args[0], args[1], "--tracking", "group", ...args.slice(2)] : args,
      );
    await oneSupervisorManyServices(cli, uniqueName("gt"), (pid) => s.pid(pid));
  },
});

const NOBODY = 65534;
const setpriv = Deno.build.os === "linux" ? findSetpriv() : undefined;
const problem = Deno.build.os !== "linux"
  ? "Linux only"
  : Deno.uid() !== 0
  ? "needs root to switch to uid 65534"
  : setpriv === undefined
  ? "needs setpriv(1)"
  : undefined;
if (problem) console.log(`skipped: group tier as uid 65534: ${problem}`);

Deno.test({
  name: "group tier as uid 65534: one service's stop, restart or exit spares the others",
  ignore: problem !== undefined,
  async fn() {
    await using tmp = tempDir();
    await using reaper = new Reaper();
    Deno.chmodSync(tmp.path, 0o755);
    const from = readableCopy(tmp.path);
    const home = tmp.join("home");
    Deno.mkdirSync(home, { mode: 0o700 });
    Deno.chownSync(home, NOBODY, NOBODY);
    const dir = `${home}/run`;
    const asNobody = nobodyCli(setpriv!, from, home);
    const cli: Cli = (args) => asNobody([args[0], args[1], "--dir", dir, ...args.slice(2)]);
    const record = (pid: number) => reaper.pid(pid);
    try {
      await oneSupervisorManyServices(cli, "nb", record);
    } finally {
      // The supervisor too, should it still run.
      try {
        const sup = Number(Deno.readTextFileSync(`${dir}/supervisor.lock`).trim());
        if (sup > 1) reaper.pid(sup);
      } catch { /* gone */ }
    }
  },
});
