import assert from "node:assert/strict";
import { COMMAND_DESCRIPTIONS } from "../../src/cli/command_help.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { VERSION } from "../../src/os/version.ts";
import { CLI, hasProgram, ROOT, runCli, tempDir } from "../_util/helpers.ts";

const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));

Deno.test("--version prints deno.json's version (src/os/version.ts is kept equal to it)", async () => {
  assert.deepEqual(VERSION, config.version);
  for (const flag of ["--version", "-V"]) {
    const r = await runCli([flag]);
    assert.deepEqual(r.code, 0);
    assert.deepEqual(r.stdout, `pidkit ${config.version}\n`);
  }
});

Deno.test("every command has its paragraph of help, and only commands do", () => {
  assert.deepEqual(Object.keys(COMMAND_DESCRIPTIONS).sort(), COMMANDS.map((c) => c.name).sort());
  for (const [name, text] of Object.entries(COMMAND_DESCRIPTIONS)) {
    assert.ok(text.length > 40, `${name}: a paragraph, not a stub`);
  }
});

Deno.test("--help lists every command; help COMMAND and COMMAND --help agree", async () => {
  const r = await runCli(["--help"]);
  assert.deepEqual(r.code, 0);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, "m"));
  const [a, b] = await Promise.all([runCli(["help", "stop"]), runCli(["stop", "--help"])]);
  assert.deepEqual(a.code, 0);
  assert.deepEqual(a.stdout, b.stdout);
  assert.match(a.stdout, /^Usage: pidkit stop /);
  assert.match(a.stdout, /--retry SCHEDULE/);
});

Deno.test("usage errors are one line on stderr with exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["--bogus"], /unknown option '--bogus'/],
    [["stop", "--bogus"], /unknown option '--bogus'/],
    [["start", "web"], /missing '--' before the command/],
    [["start", "web", "--"], /missing the command to run/],
    [
      ["start", "web", "python3", "-m", "http.server"],
      /^pidkit start: unknown option '-m'; is '--' missing before the command to run\? \(see /m,
    ],
    [["stop", "a", "b"], /unexpected argument 'b'/],
    [["stop", "web", "--", "x"], /takes no command/],
    [["logs", "web", "-n"], /option '--lines' needs a value/],
    [["help", "nope"], /unknown command 'nope'/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.deepEqual(r.code, 2, `pidkit ${args.join(" ")}: ${r.stderr}`);
    assert.deepEqual(r.stdout, "");
    assert.deepEqual(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

Deno.test("no arguments: the usage summary on stderr, exit 2", async () => {
  const [none, help] = await Promise.all([runCli([]), runCli(["--help"])]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, "");
  assert.equal(none.stderr, help.stdout);
  assert.match(none.stderr, /^Usage: pidkit COMMAND/m);
});

Deno.test("options after -- belong to the service command", async () => {
  // `--bogus` after `--` is not pidkit's: parsing must not reject it.
  const { parseCommandLine } = await import("../../src/cli/main.ts");
  const start = COMMANDS.find((c) => c.name === "start")!;
  const parsed = parseCommandLine(start, [
    "web",
    "--dir",
    "/tmp/x",
    "--",
    "sh",
    "--bogus",
    "-c",
    "--",
  ]);
  assert(parsed !== "help");
  assert.deepEqual(parsed.positionals, ["web"]);
  assert.deepEqual(parsed.values.dir, "/tmp/x");
  assert.deepEqual(parsed.command, ["sh", "--bogus", "-c", "--"]);
});

Deno.test("the man page documents every command and option in --help", () => {
  const man = Deno.readTextFileSync(`${ROOT}/docs/pidkit.1`);
  // roff writes "-" as "\-" in option names.
  const text = man.replaceAll("\\-", "-").replace(/\\f[BIRP]/g, "");
  const missing: string[] = [];
  for (const c of COMMANDS) {
    if (!new RegExp(`^\\.B ${c.name}\\b`, "m").test(text) && !text.includes(`.B ${c.name} `)) {
      missing.push(`command ${c.name}`);
    }
    for (const [name, o] of Object.entries(c.options)) {
      if (!text.includes(`--${name}`)) missing.push(`--${name} (${c.name})`);
      if (o.short && !text.includes(`-${o.short}`)) missing.push(`-${o.short} (${c.name})`);
    }
  }
  assert.deepEqual(missing, [], "missing from docs/pidkit.1");
  assert.match(text, /^\.TH PIDKIT 1 .*"pidkit [\d.]+"/m);
  assert(text.includes(`"pidkit ${config.version}"`), "man page version matches deno.json");
});

Deno.test({
  name: "man -l renders the man page",
  ignore: !hasProgram("man"),
  fn: async () => {
    const out = await new Deno.Command("man", {
      args: ["-l", `${ROOT}/docs/pidkit.1`],
      env: { MANPAGER: "cat", PAGER: "cat", MANWIDTH: "80" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.deepEqual(out.code, 0, new TextDecoder().decode(out.stderr));
    const text = new TextDecoder().decode(out.stdout);
    for (
      const h of [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "OPTIONS",
        "EXIT STATUS",
        "FILES",
        "ENVIRONMENT",
        "EXAMPLES",
        "SEE ALSO",
      ]
    ) {
      assert.match(text, new RegExp(`^${h}$`, "m"));
    }
  },
});
if (!hasProgram("man")) console.log("skip: man is not installed, the man page is not rendered");

Deno.test("deno install works offline and the installed command runs", async () => {
  await using root = tempDir();
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["install", "-g", "-A", "-n", "pidkit", "--root", root.path, CLI],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.deepEqual(install.code, 0, new TextDecoder().decode(install.stderr));
  const out = await new Deno.Command(`${root.path}/bin/pidkit`, {
    args: ["--version"],
    stdout: "piped",
    env: { PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}` },
  }).output();
  assert.deepEqual(out.code, 0);
  assert.deepEqual(new TextDecoder().decode(out.stdout), `pidkit ${config.version}\n`);
});
