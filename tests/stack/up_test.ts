/**
 * `pidkit up` / `down` on real processes in a temporary run directory:
 * start in dependency order, leave unchanged services alone (same PID),
 * restart what changed and say what, stop what the file no longer
 * declares, scale instances down highest first, never touch hand-started
 * services, dependency failures, concurrent ups, bad input.
 */
import assert from "node:assert/strict";
import { readServiceRecord } from "../../src/service/model/service_record.ts";
import { type TempDir, tempDir } from "../_util/helpers.ts";
import { Services } from "../_util/service_dir.ts";

/** A run dir and a declaration file beside it (in another temp dir). */
class Stack implements AsyncDisposable {
  readonly services = new Services();
  readonly home: TempDir = tempDir("pidkit-stack-");
  readonly file: string = this.home.join("pidkit.jsonc");

  write(services: Record<string, unknown>): void {
    Deno.writeTextFileSync(this.file, JSON.stringify({ services }, null, 2));
  }

  up(...args: string[]) {
    return this.services.cli(["up", "-c", this.file, ...args]);
  }

  down(...args: string[]) {
    return this.services.cli(["down", "-c", this.file, ...args]);
  }

  /** The main PID of a running service, from its record. */
  async pid(name: string): Promise<number | undefined> {
    const r = await readServiceRecord(this.services.dir.join(`${name}.json`));
    if (r) this.services.record(r);
    return r?.phase === "running" ? r.tree?.pid : undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.services[Symbol.asyncDispose]();
    this.home[Symbol.dispose]();
  }
}

const sleeper = (n: number) => ["sleep", String(1000 + n)];

Deno.test("up starts in order, leaves the unchanged, restarts the changed, stops the removed", async () => {
  await using s = new Stack();
  s.write({
    db: { cmd: sleeper(1), ready: { after: "300ms" } },
    web: { cmd: sleeper(2), dependsOn: ["db"], env: { PORT: "8001" } },
    cron: { cmd: "sleep 1003" },
  });
  const first = await s.up();
  assert.equal(first.code, 0, first.stderr + first.stdout);
  const lines = first.stdout.trim().split("\n");
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(at(/^started db /) >= 0 && at(/^started web /) > at(/^started db /), first.stdout);
  assert.ok(at(/^started cron /) >= 0, first.stdout);
  const db = await s.pid("db");
  const cron = await s.pid("cron");
  const web = await s.pid("web");
  assert.ok(db && cron && web);

  const again = await s.up();
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to do: 3 unchanged/);
  assert.doesNotMatch(again.stdout, /started|restarted|stopped/);

  // edit: web's env changes, cron is removed
  s.write({
    db: { cmd: sleeper(1), ready: { after: "300ms" } },
    web: { cmd: sleeper(2), dependsOn: ["db"], env: { PORT: "8002" } },
  });
  const dry = await s.up("--dry-run");
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would restart web: changed: env \(PORT\)/);
  assert.match(dry.stdout, /would stop cron: no longer declared/);
  assert.equal(await s.pid("web"), web, "a dry run changes nothing");
  const third = await s.up();
  assert.equal(third.code, 0, third.stderr + third.stdout);
  assert.match(third.stdout, /^restarted web \(pid \d+\): changed: env \(PORT\)$/m);
  assert.match(third.stdout, /^stopped cron: no longer declared$/m);
  assert.match(third.stdout, /^unchanged db/m);
  assert.equal(await s.pid("db"), db, "db was not touched");
  const web2 = await s.pid("web");
  assert.ok(web2 && web2 !== web, "web was restarted");
  assert.equal(await s.pid("cron"), undefined, "cron was stopped");
  assert.doesNotMatch(third.stdout, /8002|8001/, "values are never shown");

  const list = await s.services.cli(["list", "--json"]);
  const rows = JSON.parse(list.stdout).services as { name: string; file: string | null }[];
  assert.equal(rows.find((r) => r.name === "db")?.file, s.file);
  const text = await s.services.cli(["list"]);
  assert.match(text.stdout, /FILE/);
  const status = await s.services.cli(["status", "db", "--json"]);
  assert.equal(JSON.parse(status.stdout).file, s.file);
  assert.match((await s.services.cli(["status", "db"])).stdout, /declared in: +\S*pidkit\.jsonc/);

  // the spec kept to name changes is not readable by others
  assert.equal((await Deno.stat(s.services.dir.join("web.spec"))).mode! & 0o077, 0);

  const json = await s.up("--json");
  const result = JSON.parse(json.stdout);
  assert.equal(result.ok, true);
  assert.equal(result.changed, false);
  assert.deepEqual(result.services.map((r: { action: string }) => r.action), [
    "unchanged",
    "unchanged",
  ]);

  const down = await s.down();
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /stopped web[^]*stopped db/, "dependents first");
  assert.equal(await s.pid("db"), undefined);
  assert.equal(await s.pid("web"), undefined);
});

