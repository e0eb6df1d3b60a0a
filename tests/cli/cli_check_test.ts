/** `pidkit check`: validates a declaration and prints its services; starts nothing. */
import assert from "node:assert/strict";
import { runCli, tempDir } from "../_util/helpers.ts";

const STACK = `{
  // three services
  "defaults": { "restart": "on-failure" },
  "services": {
    "redis": { "cmd": ["redis-server", "--supervised", "systemd"], "ready": { "notify": true } },
    "web": { "cmd": "deno run -A server.ts", "dependsOn": ["redis"], "envFile": "web.env",
             "ready": { "tcp": "127.0.0.1:8000", "timeout": "30s" } },
    "worker": { "cmd": ["deno", "run", "-A", "worker.ts"], "instances": 2, "dependsOn": ["redis"] },
  },
}`;

Deno.test("check: prints the resolved services and the start order, exit 0", async () => {
  using dir = tempDir();
  await Deno.writeTextFile(dir.join("pidkit.jsonc"), STACK);
  await Deno.writeTextFile(dir.join("web.env"), "export PORT=8000\n");
  const r = await runCli(["check"], { cwd: dir.path });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], `${dir.path}/pidkit.jsonc: ok, 3 services, 4 to run`);
  assert.equal(lines[1], "start order: redis | web worker.1 worker.2");
  assert.match(r.stdout, /^web\n {2}cmd +\/bin\/sh -c 'deno run -A server\.ts'$/m);
  assert.match(r.stdout, /^ {2}env +PORT=8000$/m);
  assert.match(r.stdout, /^ {2}ready\.timeout +30s$/m);
  assert.match(
    r.stdout,
    /^worker\.2\n {2}cmd +deno run -A worker\.ts\n {2}cwd +\S+\n {2}env +PIDKIT_INSTANCE=2$/m,
  );
  const json = await runCli(["check", "--json", "-c", dir.join("pidkit.jsonc")]);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  assert.deepEqual(out.levels, [["redis"], ["web", "worker.1", "worker.2"]]);
  assert.deepEqual(out.services[1].launch.env, { PORT: "8000" });
});

Deno.test("check: a bad declaration is one line naming file and JSON path, exit 2", async () => {
  using dir = tempDir();
  const file = dir.join("pidkit.json");
  await Deno.writeTextFile(
    file,
    STACK.replace('"dependsOn": ["redis"], "envFile"', '"dependsOn": ["rediss"], "envFile"'),
  );
  let r = await runCli(["check", "-c", file]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    `pidkit check: ${file}: services.web.dependsOn[0]: 'rediss' is not a declared service (did you mean 'redis'?)\n`,
  );
  r = await runCli(["check", "--json"], { cwd: dir.path }); // pidkit.json, found in the cwd
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stderr).code, 2);
  await Deno.remove(file);
  r = await runCli(["check"], { cwd: dir.path });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^pidkit check: no pidkit\.jsonc, pidkit\.json or Procfile in /);
});

Deno.test("check: a Procfile with a formation", async () => {
  using dir = tempDir();
  await Deno.writeTextFile(
    dir.join("Procfile"),
    "web: ./web --port $PORT\nworker: ./worker\nrelease: ./migrate\n",
  );
  const r = await runCli(["check", "--formation", "web=2,worker=1"], { cwd: dir.path });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^not in the formation: release$/m);
  assert.match(
    r.stdout,
    /^web\.2\n {2}cmd +\/bin\/sh -c '\.\/web --port \$PORT'\n {2}cwd +\S+\n {2}env +PIDKIT_INSTANCE=2\n {2}env +PORT=5001$/m,
  );
  assert.match(r.stdout, /^ {2}env +PORT=5100$/m);
});
