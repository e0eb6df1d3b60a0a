/**
 * `commandLine` (list, status, ps, check): a command with control
 * characters (a `python3 -c` program over several lines, an escape
 * sequence) is one line, quoted as bash's `$'...'`, and bash reads it back
 * as the same words; it once broke list's table across lines and passed a
 * service's escape sequences to the terminal.
 */
import assert from "node:assert/strict";
import { commandLine } from "../../src/cli/format.ts";
import { hasProgram } from "../_util/helpers.ts";
import { Services } from "../_util/service_dir.ts";

const odd = ["python3", "-c", "import time\ns = ['a']\t\\ \x1b[31mred\x07\x7f", "it's", "plain"];

Deno.test("commandLine: control characters are escaped in $'...', one line; bash reads the same words", async () => {
  const line = commandLine(odd);
  assert.equal(
    line,
    `python3 -c $'import time\\ns = [\\'a\\']\\t\\\\ \\e[31mred\\x07\\x7f' 'it'\\''s' plain`,
  );
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
  if (!hasProgram("bash")) return console.log("skip: no bash to read the line back");
  const out = await new Deno.Command("bash", {
    args: ["-c", `printf '%s\\0' ${line}`],
    stdout: "piped",
  }).output();
  assert.deepEqual(new TextDecoder().decode(out.stdout).split("\0").slice(0, -1), odd);
});

Deno.test("list: a service whose command has newlines is one row", async () => {
  await using svc = new Services();
  await svc.start("multi", ["--ready-after", "0"], ["sh", "-c", "sleep 1000\n# second line\n"]);
  await svc.start("zz", ["--ready-after", "0"], ["sleep", "1000"]);
  const r = await svc.cli(["list"], { env: { NO_COLOR: "1" } });
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split("\n");
  assert.equal(rows.length, 3, r.stdout);
  assert.match(rows[1], /^multi .* sh -c \$'sleep 1000\\n# second line\\n'$/);
});
