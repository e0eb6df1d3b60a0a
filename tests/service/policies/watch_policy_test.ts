/**
 * `--watch`: a change under a watched path restarts the service once after
 * the delay; an editor's save (temporary file, then rename) restarts it
 * once, not twice; `.git`, `node_modules` and `--watch-ignore` globs do not
 * restart it; a missing path starts nothing. Prints the time from a write
 * to the new service being ready.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exists, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { globToRegExp, ignoredChange } from "../../../src/service/policies/watch_policy.ts";

/** Start times (ms) the service appended to `file`, one per start. */
function starts(file: string): number[] {
  if (!exists(file)) return [];
  return Deno.readTextFileSync(file).trim().split("\n").filter((l) => l)
    .map((l) => Math.round(Number(l) * 1000));
}

/** The lines of the service's log that say it was restarted by the watch. */
function watchRestarts(log: string): string[] {
  if (!exists(log)) return [];
  return Deno.readTextFileSync(log).split("\n").filter((l) => /restarting .*: watch: /.test(l));
}

Deno.test("watch ignore rules: .git, node_modules, globs by segment or by path", () => {
  assert.ok(ignoredChange("/a/.git/HEAD", "/a", []));
  assert.ok(ignoredChange("/a/node_modules/x/y.js", "/a", []));
  assert.ok(!ignoredChange("/a/src/app.ts", "/a", []));
  assert.ok(ignoredChange("/a/src/app.log", "/a", ["*.log"]));
  assert.ok(ignoredChange("/a/dist/app.js", "/a", ["dist"]));
  assert.ok(ignoredChange("/a/src/gen/x/y.ts", "/a", ["src/gen/**"]));
  assert.ok(!ignoredChange("/a/src/app.ts", "/a", ["src/gen/**", "*.log"]));
  assert.ok(globToRegExp("src/**/*.ts").test("src/a/b/c.ts"));
  assert.ok(globToRegExp("src/**/*.ts").test("src/c.ts"));
  assert.ok(!globToRegExp("*.ts").test("a/b.ts"));
  assert.ok(globToRegExp("a?c").test("abc"));
});

Deno.test({
  name:
    "--watch: one restart per change, one per editor save (temp file + rename), ignored paths none",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("watch");
    const app = services.dir.join("app");
    Deno.mkdirSync(`${app}/node_modules`, { recursive: true });
    Deno.mkdirSync(`${app}/.git`);
    const startsFile = services.dir.join("starts");
    const log = services.dir.join(`${name}.log`);
    await services.start(name, ["--watch", app, "--watch-ignore", "*.log"], [
      "sh",
      "-c",
      `date +%s.%N >> ${startsFile}; exec sleep 1000`,
    ]);
    assert.equal(starts(startsFile).length, 1);
    const latencies: number[] = [];
    // Plain writes: each restarts the service once; time from the write to the new start.
    for (let i = 0; i < 3; i++) {
      const before = starts(startsFile).length;
      const wrote = Date.now();
      await Deno.writeTextFile(`${app}/main.js`, `// ${i}\n`);
      await waitUntil(() => starts(startsFile).length > before, {
        timeoutMs: 20_000,
        what: "the restart after a write",
      });
      latencies.push(starts(startsFile).at(-1)! - wrote);
    }
    // An editor's save: a temporary file written, then renamed over the file.
    const restartsBefore = watchRestarts(log).length;
    const beforeSave = starts(startsFile).length;
    await Deno.writeTextFile(`${app}/main.js.tmp~`, "// saved\n");
    await Deno.rename(`${app}/main.js.tmp~`, `${app}/main.js`);
    await waitUntil(() => starts(startsFile).length > beforeSave, {
      timeoutMs: 20_000,
      what: "the restart after a save",
    });
    // Changes that must not restart it, then a wait well past the delay.
    await Deno.writeTextFile(`${app}/node_modules/dep.js`, "x");
    await Deno.writeTextFile(`${app}/.git/index`, "x");
    await Deno.writeTextFile(`${app}/debug.log`, "x");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(watchRestarts(log).length, restartsBefore + 1, watchRestarts(log).join("\n"));
    assert.equal(starts(startsFile).length, beforeSave + 1);
    assert.match(watchRestarts(log).at(-1)!, /main\.js changed/);
    const s = JSON.parse((await services.cli(["status", name, "--json"])).stdout);
    assert.equal(s.policyAction.policy, "watch");
    latencies.sort((a, b) => a - b);
    console.log(
      `write -> new service started (--watch-delay 200ms): ${latencies.join(", ")} ms ` +
        `(median ${latencies[1]} ms)`,
    );
    assert.ok(latencies[0] >= 200, "restarted before the delay ran out");
    assert.equal((await services.cli(["stop", name])).code, 0);
  },
});