Deno.test("up never touches a hand-started service of a declared name; down leaves it", async () => {
  await using s = new Stack();
  await s.services.start("web", [], ["sleep", "1010"]);
  const hand = await s.pid("web");
  s.write({ web: { cmd: sleeper(11) }, other: { cmd: sleeper(12) } });
  const r = await s.up();
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /^left alone web: the name is taken by a service started by hand$/m);
  assert.match(r.stdout, /^started other/m);
  assert.equal(await s.pid("web"), hand);
  const down = await s.down();
  assert.equal(down.code, 0);
  assert.match(down.stdout, /left alone web: started by hand/);
  assert.equal(await s.pid("web"), hand, "down never stops it");
  assert.equal(await s.pid("other"), undefined);
});

Deno.test("a dependency that fails leaves its dependents unstarted and the others running", async () => {
  await using s = new Stack();
  s.write({
    db: { cmd: "sleep 0.2; echo 'db: cannot bind' >&2; exit 3", ready: { after: "2s" } },
    web: { cmd: sleeper(21), dependsOn: ["db"] },
    api: { cmd: sleeper(22), dependsOn: ["web"] },
    cron: { cmd: sleeper(23) },
  });
  const r = await s.up();
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /^failed db: /m);
  // what it said before it died, under its line, as start shows it
  assert.match(r.stdout, /^failed db: .*\n( {2}\| .*\n)* {2}\| db: cannot bind\n/m);
  const firstPid = /\[pidkit\] \S+ started db \(pid (\d+)\)/.exec(r.stdout)?.[1];
  assert.ok(firstPid, r.stdout);
  // up again: db fails again, and its tail is this attempt's alone
  const json = JSON.parse((await s.up("--json")).stdout);
  const db = json.services.find((x: { name: string }) => x.name === "db");
  assert.equal(
    db.logTail.filter((l: string) => l === "db: cannot bind").length,
    1,
    JSON.stringify(db),
  );
  const started = db.logTail.filter((l: string) => /\[pidkit\] \S+ started db \(pid \d+\)/.test(l));
  assert.equal(started.length, 1, JSON.stringify(db));
  assert.ok(!started[0].includes(`(pid ${firstPid})`), JSON.stringify(db));
  assert.match(r.stdout, /^not started web: its dependency db failed$/m);
  assert.match(r.stdout, /^not started api: its dependency web failed$/m);
  assert.match(r.stdout, /^started cron/m);
  assert.ok(await s.pid("cron"), "a failure never stops the others");
  assert.equal(await s.pid("web"), undefined);
});

Deno.test("instances scale down highest first and the survivors keep their PIDs", async () => {
  await using s = new Stack();
  s.write({ worker: { cmd: "sleep 1030", instances: 4 } });
  assert.equal((await s.up()).code, 0);
  const one = await s.pid("worker.1");
  const two = await s.pid("worker.2");
  assert.ok(await s.pid("worker.4"));
  s.write({ worker: { cmd: "sleep 1030", instances: 2 } });
  const r = await s.up();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stopped worker\.4[^]*stopped worker\.3/, "highest first");
  assert.equal(await s.pid("worker.1"), one);
  assert.equal(await s.pid("worker.2"), two);
  assert.equal(await s.pid("worker.3"), undefined);
  const env = (await Deno.readTextFile(`/proc/${two}/environ`)).split("\0");
  assert.ok(env.includes("PIDKIT_INSTANCE=2"));
  assert.ok(!env.some((kv) => kv.startsWith("PIDKIT_DIR=")), "the caller's environment stays out");
});

