import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { UsageError } from "../../src/os/errors.ts";
import { parseOptions } from "../../src/cli/parse_args.ts";
import type { OptionSpec } from "../../src/cli/spec.ts";

const options: Record<string, OptionSpec> = {
  dir: { type: "string", description: "" },
  env: { type: "string", multiple: true, description: "" },
  lines: { type: "string", short: "n", description: "" },
  follow: { type: "boolean", short: "f", description: "" },
  json: { type: "boolean", description: "" },
};

Deno.test("parseOptions agrees with node:util parseArgs on valid command lines", () => {
  const nodeOptions = Object.fromEntries(
    Object.entries(options).map(([k, o]) => [k, {
      type: o.type,
      multiple: o.multiple ?? false,
      ...(o.short ? { short: o.short } : {}),
    }]),
  );
  const cases = [
    ["web"],
    ["web", "--dir", "/x", "--json"],
    ["--dir=/y", "web", "-n", "5", "-f"],
    ["-fn7", "a"],
    ["-n3", "--env", "A=1", "--env=B=2", "-", "b"],
    ["--lines", "1", "--lines", "2"],
  ];
  for (const args of cases) {
    const want = parseArgs({ args, options: nodeOptions, allowPositionals: true, strict: true });
    const got = parseOptions(args, options);
    assert.deepEqual(
      { values: { ...got.values }, positionals: got.positionals },
      { values: { ...want.values }, positionals: want.positionals },
      args.join(" "),
    );
  }
});

Deno.test("parseOptions refuses unknown options and missing values with one line", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /^unknown option '--bogus'$/],
    [["-x"], /^unknown option '-x'$/],
    [["-n"], /^option '--lines' needs a value$/],
    [["--dir"], /^option '--dir' needs a value$/],
    [["--dir", "--json"], /^option '--dir' needs a value$/],
    [["-n", "-5"], /^option '--lines' needs a value \(to give it, write --lines=-5\)$/],
    [["--json=1"], /^option '--json' takes no value$/],
  ];
  for (const [args, re] of cases) {
    assert.throws(
      () => parseOptions(args, options),
      (e) => e instanceof UsageError && re.test(e.message),
      args.join(" "),
    );
  }
});