Deno.test({
  name: "--watch of a single file: an editor's rename over it is seen, and seen again after",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("watch-file");
    const file = services.dir.join("config.json");
    Deno.writeTextFileSync(file, "{}");
    const startsFile = services.dir.join("starts");
    await services.start(name, ["--watch", file, "--watch-delay", "100ms"], [
      "sh",
      "-c",
      `date +%s.%N >> ${startsFile}; exec sleep 1000`,
    ]);
    for (let i = 1; i <= 2; i++) {
      await Deno.writeTextFile(`${file}.new`, `{"n": ${i}}`);
      await Deno.rename(`${file}.new`, file);
      await waitUntil(() => starts(startsFile).length === 1 + i, {
        timeoutMs: 20_000,
        what: `restart ${i} after a rename over the file`,
      });
    }
    // Another file in its directory is not watched.
    await Deno.writeTextFile(services.dir.join("other.json"), "{}");
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(starts(startsFile).length, 3);
    const stop = await services.cli(["stop", name]);
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  },
});

Deno.test({
  name:
    "--watch bad input: a missing path, an empty glob, a delay without --watch: exit 2, nothing started",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const missing = services.dir.join("nope");
    const cases: [string[], RegExp][] = [
      [
        ["--watch", missing],
        new RegExp(`^pidkit start: --watch ${missing}: no such file or directory$`),
      ],
      [["--watch-delay", "1s"], /--watch-delay needs --watch/],
      [["--watch", services.dir.path, "--watch-delay", "soon"], /bad --watch-delay 'soon'/],
    ];
    for (const [options, why] of cases) {
      const r = await services.cli(["start", "w", ...options, "--", "true"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trim(), why);
    }
    assert.deepEqual([...Deno.readDirSync(services.dir.path)], []);
  },
});

Deno.test({
  name:
    "--watch: a directory made after the start is watched; a FIFO in a watched directory hangs nothing",
  sanitizeResources: false,
  async fn() {
    await using services = new Services();
    const name = uniqueName("watch-new");
    const app = services.dir.join("app");
    Deno.mkdirSync(app);
    // Deno.watchFs's watcher thread open(2)s a FIFO it sees and blocks there;
    // the policy must never (src/os/inotify.ts).
    const mk = await new Deno.Command("mkfifo", { args: [`${app}/pipe`] }).output();
    assert.ok(mk.success);
    const startsFile = services.dir.join("starts");
    await services.start(name, ["--watch", app], [
      "sh",
      "-c",
      `date +%s.%N >> ${startsFile}; exec sleep 1000`,
    ]);
    Deno.mkdirSync(`${app}/sub/deeper`, { recursive: true });
    await waitUntil(() => starts(startsFile).length === 2, {
      timeoutMs: 20_000,
      what: "the restart for the new directory",
    });
    await Deno.writeTextFile(`${app}/sub/deeper/x.js`, "x");
    await waitUntil(() => starts(startsFile).length === 3, {
      timeoutMs: 20_000,
      what: "the restart for a file in the new directory",
    });
    const began = Date.now();
    const stop = await services.cli(["stop", name], { timeoutMs: 20_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - began < 10_000, `stop took ${Date.now() - began} ms`);
  },
});
