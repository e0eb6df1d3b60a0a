/** Procfile mode, finding and loading a declaration file, and the shipped JSON Schema. */
import assert from "node:assert/strict";
import { parseFormation, parseProcfile } from "../../src/stack/procfile.ts";
import { resolveStack } from "../../src/stack/resolve.ts";
import { findStackFile, loadStack } from "../../src/stack/load.ts";
import { stackSchema } from "../../src/stack/schema.ts";
import { StackError } from "../../src/stack/stack_error.ts";

const PROCFILE =
  "# app\nweb: deno run -A server.ts --port $PORT\n\nworker:  deno run -A worker.ts\nrelease: ./migrate\n";

Deno.test("procfile: entries through sh -c, PORT as foreman sets it", async () => {
  const { declaration, skipped } = parseProcfile(PROCFILE, {
    file: "/srv/app/Procfile",
    formation: "web=2,worker=1",
    env: { DB: "x" },
  });
  assert.deepEqual(skipped, ["release"]); // foreman: unnamed types get 0 once a formation is given
  const stack = await resolveStack(declaration);
  assert.deepEqual(
    stack.services.map((s) => [s.name, s.launch.env.PORT, s.launch.env.PIDKIT_INSTANCE]),
    [["web.1", "5000", "1"], ["web.2", "5001", "2"], ["worker.1", "5100", "1"]],
  );
  assert.deepEqual(stack.services[0].command, [
    "/bin/sh",
    "-c",
    "deno run -A server.ts --port $PORT",
  ]);
  assert.equal(stack.services[2].launch.env.DB, "x");
  assert.equal(stack.services[0].launch.cwd, "/srv/app");
  // no formation: one of each; .env's PORT is the base; all=N
  const all = parseProcfile(PROCFILE, { env: { PORT: "3000" } }).declaration.services;
  assert.deepEqual(all.map((s) => [s.name, s.instances, s.port]), [
    ["web", 1, 3000],
    ["worker", 1, 3100],
    ["release", 1, 3200],
  ]);
  const two = parseProcfile(PROCFILE, { formation: "all=2,release=0" });
  assert.deepEqual(two.declaration.services.map((s) => s.instances), [2, 2]);
  assert.deepEqual(two.skipped, ["release"]);
  assert.deepEqual(parseFormation(" web=2 , worker=0 "), { web: 2, worker: 0 });
});

Deno.test("procfile: a line without a name is an error with its line number", () => {
  const cases: [string, string | undefined, RegExp][] = [
    ["web: a\ndeno run -A x.ts\n", undefined, /^\/srv\/Procfile:2: expected 'name: command'/],
    ["web: a\nweb: b\n", undefined, /^\/srv\/Procfile:2: 'web' is declared twice/],
    ["web:\n", undefined, /^\/srv\/Procfile:1: expected 'name: command'/],
    ["# nothing\n", undefined, /^\/srv\/Procfile: no entries/],
    ["web: a\n", "web=x", /formation: bad item 'web=x'/],
    ["web: a\n", "wbe=2", /formation: 'wbe' is not an entry/],
  ];
  for (const [text, formation, message] of cases) {
    assert.throws(
      () => parseProcfile(text, { file: "/srv/Procfile", ...(formation ? { formation } : {}) }),
      (err: unknown) => err instanceof StackError && message.test(err.message),
      text,
    );
  }
});

Deno.test("load: pidkit.jsonc before pidkit.json before Procfile; -c FILE; not found", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pidkit-stack-" });
  try {
    await assert.rejects(
      () => loadStack({ cwd: dir }),
      (err: unknown) =>
        err instanceof StackError && err.reason === "not-found" &&
        err.message.includes("no pidkit.jsonc, pidkit.json or Procfile"),
    );
    await Deno.writeTextFile(`${dir}/Procfile`, "web: ./web\n");
    await Deno.writeTextFile(`${dir}/.env`, "PORT=7000\n");
    let loaded = await loadStack({ cwd: dir });
    assert.equal(loaded.kind, "procfile");
    assert.equal(loaded.stack.services[0].launch.env.PORT, "7000");
    await Deno.writeTextFile(`${dir}/pidkit.json`, '{"services": {"a": {"cmd": ["a"]}}}');
    assert.equal(findStackFile(dir), `${dir}/pidkit.json`);
    await Deno.writeTextFile(
      `${dir}/pidkit.jsonc`,
      '{\n  // b\n  "services": {"b": {"cmd": "b", "envFile": ".env",},},\n}',
    );
    loaded = await loadStack({ cwd: dir });
    assert.equal(loaded.kind, "jsonc");
    assert.equal(loaded.file, `${dir}/pidkit.jsonc`);
    assert.deepEqual(loaded.stack.services.map((s) => [s.name, s.launch.env.PORT]), [[
      "b",
      "7000",
    ]]);
    loaded = await loadStack({ cwd: "/", file: `${dir}/pidkit.json` });
    assert.deepEqual(loaded.stack.services.map((s) => s.name), ["a"]);
    assert.equal(loaded.stack.services[0].launch.cwd, dir);
    await Deno.writeTextFile(
      `${dir}/bad.jsonc`,
      '{"services": {\n  "a": {"cmd": ["a"]}\n  "b": 1}}',
    );
    await assert.rejects(
      () => loadStack({ file: `${dir}/bad.jsonc` }),
      (err: unknown) =>
        err instanceof StackError && err.message.startsWith(`${dir}/bad.jsonc:3:3: expected`),
    );
    await Deno.writeTextFile(
      `${dir}/bad.json`,
      '{"services": {"a": {"cmd": ["a"], "restart": "x"}}}',
    );
    await assert.rejects(
      () => loadStack({ file: `${dir}/bad.json` }),
      (err: unknown) =>
        err instanceof StackError && err.file === `${dir}/bad.json` &&
        err.message.startsWith(`${dir}/bad.json: services.a.restart: bad value 'x'`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("schema: the shipped file is what the field table generates", () => {
  const shipped = JSON.parse(
    Deno.readTextFileSync(new URL("../../schema/pidkit.schema.json", import.meta.url)),
  );
  const web = shipped.properties.services.additionalProperties.properties;
  assert.ok(web.ready.properties.tcp && web.maxRestarts && web.envFile && web.dependsOn);
  assert.ok(!("cmd" in shipped.properties.defaults.properties));
  assert.deepEqual(
    shipped,
    stackSchema(),
    "regenerate: deno eval 'import {stackSchema} from \"./stack.ts\"; console.log(JSON.stringify(stackSchema(), null, 2))' > schema/pidkit.schema.json",
  );
  const published = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  assert.ok(published.publish.include.includes("schema/pidkit.schema.json"));
});
