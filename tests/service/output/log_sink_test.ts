/**
 * The log's `[pidkit]` lines stand between whole lines of the service: a
 * line waits for the service's unfinished one (or a short bound), the
 * started line comes before the service's output, and an adopted line
 * never splits a line the old supervisor left unfinished.
 */
import assert from "node:assert/strict";
import { LINE_WAIT_MS, LogSink } from "../../../src/service/output/log_sink.ts";
import { alive, killQuietly, tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";

const enc = new TextEncoder();
const readText = (path: string) => Deno.readTextFileSync(path);
const writeText = (path: string, text: string, options?: Deno.WriteFileOptions) =>
  Deno.writeTextFileSync(path, text, options);
const stamp = /\[pidkit\] \S+ /g;

Deno.test("LogSink: a [pidkit] line waits for the service's line to end; the service's bytes never wait", async () => {
  using dir = tempDir();
  const path = dir.join("a.log");
  const sink = await LogSink.open(path);
  await sink.write(enc.encode("half a "));
  const held = sink.line("in between");
  await sink.write(enc.encode("line"));
  assert.equal(readText(path), "half a line", "the service's bytes are in the file");
  await sink.write(enc.encode("\nnext "));
  await held;
  assert.equal(
    readText(path).replace(stamp, "[pidkit] "),
    "half a line\n[pidkit] in between\nnext ",
  );
  // No newline within the bound: the line is ended for it.
  const t0 = Date.now();
  await sink.line("bounded");
  assert.ok(Date.now() - t0 >= LINE_WAIT_MS - 50);
  await sink.write(enc.encode("rest\n"));
  await sink.close();
  assert.equal(
    readText(path).replace(stamp, "[pidkit] "),
    "half a line\n[pidkit] in between\nnext \n[pidkit] bounded\nrest\n",
  );
  // A log that ends mid-line when opened (a killed supervisor's service) goes on the same way.
  writeText(path, "unfinished", { append: true });
  const reopened = await LogSink.open(path);
  const waits = reopened.line("adopted");
  await reopened.write(enc.encode(" and finished\n"));
  await waits;
  await reopened.close();
  assert.match(readText(path), /\nunfinished and finished\n\[pidkit\] \S+ adopted\n$/);
});

Deno.test("the started line comes before the service's output, on every (re)start", async () => {
  await using svc = new Services();
  const name = uniqueName("first");
  const r = await svc.cli([
    "start",
    name,
    "--restart",
    "on-failure",
    "--max-restarts",
    "8",
    "--restart-delay",
    "10ms",
    "--",
    "sh",
    "-c",
    "echo early-$$; sleep 0.2; exit 3",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const log = svc.dir.join(`${name}.log`);
  await waitUntil(() => /giving up/.test(readText(log)), {
    timeoutMs: 60_000,
    what: "the restarts to end",
  });
  const lines = readText(log).trimEnd().split("\n");
  let starts = 0;
  for (const [i, line] of lines.entries()) {
    if (/^\[pidkit\] \S+ started /.test(line)) starts++;
    const m = /^early-(\d+)$/.exec(line);
    if (!m) continue;
    assert.match(
      lines[i - 1] ?? "",
      new RegExp(`started ${name} \\(pid ${m[1]}\\)`),
      lines.join("\n"),
    );
  }
  assert.ok(starts >= 2, `restarted: ${starts} starts`);
});

Deno.test("the adopted line stands on a line of its own when the old supervisor left one unfinished", async () => {
  await using svc = new Services();
  const name = uniqueName("split");
  const go = svc.dir.join("go");
  const first = await svc.start(name, [], [
    "sh",
    "-c",
    `printf 'part-one '; while [ ! -e '${go}' ]; do sleep 0.02; done; echo part-two; exec sleep 600`,
  ]);
  const log = svc.dir.join(`${name}.log`);
  await waitUntil(() => /^part-one /m.test(readText(log)), { what: "part one" });
  killQuietly(first.supervisor.pid, "SIGKILL");
  await waitUntil(() => !alive(first.supervisor.pid), { what: "the supervisor to die" });
  await svc.cli(["start", name, "--", "true"]);
  await svc.state(name);
  // The line stays unfinished until the adopted line is in: it waits its
  // bound (LINE_WAIT_MS), then ends the service's line for it.
  await waitUntil(() => /adopted/.test(readText(log)), { what: "the adopted line" });
  writeText(go, "");
  await waitUntil(() => /^part-two$/m.test(readText(log)), { what: "part two" });
  const text = readText(log);
  assert.match(text, /^part-one \n\[pidkit\] \S+ adopted .*\npart-two\n/m, text);
  assert.equal((await svc.cli(["stop", name])).code, 0);
});
