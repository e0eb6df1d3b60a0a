/**
 * `pidkit export systemd`: one unit per service, from a declaration (each
 * instance, dependencies, limits, readiness) or from running services'
 * records (their --env values into a 0600 environment file); every unit
 * passes `systemd-analyze verify` (skipped where missing); an existing
 * file with other text is refused unless --force; bad input is exit 2.
 */
import assert from "node:assert/strict";
import {
  envFileLine,
  unitEnvironment,
  unitQuote,
} from "../../src/service/export/systemd_syntax.ts";
import { hasProgram, runCli, tempDir } from "../_util/helpers.ts";
import { Services } from "../_util/service_dir.ts";

const hasAnalyze = hasProgram("systemd-analyze");
if (!hasAnalyze) console.log("skip: systemd-analyze is not installed, units are not verified");

/** `systemd-analyze verify` of every unit of `dir` at once (Requires= finds its peers there). */
async function verify(dir: string): Promise<void> {
  if (!hasAnalyze) return;
  const units = (await Array.fromAsync(Deno.readDir(dir))).filter((e) =>
    e.name.endsWith(".service")
  )
    .map((e) => `${dir}/${e.name}`);
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", "--man=no", ...units],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.equal(text.trim(), "", `systemd-analyze verify said: ${text}`);
}

function setting(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]);
}

