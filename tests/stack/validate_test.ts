/** Validation of a declaration: typed results, and one-line errors naming the JSON path. */
import assert from "node:assert/strict";
import { validateStack } from "../../src/stack/validate.ts";
import { StackError, type StackErrorReason } from "../../src/stack/stack_error.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { SERVICE_FIELDS } from "../../src/stack/fields.ts";

function refused(value: unknown): StackError {
  try {
    validateStack(value);
  } catch (err) {
    assert.ok(err instanceof StackError, String(err));
    assert.ok(!err.message.includes("\n"), err.message);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(value)}`);
}

const svc = (fields: Record<string, unknown>) => ({
  services: { web: { cmd: ["web"], ...fields } },
});

Deno.test("validate: every start option has a field, and every field an option or a reason", () => {
  const start = COMMANDS.find((c) => c.name === "start")!;
  // per call, or per run directory (--http: the supervisor's server), not per service
  const notFields = ["dir", "timeout", "if-not-running", "json", "http"];
  const flags = Object.keys(start.options).filter((f) => !notFields.includes(f)).sort();
  const mapped = SERVICE_FIELDS.filter((f) => f.flag).map((f) => f.flag!).sort();
  assert.deepEqual(mapped, flags);
  const own = SERVICE_FIELDS.filter((f) => !f.flag).map((f) => f.key).sort();
  assert.deepEqual(own, ["autostart", "cmd", "dependsOn", "envFile", "instances"]);
});

Deno.test("validate: a full service is accepted and normalised", () => {
  const stack = validateStack({
    $schema: "./schema/pidkit.schema.json",
    dir: "run",
    defaults: { restart: "on-failure", env: { A: "1", B: 2 }, envFile: ".env", logMaxSize: "1M" },
    services: {
      web: {
        cmd: "deno run -A server.ts",
        cwd: "app",
        env: { B: "b", C: true },
        envFile: ["web.env"],
        user: "nobody",
        maxRestarts: 3,
        restartDelay: "2s",
        retry: "TERM/5/KILL/2",
        log: "web.log",
        logKeep: 2,
        pidfile: "web.pid",
        watchdog: 30000,
        tracking: "group",
        ready: {
          after: "1s",
          tcp: "127.0.0.1:8080",
          file: "ready",
          notify: true,
          fd: 3,
          timeout: "1m",
        },
        dependsOn: ["db"],
        instances: 2,
        autostart: false,
      },
      db: { cmd: ["db"], forking: true, mainPidfile: "db.pid", restart: "always" },
    },
  }, "/srv/pidkit.jsonc");
  assert.equal(stack.file, "/srv/pidkit.jsonc");
  assert.equal(stack.dir, "run");
  const [web, db] = stack.services;
  assert.deepEqual(web, {
    name: "web",
    cmd: "deno run -A server.ts",
    env: { A: "1", B: "b", C: "true" },
    envFile: [".env", "web.env"],
    dependsOn: ["db"],
    instances: 2,
    autostart: false,
    launch: {
      cwd: "app",
      user: "nobody",
      restart: "on-failure",
      maxRestarts: 3,
      restartDelay: 2000,
      retry: "TERM/5/KILL/2",
      log: "web.log",
      logMaxSize: 1048576,
      logKeep: 2,
      pidfile: "web.pid",
      watchdog: 30000,
      tracking: "group",
      readyAfter: 1000,
      readyTcp: "127.0.0.1:8080",
      readyFile: "ready",
      readyNotify: true,
      readyFd: 3,
      readyTimeout: 60000,
    },
  });
  assert.equal(db.launch.restart, "always");
  assert.equal(db.autostart, true);
  assert.equal(db.launch.forking, true);
});

Deno.test("validate: a service's ready replaces the defaults' as a whole", () => {
  const stack = validateStack({
    defaults: { ready: { tcp: "127.0.0.1:1", timeout: "5s" } },
    services: { a: { cmd: ["a"] }, b: { cmd: ["b"], ready: { notify: true } } },
  });
  assert.equal(stack.services[0].launch.readyTcp, "127.0.0.1:1");
  assert.equal(stack.services[0].launch.readyTimeout, 5000);
  assert.equal(stack.services[1].launch.readyTcp, undefined);
  assert.equal(stack.services[1].launch.readyNotify, true);
});

Deno.test("validate: bad input is one line naming the JSON path", () => {
  const cases: [unknown, StackErrorReason, string, RegExp][] = [
    [[], "type", "", /must be an object, not an array/],
    [{}, "type", "services", /missing/],
    [{ services: {}, servics: {} }, "unknown-field", "servics", /did you mean 'services'/],
    [
      svc({ dependOn: ["x"] }),
      "unknown-field",
      "services.web.dependOn",
      /did you mean 'dependsOn'/,
    ],
    [svc({ max_restarts: 1 }), "unknown-field", "services.web.max_restarts", /'maxRestarts'/],
    [
      svc({ frobnicate: 1 }),
      "unknown-field",
      "services.web.frobnicate",
      /^services\.web\.frobnicate: unknown field$/,
    ],
    [
      svc({ ready: { tpc: "x:1" } }),
      "unknown-field",
      "services.web.ready.tpc",
      /did you mean 'tcp'/,
    ],
    [{ services: { web: {} } }, "type", "services.web.cmd", /missing/],
    [svc({ cmd: [] }), "value", "services.web.cmd", /must not be empty/],
    [svc({ cmd: ["a", 1] }), "type", "services.web.cmd[1]", /must be a string, not a number/],
    [svc({ cmd: 5 }), "type", "services.web.cmd", /argv array/],
    [svc({ cwd: 1 }), "type", "services.web.cwd", /must be a string/],
    [svc({ forking: "yes" }), "type", "services.web.forking", /true or false/],
    [svc({ restart: "sometimes" }), "value", "services.web.restart", /use no, on-failure, always/],
    [svc({ restart: "alway" }), "value", "services.web.restart", /did you mean 'always'/],
    [svc({ tracking: "cgroups" }), "value", "services.web.tracking", /did you mean 'cgroup'/],
    [svc({ restartDelay: "soon" }), "value", "services.web.restartDelay", /bad duration 'soon'/],
    // In the file a number is milliseconds: the hint must not say seconds, as the CLI's does.
    [
      svc({ restartDelay: "10 sec" }),
      "value",
      "services.web.restartDelay",
      /bad duration '10 sec' \(use e\.g\. "500ms", "10s", "2m", or a number of milliseconds\)$/,
    ],
    [svc({ restartDelay: -1 }), "value", "services.web.restartDelay", /0 or more/],
    [svc({ watchdog: true }), "type", "services.web.watchdog", /duration/],
    [
      svc({ ready: { timeout: "5ms" } }),
      "value",
      "services.web.ready.timeout",
      /ready\.timeout '5ms': use at least 10ms/,
    ],
    [
      svc({ ready: { after: "2m", timeout: "1m" } }),
      "value",
      "services.web.ready.after",
      /ready\.after 120000ms is longer than ready\.timeout/,
    ],
    [svc({ logMaxSize: "huge" }), "value", "services.web.logMaxSize", /size such as 512K/],
    [svc({ logMaxSize: 10 }), "value", "services.web.logMaxSize", /at least 1K/],
    [svc({ logKeep: 2 }), "value", "services.web.logKeep", /logKeep needs logMaxSize/],
    [svc({ logKeep: 2000, logMaxSize: "1M" }), "value", "services.web.logKeep", /0 to 1000/],
    [svc({ maxRestarts: 1.5 }), "type", "services.web.maxRestarts", /whole number/],
    [svc({ ready: { fd: 2 } }), "value", "services.web.ready.fd", /3 to 255/],
    [svc({ ready: { tcp: "localhost" } }), "value", "services.web.ready.tcp", /HOST:PORT/],
    [svc({ retry: "TERM/x" }), "value", "services.web.retry", /bad retry schedule/],
    [
      svc({ mainPidfile: "x.pid" }),
      "value",
      "services.web.mainPidfile",
      /mainPidfile needs forking/,
    ],
    [svc({ env: { "BAD-KEY": "1" } }), "value", 'services.web.env["BAD-KEY"]', /bad variable name/],
    [svc({ env: { A: null } }), "type", "services.web.env.A", /string, number or boolean/],
    [svc({ envFile: [".env", ""] }), "value", "services.web.envFile[1]", /must not be empty/],
    [svc({ instances: 0 }), "value", "services.web.instances", /use 1 to 1000/],
    [svc({ instances: "2" }), "type", "services.web.instances", /whole number/],
    [svc({ dependsOn: "db" }), "type", "services.web.dependsOn", /array of strings/],
    [
      svc({ dependsOn: ["wbe"] }),
      "dependency",
      "services.web.dependsOn[0]",
      /'wbe' is not a declared service \(did you mean 'web'\?\)/,
    ],
    [{ services: { "../x": { cmd: ["x"] } } }, "value", 'services["../x"]', /bad service name/],
    [{ defaults: { cmd: ["x"] }, services: {} }, "value", "defaults.cmd", /per service/],
    [{ defaults: { dependsOn: [] }, services: {} }, "value", "defaults.dependsOn", /per service/],
    [
      { defaults: { ready: { tcp: "nope" } }, services: {} },
      "value",
      "defaults.ready.tcp",
      /HOST:PORT/,
    ],
    [{ dir: 3, services: {} }, "type", "dir", /must be a string/],
  ];
  for (const [value, reason, path, message] of cases) {
    const err = refused(value);
    assert.equal(err.reason, reason, `${JSON.stringify(value)}: ${err.message}`);
    assert.equal(err.path, path, `${JSON.stringify(value)}: ${err.message}`);
    assert.match(err.message, message);
    if (path !== "") assert.ok(err.message.startsWith(`${path}: `), err.message);
  }
});

Deno.test("validate: a dependency cycle is printed", () => {
  const err = refused({
    services: {
      a: { cmd: ["a"], dependsOn: ["b"] },
      b: { cmd: ["b"], dependsOn: ["c"] },
      c: { cmd: ["c"], dependsOn: ["a"] },
      d: { cmd: ["d"], dependsOn: ["a"] },
    },
  });
  assert.equal(err.reason, "cycle");
  assert.equal(err.path, "services.a.dependsOn");
  assert.match(err.message, /dependency cycle: a -> b -> c -> a$/);
  const self = refused({ services: { a: { cmd: ["a"], dependsOn: ["a"] } } });
  assert.match(self.message, /a -> a$/);
});

Deno.test("validate: duplicate names after instance expansion", () => {
  const err = refused({
    services: { "web.2": { cmd: ["x"] }, web: { cmd: ["y"], instances: 3 } },
  });
  assert.equal(err.reason, "duplicate");
  assert.equal(err.path, "services.web");
  assert.match(err.message, /'web\.2' is declared twice \(by services 'web\.2' and 'web'\)/);
  const long = refused({ services: { ["a".repeat(63)]: { cmd: ["x"], instances: 2 } } });
  assert.equal(long.path, `services.${"a".repeat(63)}.instances`);
  assert.match(long.message, /bad service name/);
});
