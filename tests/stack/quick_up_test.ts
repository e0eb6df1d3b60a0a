/**
 * `up` with nothing to do takes the short way (src/stack/quick_up.ts): a
 * complete `up` leaves a stamp; a later `up` of the same text, env files
 * and records answers from it, exactly as the long way would. Anything
 * changed (an env file's content, a service stopped by hand, a service of
 * an earlier version of the file still running, `down`) goes the long way.
 */
import assert from "node:assert/strict";
import { quickUp } from "../../src/stack/quick_up.ts";
import { readServiceRecord } from "../../src/service/model/service_record.ts";
import { tempDir } from "../_util/helpers.ts";
import { Services } from "../_util/service_dir.ts";

class Stack implements AsyncDisposable {
  readonly services = new Services();
  readonly home = tempDir("pidkit-quick-");
  readonly file = this.home.join("pidkit.jsonc");

  async write(services: Record<string, unknown>): Promise<void> {
    // a comment: the short way reads JSONC too
    await Deno.writeTextFile(this.file, `// test\n${JSON.stringify({ services }, null, 2)}`);
  }

  up(...args: string[]) {
    return this.services.cli(["up", "-c", this.file, ...args]);
  }

  quick() {
    return quickUp({ file: this.file, dir: this.services.dir.path });
  }

  async stamps(): Promise<string[]> {
    const all = await Array.fromAsync(Deno.readDir(this.services.dir.path));
    return all.map((e) => e.name).filter((n) => n.endsWith(".up"));
  }

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

const sleeper = (n: number) => ["sleep", String(2000 + n)];

Deno.test("a second up takes the short way and answers as the long way does", async () => {
  await using s = new Stack();
  await Deno.writeTextFile(s.home.join("app.env"), "TOKEN=a\n");
  await s.write({
    db: { cmd: sleeper(1) },
    web: { cmd: sleeper(2), dependsOn: ["db"], envFile: "app.env", instances: 2 },
  });
  assert.equal(await s.quick(), undefined, "no stamp before the first up");
  const first = await s.up();
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.equal((await s.stamps()).length, 1);
  const quick = await s.quick();
  assert.ok(quick, "the stamp matches");
  assert.deepEqual(quick.services.map((r) => [r.name, r.action]), [
    ["db", "unchanged"],
    ["web.1", "unchanged"],
    ["web.2", "unchanged"],
  ]);
  assert.equal(quick.services[0].pid, await s.pid("db"));

  const short = await s.up();
  const shortJson = await s.up("--json");
  for (const stamp of await s.stamps()) await Deno.remove(s.services.dir.join(stamp));
  const long = await s.up();
  const longJson = await s.up("--json"); // the long way wrote the stamp again: short
  await Deno.remove(s.services.dir.join((await s.stamps())[0]));
  const longJson2 = await s.up("--json");
  assert.equal(short.code, 0);
  assert.equal(short.stdout, long.stdout);
  assert.match(short.stdout, /^nothing to do: 3 unchanged/m);
  assert.deepEqual(JSON.parse(shortJson.stdout), JSON.parse(longJson2.stdout));
  assert.deepEqual(JSON.parse(longJson.stdout), JSON.parse(longJson2.stdout));
});

Deno.test("anything changed goes the long way", async () => {
  await using s = new Stack();
  await Deno.writeTextFile(s.home.join("app.env"), "TOKEN=a\n");
  const v1 = { db: { cmd: sleeper(11) }, web: { cmd: sleeper(12), envFile: "app.env" } };
  await s.write(v1);
  assert.equal((await s.up()).code, 0);
  assert.ok(await s.quick());

  // another up or down at work (it holds the lock): the long way, which waits for it
  const busy = await Deno.open(s.services.dir.join("stack.lock"), { read: true, write: true });
  try {
    await busy.lock(true);
    assert.equal(await s.quick(), undefined);
  } finally {
    busy.close();
  }
  assert.ok(await s.quick());

  // an env file's content: the text of the declaration is the same
  await Deno.writeTextFile(s.home.join("app.env"), "TOKEN=b\n");
  assert.equal(await s.quick(), undefined);
  const edited = await s.up();
  assert.match(edited.stdout, /^restarted web \(pid \d+\): changed: env \(TOKEN\)$/m);
  assert.ok(await s.quick());

  // a service stopped by hand
  assert.equal((await s.services.cli(["stop", "db"])).code, 0);
  assert.equal(await s.quick(), undefined);
  assert.match((await s.up()).stdout, /^started db/m);
  assert.ok(await s.quick());

  // an earlier version's service still runs: v2 adds cron, back to v1 stops it
  await s.write({ ...v1, cron: { cmd: sleeper(13) } });
  assert.match((await s.up()).stdout, /^started cron/m);
  await s.write(v1);
  assert.equal(await s.quick(), undefined, "v1's stamp went with v2's up");
  assert.match((await s.up()).stdout, /^stopped cron: no longer declared$/m);
  assert.equal(await s.pid("cron"), undefined);
  assert.ok(await s.quick());

  // an up that is not complete leaves no stamp: a name held by a hand-started service
  await s.services.start("other", [], ["sleep", "2014"]);
  await s.write({ ...v1, other: { cmd: sleeper(15) } });
  const conflict = await s.up();
  assert.equal(conflict.code, 1);
  assert.deepEqual(await s.stamps(), []);
  assert.equal(await s.quick(), undefined);

  // down removes it
  await s.write(v1);
  assert.equal((await s.up()).code, 0);
  assert.equal((await s.stamps()).length, 1);
  assert.equal((await s.services.cli(["down", "-c", s.file])).code, 0);
  assert.deepEqual(await s.stamps(), []);
  assert.equal(await s.quick(), undefined);
});

Deno.test("the short way reads the file's run directory as the parser does", async () => {
  await using s = new Stack();
  const dir = JSON.stringify(s.services.dir.path);
  // "//" and "/*" inside strings, comments around the key, trailing commas
  const cmd = '["sh", "-c", "echo // not a comment, /* nor this */; exec sleep 2021"]';
  const texts = [
    `{\n  // where\n  "dir": ${dir}, /* it runs */\n  "services": { "a": { "cmd": ${cmd}, }, },\n}\n`,
    `{ "\\u0064ir": ${dir}, "services": { "a": { "cmd": ${cmd} } } }`,
  ];
  for (const text of texts) {
    await Deno.writeTextFile(s.file, text);
    const up = await s.up();
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const quick = quickUp({ file: s.file }); // no dir given: the file's
    assert.ok(quick, text);
    assert.equal(quick.dir, s.services.dir.path);
    assert.deepEqual(quick.services.map((r) => [r.name, r.action]), [["a", "unchanged"]]);
  }
  // a file the short way cannot read goes the long way, which says what is wrong
  await Deno.writeTextFile(s.file, `{ "dir": ${dir}, "services": { "a": { "cmd": ${cmd} } }`);
  assert.equal(quickUp({ file: s.file }), undefined);
  const bad = await s.up();
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /pidkit\.jsonc/);
});