Deno.test("concurrent ups of one file start every service exactly once", async () => {
  await using s = new Stack();
  const services: Record<string, unknown> = {};
  for (let i = 0; i < 6; i++) services[`s${i}`] = { cmd: sleeper(40 + i) };
  services.top = { cmd: sleeper(49), dependsOn: ["s0", "s1"] };
  s.write(services);
  const [a, b] = await Promise.all([s.up(), s.up()]);
  assert.equal(a.code, 0, a.stderr + a.stdout);
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const started = (a.stdout + b.stdout).split("\n").filter((l) => l.startsWith("started "));
  assert.equal(started.length, 7, a.stdout + b.stdout);
  for (const name of Object.keys(services)) {
    const record = await readServiceRecord(s.services.dir.join(`${name}.json`));
    assert.equal(record?.restarts, 0);
    const log = await Deno.readTextFile(s.services.dir.join(`${name}.log`));
    assert.equal(log.match(/started/g)?.length, 1, `${name} started once: ${log}`);
  }
});

Deno.test("bad input starts and stops nothing: exit 2 with the JSON path", async () => {
  await using s = new Stack();
  s.write({ web: { cmd: sleeper(51) } });
  assert.equal((await s.up()).code, 0);
  const web = await s.pid("web");
  await Deno.writeTextFile(
    s.file,
    JSON.stringify({ services: { web2: { cmd: "x", restartDelai: "1s" } } }),
  );
  const r = await s.up();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /services\.web2\.restartDelai.*did you mean 'restartDelay'/);
  assert.equal(await s.pid("web"), web, "nothing stopped");
  assert.equal(await s.pid("web2"), undefined, "nothing started");
  s.write({ web: { cmd: sleeper(51) } });
  const unknown = await s.up("nosuch");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /declares no service 'nosuch'/);
  const badOption = await s.up();
  assert.equal(badOption.code, 0);
  s.write({ web: { cmd: sleeper(51) }, db: { cmd: "x", ready: { tcp: "nope" } } });
  const bad = await s.up();
  assert.equal(bad.code, 2, bad.stdout);
  assert.equal(await s.pid("web"), web);
});

Deno.test("from code: upStack/downStack on a declaration built in code; typed errors with the JSON path", async () => {
  const { downStack, resolveStack, StackError, upStack, validateStack } = await import(
    "../../stack.ts"
  );
  await using s = new Stack();
  const file: import("../../stack.ts").StackFile = {
    services: {
      db: { cmd: ["sleep", "1060"] },
      web: { cmd: ["sleep", "1061"], dependsOn: ["db"], instances: 2 },
    },
  };
  const stack = await resolveStack(validateStack(file, s.file));
  const dir = s.services.dir.path;
  const up = await upStack(stack, { dir });
  assert.equal(up.ok, true);
  assert.deepEqual(up.services.map((r) => [r.name, r.action]), [
    ["db", "started"],
    ["web.1", "started"],
    ["web.2", "started"],
  ]);
  assert.ok(up.services.every((r) => typeof r.pid === "number"));
  const again = await upStack(stack, { dir });
  assert.equal(again.changed, false);
  const down = await downStack(stack, { dir });
  assert.deepEqual(down.services.map((r) => r.name), ["web.2", "web.1", "db"]);
  // a program that is not there fails that service only; a bad option is a StackError
  const missing = await resolveStack(validateStack({
    services: { a: { cmd: ["/nonexistent/prog"] }, b: { cmd: ["sleep", "1062"] } },
  }, s.file));
  const r = await upStack(missing, { dir });
  assert.equal(r.ok, false);
  assert.equal(r.services.find((x) => x.name === "a")?.action, "failed");
  assert.equal(r.services.find((x) => x.name === "b")?.action, "started");
  await downStack(missing, { dir });
  try {
    validateStack({ services: { a: { cmd: "x", restartDelay: "soon" } } }, s.file);
    assert.fail("accepted a bad duration");
  } catch (err) {
    assert.ok(err instanceof StackError);
    assert.equal(err.path, "services.a.restartDelay");
  }
});

Deno.test("restart of a declared service keeps what it was started with and says when the file differs", async () => {
  await using s = new Stack();
  s.write({ web: { cmd: sleeper(70), env: { A: "1" } } });
  assert.equal((await s.up()).code, 0);
  const same = await s.services.cli(["restart", "web"]);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stderr, /note:/);
  s.write({ web: { cmd: sleeper(70), env: { A: "2" } } });
  const r = await s.services.cli(["restart", "web"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: .*pidkit\.jsonc declares it differently now; .*pidkit up -c /);
  const up = await s.up();
  assert.match(
    up.stdout,
    /^restarted web \(pid \d+\): changed: env \(A\)$/m,
    "the restart kept the origin",
  );
});
