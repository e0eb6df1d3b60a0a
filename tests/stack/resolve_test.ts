/** Resolution, hashing and change naming of declared services; env files from an in-memory reader. */
import assert from "node:assert/strict";
import { validateStack } from "../../src/stack/validate.ts";
import { resolveStack } from "../../src/stack/resolve.ts";
import { canonicalJson, specChanges, specHash } from "../../src/stack/service_hash.ts";
import { StackError } from "../../src/stack/stack_error.ts";

const files: Record<string, string> = {
  "/srv/app/.env": "A=from-file\nB=from-file\nexport SECRET='s3'\n",
  "/srv/app/conf/web.env": "B=web-file\n",
  "/srv/app/bad.env": "A=1\nB\n",
};
const read = (path: string) => {
  if (path in files) return files[path];
  throw new Deno.errors.NotFound(path);
};
const resolve = (value: unknown) =>
  resolveStack(validateStack(value, "/srv/app/pidkit.jsonc"), { readTextFile: read });

Deno.test("resolve: paths, env files, env over them, instances, sh -c", async () => {
  const stack = await resolve({
    dir: "../run",
    defaults: { envFile: ".env" },
    services: {
      web: {
        cmd: "deno run -A server.ts --port $PORT",
        cwd: "web",
        envFile: "conf/web.env",
        env: { A: "env" },
        log: "/var/log/web.log",
        pidfile: "run/web.pid",
        ready: { file: "web/ready" },
      },
      worker: { cmd: ["deno", "run", "-A", "worker.ts"], instances: 2, dependsOn: ["web"] },
    },
  });
  assert.equal(stack.file, "/srv/app/pidkit.jsonc");
  assert.equal(stack.base, "/srv/app");
  assert.equal(stack.dir, "/srv/run");
  assert.deepEqual(stack.services.map((s) => s.name), ["web", "worker.1", "worker.2"]);
  const [web, w1, w2] = stack.services;
  assert.deepEqual(web.command, ["/bin/sh", "-c", "deno run -A server.ts --port $PORT"]);
  assert.equal(web.launch.cwd, "/srv/app/web");
  assert.equal(web.launch.log, "/var/log/web.log");
  assert.equal(web.launch.pidfile, "/srv/app/run/web.pid");
  assert.equal(web.launch.readyFile, "/srv/app/web/ready");
  assert.deepEqual(web.launch.env, { A: "env", B: "web-file", SECRET: "s3" });
  assert.equal(web.instance, undefined);
  assert.deepEqual(w1.command, ["deno", "run", "-A", "worker.ts"]);
  assert.equal(w1.launch.cwd, "/srv/app"); // default: the file's directory
  assert.equal(w1.declared, "worker");
  assert.equal(w2.instance, 2);
  assert.equal(w1.launch.env.PIDKIT_INSTANCE, "1");
  assert.equal(w2.launch.env.PIDKIT_INSTANCE, "2");
  assert.deepEqual(w2.dependsOn, ["web"]);
  assert.match(web.hash, /^[0-9a-f]{64}$/);
  assert.notEqual(w1.hash, w2.hash);
});

Deno.test("resolve: a missing or malformed env file names the file and line", async () => {
  await assert.rejects(
    () => resolve({ services: { web: { cmd: ["x"], envFile: ["missing.env"] } } }),
    (err: unknown) =>
      err instanceof StackError && err.reason === "env-file" &&
      err.message ===
        "/srv/app/missing.env: services.web.envFile: cannot read env file: no such file",
  );
  await assert.rejects(
    () => resolve({ services: { web: { cmd: ["x"], envFile: "bad.env" } } }),
    (err: unknown) =>
      err instanceof StackError && err.line === 2 &&
      /^\/srv\/app\/bad\.env:2: services\.web\.envFile: expected KEY=VALUE/.test(err.message),
  );
});

Deno.test("hash: key order, comments and formatting never count; content does", async () => {
  const a = await resolve({
    services: { web: { cmd: ["x"], env: { A: "1", B: "2" }, restart: "always" } },
  });
  const b = await resolve({
    services: { web: { restart: "always", env: { B: "2", A: "1" }, cmd: ["x"] } },
  });
  const c = await resolve({
    services: { web: { cmd: ["x"], env: { A: "1", B: "3" }, restart: "always" } },
  });
  const d = await resolve({
    services: {
      web: {
        cmd: ["x"],
        env: { A: "1", B: "2" },
        restart: "always",
        dependsOn: [],
        autostart: false,
      },
    },
  });
  assert.equal(a.services[0].hash, b.services[0].hash);
  assert.notEqual(a.services[0].hash, c.services[0].hash);
  assert.equal(a.services[0].hash, d.services[0].hash, "dependsOn and autostart are not hashed");
  assert.equal(canonicalJson({ b: [{ y: 1, x: 2 }], a: undefined }), '{"b":[{"x":2,"y":1}]}');
  // sha256sum of {"command":["sleep","1"],"launch":{"cwd":"/","env":{}}}: a change of hashing
  // (which would restart every declared service on the next up) is noticed
  assert.equal(
    await specHash({ command: ["sleep", "1"], launch: { cwd: "/", env: {} } }),
    "c15e863657b48013b1f1df08152b017d90bcceeb8e14287f3f0d00ff0c33ca39",
  );
});

Deno.test("hash: scaling keeps the surviving instances' hashes", async () => {
  const two = await resolve({ services: { w: { cmd: ["x"], instances: 2 } } });
  const three = await resolve({ services: { w: { cmd: ["x"], instances: 3 } } });
  assert.deepEqual(two.services.map((s) => s.hash), three.services.slice(0, 2).map((s) => s.hash));
});

Deno.test("changes: named in the file's terms, env by variable name only", async () => {
  const before = await resolve({
    services: { web: { cmd: ["x"], env: { A: "1", GONE: "1" }, ready: { tcp: "127.0.0.1:1" } } },
  });
  const after = await resolve({
    services: {
      web: {
        cmd: ["x", "-v"],
        env: { A: "2", NEW: "1" },
        cwd: "sub",
        restart: "always",
        ready: { tcp: "127.0.0.1:2" },
      },
    },
  });
  assert.deepEqual(specChanges(before.services[0], after.services[0]), [
    "cmd",
    "cwd",
    "env (A, GONE, NEW)",
    "restart",
    "ready.tcp",
  ]);
  assert.deepEqual(specChanges(before.services[0], before.services[0]), []);
});
