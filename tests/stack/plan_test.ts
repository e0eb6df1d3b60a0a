/** Dependency order and the plan of `up`: plain data in, plain data out, no processes. */
import assert from "node:assert/strict";
import { validateStack } from "../../src/stack/validate.ts";
import { type ResolvedStack, resolveStack } from "../../src/stack/resolve.ts";
import { dependencyClosure, startLevels, stopOrder } from "../../src/stack/order.ts";
import { type CurrentService, planStack } from "../../src/stack/plan.ts";

const FILE = "/srv/app/pidkit.jsonc";
const resolve = (services: Record<string, unknown>, file = FILE) =>
  resolveStack(validateStack({ services }, file));

const BASE = {
  db: { cmd: ["db"] },
  cache: { cmd: ["cache"] },
  web: { cmd: ["web"], dependsOn: ["db", "cache"] },
  worker: { cmd: ["worker"], instances: 3, dependsOn: ["db"] },
  admin: { cmd: ["admin"], dependsOn: ["web"], autostart: false },
};

/** What runs when an up of `stack` has started every service of it. */
function runningFrom(stack: ResolvedStack, names?: string[]): CurrentService[] {
  return stack.services.filter((s) => !names || names.includes(s.name)).map((s) => ({
    name: s.name,
    running: true,
    origin: { file: stack.file!, hash: s.hash, spec: { command: s.command, launch: s.launch } },
  }));
}

const actions = (plan: ReturnType<typeof planStack>) =>
  Object.fromEntries(plan.steps.map((s) => [s.name, s.action]));

Deno.test("order: levels run independent services together, down is the reverse", async () => {
  const stack = await resolve(BASE);
  assert.deepEqual(startLevels(stack.services), [
    ["db", "cache"],
    ["web", "worker.1", "worker.2", "worker.3"],
    ["admin"],
  ]);
  assert.deepEqual(stopOrder(stack.services), [
    "admin",
    "worker.3",
    "worker.2",
    "worker.1",
    "web",
    "db",
    "cache",
  ]);
  assert.deepEqual(dependencyClosure(stack.services, ["admin"]), {
    names: ["db", "cache", "web", "admin"],
    unknown: [],
  });
  assert.deepEqual(dependencyClosure(stack.services, ["worker.2", "nope"]), {
    names: ["db", "worker.2"],
    unknown: ["nope"],
  });
});

Deno.test("plan: from nothing, every autostart service starts, by level", async () => {
  const stack = await resolve(BASE);
  const plan = planStack(stack, []);
  assert.deepEqual(plan.levels, [["db", "cache"], ["web", "worker.1", "worker.2", "worker.3"]]);
  assert.equal(actions(plan).admin, "skip");
  assert.deepEqual(plan.stops, []);
  assert.equal(plan.changes, true);
});

Deno.test("plan: a second up with nothing changed does nothing", async () => {
  const stack = await resolve(BASE);
  const plan = planStack(stack, runningFrom(stack));
  assert.equal(plan.changes, false);
  assert.ok(plan.steps.every((s) => s.action === "leave"), JSON.stringify(plan.steps));
  assert.deepEqual(plan.levels, []);
});

Deno.test("plan: a changed service restarts and says what changed; others are left", async () => {
  const before = await resolve(BASE);
  const after = await resolve({ ...BASE, web: { ...BASE.web, env: { PORT: "8081" } } });
  const plan = planStack(after, runningFrom(before));
  const web = plan.steps.find((s) => s.name === "web")!;
  assert.equal(web.action, "restart");
  assert.deepEqual(web.changes, ["env (PORT)"]);
  assert.equal(web.reason, "changed: env (PORT)");
  assert.equal(actions(plan).db, "leave");
  assert.deepEqual(plan.levels, [["web"]]);
  // without the recorded spec the restart still happens, without the detail
  const bare = runningFrom(before).map((c) => ({
    ...c,
    origin: { ...c.origin!, spec: undefined },
  }));
  assert.equal(planStack(after, bare).steps.find((s) => s.name === "web")!.reason, "changed");
});

Deno.test("plan: removed and scaled-down services stop, highest instance first", async () => {
  const before = await resolve(BASE);
  const { cache: _cache, ...rest } = BASE;
  const after = await resolve({
    ...rest,
    web: { cmd: ["web"], dependsOn: ["db"] },
    worker: { ...BASE.worker, instances: 1 },
  });
  const plan = planStack(after, runningFrom(before));
  assert.deepEqual(plan.stops, ["worker.3", "worker.2", "cache"]);
  for (const name of plan.stops) {
    assert.deepEqual(plan.steps.find((s) => s.name === name), {
      name,
      action: "stop",
      reason: "no longer declared",
    });
  }
  assert.equal(actions(plan)["worker.1"], "leave", "a survivor is never restarted by scaling");
  assert.equal(actions(plan).web, "leave", "dependsOn is not part of the hash");
});

Deno.test("plan: hand-started services and other files' are never touched", async () => {
  const stack = await resolve(BASE);
  const current: CurrentService[] = [
    { name: "db", running: true }, // started by hand under a declared name
    { name: "cache", running: true, origin: { file: "/other/pidkit.jsonc", hash: "x" } },
    { name: "tool", running: true }, // hand-started, undeclared
    { name: "legacy", running: true, origin: { file: "/other/pidkit.jsonc", hash: "y" } },
    { name: "old", running: false, origin: { file: FILE, hash: "z" } }, // ours, already stopped
  ];
  const plan = planStack(stack, current);
  assert.equal(actions(plan).db, "conflict");
  assert.match(plan.steps.find((s) => s.name === "db")!.reason, /started by hand/);
  assert.equal(actions(plan).cache, "conflict");
  assert.match(plan.steps.find((s) => s.name === "cache")!.reason, /\/other\/pidkit\.jsonc/);
  assert.deepEqual(plan.stops, []);
  for (const name of ["tool", "legacy", "old"]) assert.equal(actions(plan)[name], undefined);
  // a stopped hand-started record does not hold the name
  const freed = planStack(stack, [{ name: "db", running: false }]);
  assert.equal(actions(freed).db, "start");
});

Deno.test("plan: with names, those and their dependencies, autostart false included, nothing stopped", async () => {
  const before = await resolve({ ...BASE, gone: { cmd: ["gone"] } });
  const stack = await resolve(BASE);
  const plan = planStack(stack, runningFrom(before, ["db", "gone"]), { names: ["admin"] });
  assert.deepEqual(plan.steps.map((s) => [s.name, s.action]), [
    ["db", "leave"],
    ["cache", "start"],
    ["web", "start"],
    ["admin", "start"],
  ]);
  assert.deepEqual(plan.levels, [["cache"], ["web"], ["admin"]]);
  assert.deepEqual(plan.stops, []);
});

Deno.test("plan: an autostart: false service that an autostart one needs starts too", async () => {
  const stack = await resolve({
    base: { cmd: ["base"], autostart: false },
    app: { cmd: ["app"], dependsOn: ["base"] },
    extra: { cmd: ["extra"], autostart: false },
  });
  const plan = planStack(stack, []);
  assert.deepEqual(actions(plan), { base: "start", app: "start", extra: "skip" });
  assert.deepEqual(plan.levels, [["base"], ["app"]]);
});

Deno.test("plan: a declaration moved to another path is another owner", async () => {
  const before = await resolve(BASE);
  const moved = await resolve(BASE, "/srv/new/pidkit.jsonc");
  const plan = planStack(moved, runningFrom(before));
  assert.equal(actions(plan).db, "conflict");
  assert.deepEqual(plan.stops, []);
});
