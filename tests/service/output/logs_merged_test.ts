/**
 * `pidkit logs` with several NAMEs or none: the services' logs interleaved
 * in the order the supervisor wrote the lines, `NAME | ` prefixes padded to
 * the longest name, colour only on a terminal and never with NO_COLOR,
 * `-n` per service, `--timestamps`, and `-f` picking up a service started
 * after it began.
 */
import assert from "node:assert/strict";
import { mergedServiceLogs } from "../../../service.ts";
import { LogSink } from "../../../src/service/output/log_sink.ts";
import { CLI, hasProgram, runCli, tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const enc = new TextEncoder();
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

/** Write `lines` as [service, text] pairs through stamping sinks, a few ms apart. */
async function writeLogs(dir: string, lines: [string, string][]): Promise<void> {
  const sinks = new Map<string, LogSink>();
  for (const [name, text] of lines) {
    if (!sinks.has(name)) {
      sinks.set(name, await LogSink.open(`${dir}/${name}.log`, { times: true }));
    }
    await sinks.get(name)!.write(enc.encode(`${text}\n`));
    await new Promise((r) => setTimeout(r, 3)); // another millisecond: another stamp
  }
  for (const s of sinks.values()) await s.close();
}

Deno.test("logs with no NAME: every service's lines in time order, prefixed and padded; -n per service", async () => {
  await using tmp = tempDir();
  await writeLogs(tmp.path, [
    ["web", "w1"],
    ["db", "d1"],
    ["worker", "k1"],
    ["web", "w2"],
    ["db", "d2"],
    ["web", "w3"],
  ]);
  const all = await runCli(["logs", "--dir", tmp.path]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(
    all.stdout,
    [
      "web    | w1",
      "db     | d1",
      "worker | k1",
      "web    | w2",
      "db     | d2",
      "web    | w3",
      "",
    ].join("\n"),
  );
  assert.ok(!all.stdout.includes("\x1b"), "no colour into a pipe");
  // -n per service; named services only, padded to the longest of them.
  const two = await runCli(["logs", "--dir", tmp.path, "-n", "1", "web", "db"]);
  assert.equal(two.stdout, "db  | d2\nweb | w3\n");
  // A named service without a log: said on stderr, the others still shown.
  const some = await runCli(["logs", "--dir", tmp.path, "-n", "1", "db", "nope"]);
  assert.equal(some.code, 0);
  assert.equal(some.stdout, "db   | d2\n");
  assert.match(some.stderr, /^pidkit: no log for nope: .*nope\.log does not exist\n$/);
  // None of them has one: one line, exit 1.
  const none = await runCli(["logs", "--dir", tmp.path, "nope", "nada"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^pidkit logs: no log for nope: .*; no log for nada: .*\n$/);
  assert.equal(none.stdout, "");
  // The library gives the same order.
  const items = await Array.fromAsync(mergedServiceLogs([], { dir: tmp.path, lines: 2 }));
  assert.deepEqual(
    items.map((i) => i.type === "line" ? `${i.service}:${i.text}` : i.type),
    ["db:d1", "worker:k1", "web:w2", "db:d2", "web:w3"],
  );
});

Deno.test("logs --timestamps: ISO 8601 UTC to the ms after the prefix; '-' for an unstamped line", async () => {
  await using tmp = tempDir();
  const before = new Date();
  await writeLogs(tmp.path, [["web", "hello"], ["web", "world"]]);
  const after = new Date();
  const one = await runCli(["logs", "--dir", tmp.path, "web", "--timestamps"]);
  assert.equal(one.code, 0, one.stderr);
  const m = /^(\S+) hello\n(\S+) world\n$/.exec(one.stdout);
  assert.ok(m, one.stdout);
  for (const t of [m[1], m[2]]) {
    assert.match(t, new RegExp(`^${ISO.source}$`));
    assert.ok(new Date(t) >= new Date(before.getTime() - 1) && new Date(t) <= after, t);
  }
  // Without --timestamps the log reads as it is (and `tail` sees the same).
  assert.equal((await runCli(["logs", "--dir", tmp.path, "web"])).stdout, "hello\nworld\n");
  assert.equal(await Deno.readTextFile(tmp.join("web.log")), "hello\nworld\n");
  // An old log (no side file) beside it.
  await Deno.writeTextFile(tmp.join("old.log"), "ancient\n");
  await Deno.utime(tmp.join("old.log"), new Date(1000_000), new Date(1000_000));
  const both = await runCli(["logs", "--dir", tmp.path, "--timestamps"]);
  const rows = both.stdout.split("\n");
  assert.equal(rows[0], `old | ${"-".padEnd(24)} ancient`);
  assert.match(rows[1], new RegExp(`^web \\| ${ISO.source} hello$`));
  assert.match(rows[2], new RegExp(`^web \\| ${ISO.source} world$`));
});

Deno.test("logs without stamps: interleaved by file modification time", async () => {
  await using tmp = tempDir();
  await Deno.writeTextFile(tmp.join("newer.log"), "n1\nn2\n");
  await Deno.writeTextFile(tmp.join("older.log"), "o1\no2\n");
  await Deno.utime(tmp.join("older.log"), new Date(1000_000), new Date(1000_000));
  const r = await runCli(["logs", "--dir", tmp.path]);
  assert.equal(r.stdout, "older | o1\nolder | o2\nnewer | n1\nnewer | n2\n");
});

Deno.test({
  name: "logs: the prefix is coloured on a terminal, not with NO_COLOR",
  ignore: !hasProgram("script"),
  async fn() {
    await using tmp = tempDir();
    await writeLogs(tmp.path, [["a", "x"], ["bb", "y"]]);
    const onTty = async (env: Record<string, string>) => {
      const cmd = `${Deno.execPath()} run -A --quiet ${CLI} logs --dir ${tmp.path}`;
      const out = await new Deno.Command("script", {
        args: ["-qec", cmd, "/dev/null"],
        env: { ...env, TERM: "xterm" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout).replaceAll("\r", "");
    };
    const coloured = await onTty({});
    assert.ok(coloured.includes("\x1b[36ma  |\x1b[39m x"), JSON.stringify(coloured));
    assert.ok(coloured.includes("\x1b[33mbb |\x1b[39m y"), JSON.stringify(coloured));
    const plain = await onTty({ NO_COLOR: "1" });
    assert.ok(!plain.includes("\x1b["), JSON.stringify(plain));
    assert.ok(plain.includes("a  | x\n"), JSON.stringify(plain));
  },
});

Deno.test("logs -f with no NAME follows every service, one started after it began too, across rotation", async () => {
  await using svc = new Services();
  const early = uniqueName("early");
  await svc.start(early, [], ["sh", "-c", "echo early-one; sleep 300"]);
  await waitUntil(async () => (await svc.cli(["logs", early])).stdout.includes("early-one"));
  const follower = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "logs", "-f", "-n", "5"],
    env: { PIDKIT_DIR: svc.dir.path, NO_COLOR: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  svc.pid(follower.pid);
  let out = "";
  const reader = (async () => {
    for await (const chunk of follower.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const late = uniqueName("late-and-longer");
  try {
    await waitUntil(() => out.includes("early-one"), { what: "the early service's line" });
    assert.match(out, new RegExp(`^${early} \\| early-one$`, "m"));
    await svc.start(late, ["--log-max-size", "2K", "--log-keep", "3"], [
      "sh",
      "-c",
      'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "tick $i of the late one"; sleep 0.003; done; sleep 300',
    ]);
    await waitUntil(() => out.includes("tick 300 "), {
      timeoutMs: 30_000,
      what: "the late service's last line",
    });
  } finally {
    follower.kill("SIGINT");
    await follower.status;
    await reader;
    await follower.stderr.cancel();
  }
  const ticks = [...out.matchAll(new RegExp(`^${late} \\| tick (\\d+) of the late one$`, "gm"))]
    .map((m) => Number(m[1]));
  assert.deepEqual(
    ticks,
    Array.from({ length: 300 }, (_, i) => i + 1),
    "every line once, in order",
  );
  assert.equal((await svc.cli(["stop", early])).code, 0);
  assert.equal((await svc.cli(["stop", late])).code, 0);
});