Deno.test("export systemd: a declaration becomes one verified unit per instance", async () => {
  using home = tempDir("pidkit-export-");
  const file = home.join("pidkit.jsonc");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      services: {
        db: {
          cmd: ["sleep", "100"],
          ready: { notify: true, timeout: "20s" },
          watchdog: "30s",
          limits: { nofile: "4096:8192", core: "unlimited" },
          nice: 5,
          oomScoreAdjust: 300,
          maxMemory: "200M",
          env: { TOKEN: 's3cret "quoted" $NOT `expanded` \\ 100%' },
        },
        web: {
          cmd: "echo $HOME 100% ; exec sleep 100",
          dependsOn: ["db"],
          instances: 2,
          restart: "on-failure",
          restartDelay: "1500ms",
          retry: "INT/30/KILL/5",
          ready: { tcp: "127.0.0.1:8080" },
          log: "web.log",
        },
        daemon: {
          cmd: ["/bin/sh", "-c", "sleep 100 & echo $! > daemon.pid"],
          forking: true,
          mainPidfile: "daemon.pid",
          autostart: false,
          retry: "TERM/5/forever",
          logMaxSize: "1M",
        },
        "uses-web": { cmd: ["sleep", "100"], dependsOn: ["web"] },
      },
    }),
  );
  const out = home.join("units");
  const r = await runCli(["export", "systemd", "-c", file, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const names = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort();
  assert.deepEqual(names, [
    "daemon.service",
    "db.env",
    "db.service",
    "uses-web.service",
    "web.1.env",
    "web.1.service",
    "web.2.env",
    "web.2.service",
  ]);
  assert.match(r.stdout, /^wrote .*\/db\.service$/m);
  const unit = (n: string) => Deno.readTextFileSync(`${out}/${n}.service`);

  const db = unit("db");
  assert.deepEqual(setting(db, "Type"), ["notify"]);
  assert.deepEqual(setting(db, "NotifyAccess"), ["all"]);
  assert.deepEqual(setting(db, "TimeoutStartSec"), ["20s"]);
  assert.deepEqual(setting(db, "WatchdogSec"), ["30s"]);
  assert.deepEqual(setting(db, "ExecStart"), [`${realProgram("sleep")} 100`]);
  assert.deepEqual(setting(db, "LimitNOFILE"), ["4096:8192"]);
  assert.deepEqual(setting(db, "LimitCORE"), ["infinity"]);
  assert.deepEqual(setting(db, "Nice"), ["5"]);
  assert.deepEqual(setting(db, "OOMScoreAdjust"), ["300"]);
  assert.deepEqual(setting(db, "MemoryMax"), ["209715200"]);
  assert.deepEqual(setting(db, "WorkingDirectory"), [home.path]);
  assert.deepEqual(setting(db, "EnvironmentFile"), [`${out}/db.env`]);
  assert.doesNotMatch(db, /s3cret/, "no secret in the world-readable unit");
  assert.equal((await Deno.stat(`${out}/db.env`)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${out}/db.service`)).mode! & 0o777, 0o644);
  assert.match(
    await Deno.readTextFile(`${out}/db.env`),
    /^TOKEN="s3cret \\"quoted\\" \\\$NOT \\`expanded\\` \\\\ 100%"$/m,
  );
  assert.deepEqual(setting(db, "WantedBy"), ["multi-user.target"]);

  const web = unit("web.1");
  assert.deepEqual(setting(web, "Type"), ["exec"]);
  assert.deepEqual(setting(web, "Requires"), ["db.service"]);
  assert.deepEqual(setting(web, "After"), ["db.service"]);
  assert.deepEqual(setting(web, "ExecStart"), ['/bin/sh -c "echo $$HOME 100%% ; exec sleep 100"']);
  assert.deepEqual(setting(web, "Restart"), ["on-failure"]);
  assert.deepEqual(setting(web, "RestartSec"), ["1500ms"]);
  assert.deepEqual(setting(web, "KillSignal"), ["SIGINT"]);
  assert.deepEqual(setting(web, "TimeoutStopSec"), ["30s"]);
  assert.deepEqual(setting(web, "StandardOutput"), [`append:${home.join("web.log")}`]);
  assert.match(web, /^# pidkit counted it ready once 127\.0\.0\.1:8080 accepts/m);
  assert.match(web, /^# pidkit doubles the delay/m);
  assert.match(await Deno.readTextFile(`${out}/web.2.env`), /^PIDKIT_INSTANCE="2"$/m);
  assert.deepEqual(setting(unit("uses-web"), "Requires"), ["web.1.service web.2.service"]);

  const daemon = unit("daemon");
  assert.deepEqual(setting(daemon, "Type"), ["forking"]);
  assert.deepEqual(setting(daemon, "PIDFile"), [home.join("daemon.pid")]);
  assert.deepEqual(setting(daemon, "ExecStart"), [
    '/bin/sh -c "sleep 100 & echo $$! > daemon.pid"',
  ]);
  assert.match(daemon, /^# pidkit stop schedule TERM\/5\/forever/m);
  assert.match(daemon, /^# pidkit rotated its log at 1048576 bytes/m);
  assert.deepEqual(setting(daemon, "WantedBy"), [], "autostart: false has no [Install]");
  await verify(out);

  // the same again: nothing changes; an edited file is refused, --force replaces it
  const again = await runCli(["export", "systemd", "-c", file, "--out", out]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /^(wrote|updated) /m);
  await Deno.writeTextFile(`${out}/web.2.service`, "# mine\n");
  const refused = await runCli(["export", "systemd", "-c", file, "--out", out]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /web\.2\.service exists with other content; nothing written/);
  assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.equal(await Deno.readTextFile(`${out}/web.2.service`), "# mine\n");
  const forced = await runCli(["export", "systemd", "-c", file, "--out", out, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^updated .*\/web\.2\.service$/m);
});

Deno.test("export systemd NAME: a running service's record and its --env values", async () => {
  await using services = new Services();
  using home = tempDir("pidkit-export-");
  await services.start("api", [
    "--env",
    "API_KEY=k3y with spaces",
    "--restart",
    "always",
    "--limit",
    "nofile=2048",
    "--nice",
    "3",
    "--cwd",
    home.path,
  ], ["sleep", "1000"]);
  const out = home.join("units");
  const r = await services.cli(["export", "systemd", "api", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const unit = await Deno.readTextFile(`${out}/api.service`);
  assert.deepEqual(setting(unit, "ExecStart"), [`${realProgram("sleep")} 1000`]);
  assert.deepEqual(setting(unit, "Restart"), ["always"]);
  assert.deepEqual(setting(unit, "LimitNOFILE"), ["2048"]);
  assert.deepEqual(setting(unit, "Nice"), ["3"]);
  assert.deepEqual(setting(unit, "WorkingDirectory"), [home.path]);
  assert.match(unit, new RegExp(`^# pidkit start api \\(running in ${services.dir.path}\\)`, "m"));
  assert.doesNotMatch(unit, /k3y/);
  assert.equal(
    (await Deno.readTextFile(`${out}/api.env`)).split("\n").at(-2),
    'API_KEY="k3y with spaces"',
  );
  assert.equal((await Deno.stat(`${out}/api.env`)).mode! & 0o777, 0o600);
  await verify(out);
});

Deno.test("export: bad input is one line, exit 2, nothing written", async () => {
  await using services = new Services();
  using home = tempDir("pidkit-export-");
  const file = home.join("pidkit.jsonc");
  await Deno.writeTextFile(
    file,
    JSON.stringify({ services: { a: { cmd: ["no-such-program-x"] } } }),
  );
  const out = home.join("units");
  const cases: [string[], RegExp][] = [
    [["export", "upstart", "-c", file, "--out", out], /unknown init system 'upstart'/],
    [["export", "systemd", "-c", file], /missing --out DIR/],
    [["export", "systemd", "-c", file, "--out", out], /cannot export a: .*no-such-program-x/],
    [["export", "systemd", "nosuch", "--out", out], /no service nosuch in /],
    [["export", "systemd", "a", "-c", file, "--out", out], /not both/],
    [["export", "systemd", "../x", "--out", out], /bad service name/],
  ];
  for (const [args, re] of cases) {
    const r = await services.cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.throws(() => Deno.statSync(out), Deno.errors.NotFound);
});

Deno.test("export: a directory it cannot write is one line, exit 1, nothing written", async () => {
  // As a user who is not root, --out /etc/systemd/system refuses the write; a file
  // where the directory should be fails the same way for root too.
  await using services = new Services();
  using home = tempDir("pidkit-export-");
  const file = home.join("pidkit.jsonc");
  await Deno.writeTextFile(file, JSON.stringify({ services: { a: { cmd: ["sleep", "1"] } } }));
  await Deno.writeTextFile(home.join("units"), "");
  const r = await services.cli(["export", "systemd", "-c", file, "--out", home.join("units/x")]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr.trim(), /^pidkit export: cannot write .*\/units\/x: .*; nothing written$/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});

Deno.test("systemd quoting: command words, Environment= and environment files", () => {
  assert.equal(unitQuote("/usr/bin/sleep"), "/usr/bin/sleep");
  assert.equal(unitQuote("a b"), '"a b"');
  assert.equal(unitQuote("$HOME"), '"$$HOME"');
  assert.equal(unitQuote("100%"), "100%%");
  assert.equal(unitQuote(";"), '";"');
  assert.equal(unitQuote('say "hi"\\'), '"say \\"hi\\"\\\\"');
  assert.equal(unitQuote("line1\nline2\ttab\x01"), '"line1\\nline2\\ttab\\x01"');
  assert.equal(unitQuote(""), '""');
  assert.equal(unitEnvironment("PATH", "/usr/bin:/bin"), "PATH=/usr/bin:/bin");
  assert.equal(unitEnvironment("A", "x $y 5%"), '"A=x $y 5%%"');
  assert.equal(envFileLine("A", 'q"\\`$\nz'), 'A="q\\"\\\\\\`\\$\nz"');
});

/** The absolute path `name` resolves to on this PATH (what ExecStart must name). */
function realProgram(name: string): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  throw new Error(`${name} not on PATH`);
}
