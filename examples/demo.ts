/**
 * The README's one-command demo: start a supervised demo service, show its
 * status, stop it, using the real CLI in a private run directory.
 *
 * Run: `deno task demo`
 *
 * @module
 */

import { commandLine } from "../src/cli/format.ts";

const cli = new URL("../cli.ts", import.meta.url).pathname;
const dir = Deno.makeTempDirSync({ prefix: "pidkit-demo-" });

async function pidkit(...args: string[]): Promise<number> {
  // Quoted as a shell reads it, so that a line can be copied and run.
  console.log(`$ pidkit ${commandLine(args)}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, ...args],
    env: { PIDKIT_DIR: dir },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  console.log(`(exit ${code})\n`);
  return code;
}

try {
  const service = ["sh", "-c", "echo demo up; sleep 1000 & sleep 1000; wait"];
  if (await pidkit("start", "demo", "--", ...service) !== 0) Deno.exit(1);
  await pidkit("status", "demo");
  await pidkit("ps", "demo");
  await pidkit("stop", "demo");
  await pidkit("status", "demo");
} finally {
  await pidkit("stop", "demo").catch(() => {});
  // The background supervisor, holding no service, exits when its directory goes.
  Deno.removeSync(dir, { recursive: true });
}
