/**
 * The supervisor's collection once quiet (src/service/supervisor/_quiet_gc.ts):
 * it runs with `--expose-gc`, collects after a burst, and its services
 * inherit none of its V8 flags (nor those of an earlier pidkit's unit).
 * (A service `pidkit start` starts gets the environment of that command.)
 * It collects after a burst of HTTP requests too (scrapes).
 */
import assert from "node:assert/strict";
import {
  EARLIER_SUPERVISOR_V8_FLAGS,
  SUPERVISOR_V8_FLAGS,
} from "../../../src/service/control/supervisor_protocol.ts";
import {
  collectAfterRequest,
  collectWhenQuiet,
  QUIET_GC_MS,
  QUIET_GC_REQUESTS,
} from "../../../src/service/supervisor/_quiet_gc.ts";
import { readServiceRecord } from "../../../src/service/model/service_record.ts";
import { CLI, ROOT, tempDir, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { freePort, get } from "../http/http_fixture.ts";

/** The environment `pid` was started with (what exec gave it), as NAME=VALUE lines. */
function startEnv(pid: number): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
}

/** A service that writes its environment to `file`, then sleeps; the file's lines. */
async function serviceEnv(s: Services, name: string): Promise<string[]> {
  const file = s.dir.join(`${name}.env-seen`);
  await s.start(name, ["--ready-file", file], [
    "sh",
    "-c",
    `env > "${file}.tmp" && mv "${file}.tmp" "${file}" && exec sleep 1000`,
  ]);
  return (await Deno.readTextFile(file)).split("\n");
}

Deno.test("quiet gc: without --expose-gc (this test process) it does nothing, no timer", () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  collectWhenQuiet(); // the test's sanitizer fails on a timer left behind
  for (let i = 0; i <= QUIET_GC_REQUESTS; i++) {
    assert.equal(collectAfterRequest({ stream: i % 2 === 0 }), false);
  }
});

Deno.test("quiet gc: HTTP requests ask for a collection from the QUIET_GC_REQUESTS-th since the last one on, a closed stream at once", async () => {
  const script = `
    import { collectAfterRequest } from ${
    JSON.stringify(`${ROOT}/src/service/supervisor/_quiet_gc.ts`)
  };
    let calls = 0;
    const real = globalThis.gc;
    globalThis.gc = (o) => { calls++; real(o); };
    const asked = [];
    for (let i = 0; i < ${
    QUIET_GC_REQUESTS + 2
  }; i++) asked.push(collectAfterRequest({ stream: false }));
    const t0 = Date.now();
    while (calls === 0 && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 50));
    const after = collectAfterRequest({ stream: false }); // counted afresh after the collection
    const stream = collectAfterRequest({ stream: true }); // an event stream closed: at once
    console.log(JSON.stringify({ calls, asked, after, stream }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env: { DENO_V8_FLAGS: SUPERVISOR_V8_FLAGS },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const r = JSON.parse(dec.decode(out.stdout));
  const expected = Array.from(
    { length: QUIET_GC_REQUESTS + 2 },
    (_, i) => i >= QUIET_GC_REQUESTS - 1,
  );
  assert.deepEqual(r.asked, expected, "the first QUIET_GC_REQUESTS - 1 ask for none");
  assert.equal(r.calls, 1, "one collection for the burst");
  assert.equal(r.after, false, "the count starts again after a collection");
  assert.equal(r.stream, true, "an event stream's end asks for one at once");
});

Deno.test("quiet gc: with --expose-gc, one full collection QUIET_GC_MS after the last call", async () => {
  const script = `
    import { collectWhenQuiet } from ${
    JSON.stringify(`${ROOT}/src/service/supervisor/_quiet_gc.ts`)
  };
    let calls = 0;
    const real = globalThis.gc;
    globalThis.gc = (o) => { calls++; real(o); };
    let junk = Array.from({ length: 200000 }, (_, i) => ({ i, s: "x" + i }));
    junk = undefined;
    const before = Deno.memoryUsage().heapUsed;
    collectWhenQuiet();
    collectWhenQuiet(); // put off again: still one collection
    const t0 = Date.now();
    while (calls === 0 && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    const after = Deno.memoryUsage().heapUsed;
    console.log(JSON.stringify({ calls, waited: Date.now() - t0, before, after }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env: { DENO_V8_FLAGS: SUPERVISOR_V8_FLAGS },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const r = JSON.parse(dec.decode(out.stdout));
  assert.equal(r.calls, 1, "one collection for two calls");
  assert.ok(r.waited >= QUIET_GC_MS - 100, `collected after ${r.waited} ms`);
  assert.ok(r.after < r.before, `heapUsed ${r.before} -> ${r.after}: the garbage was collected`);
});

Deno.test("quiet gc: a background supervisor runs with --expose-gc; its services get no V8 flags", async () => {
  await using s = new Services();
  const name = uniqueName("gcflags");
  const env = await serviceEnv(s, name);
  assert.ok(!env.some((l) => l.startsWith("DENO_V8_FLAGS=")), env.join("\n"));
  const sup = s.supervisorPid();
  assert.ok(sup !== undefined);
  assert.ok(startEnv(sup).includes(`DENO_V8_FLAGS=${SUPERVISOR_V8_FLAGS}`));
  assert.ok(SUPERVISOR_V8_FLAGS.split(",").includes("--expose-gc"));
  await waitUntil(() => s.cli(["stop", name]).then((r) => r.code === 0), {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `stop ${name}`,
  });
});

for (const flags of [SUPERVISOR_V8_FLAGS, EARLIER_SUPERVISOR_V8_FLAGS]) {
  Deno.test(`quiet gc: supervise --config under DENO_V8_FLAGS=${flags} (a unit's): its services get none`, async () => {
    await using s = new Services();
    const home = tempDir("pidkit-gc-");
    try {
      const file = home.join("pidkit.jsonc");
      await Deno.writeTextFile(
        file,
        JSON.stringify({ services: { a: { cmd: ["sleep", "1000"] } } }),
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", CLI, "supervise", "--config", file],
        env: { PIDKIT_DIR: s.dir.path, DENO_V8_FLAGS: flags },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      s.pid(child.pid);
      try {
        let leader = 0;
        await waitUntil(async () => {
          const r = await readServiceRecord(s.dir.join("a.json"));
          if (r) s.record(r);
          leader = r?.phase === "running" && r.tree ? r.tree.pid : 0;
          return leader > 0;
        }, { timeoutMs: 60_000, intervalMs: 50, what: "a running under supervise --config" });
        assert.ok(startEnv(child.pid).includes(`DENO_V8_FLAGS=${flags}`));
        assert.ok(!startEnv(leader).some((l) => l.startsWith("DENO_V8_FLAGS=")));
      } finally {
        Deno.kill(child.pid, "SIGTERM");
        await child.status;
      }
    } finally {
      home[Symbol.dispose]();
    }
  });
}

Deno.test("quiet gc: a supervisor serving HTTP collects after a burst of requests, and as an event stream closes", async () => {
  await using s = new Services();
  const port = freePort();
  // The supervisor in a process of its own whose gc() says when it runs.
  const script = `
    import { superviseDir } from ${
    JSON.stringify(`${ROOT}/src/service/supervisor/dir_supervisor.ts`)
  };
    let calls = 0;
    const real = globalThis.gc;
    globalThis.gc = (o) => { real(o); console.error("quiet gc " + ++calls); };
    Deno.exit(await superviseDir({
      dir: ${JSON.stringify(s.dir.path)},
      foreground: true,
      http: { hostname: "127.0.0.1", port: ${port} },
    }));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env: { DENO_V8_FLAGS: SUPERVISOR_V8_FLAGS },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  s.pid(child.pid);
  let stderr = "";
  const reading = (async () => {
    for await (const c of child.stderr) stderr += new TextDecoder().decode(c);
  })();
  try {
    // The adoption's collection first (nothing else asks for one after it).
    await waitUntil(() => /quiet gc 1\n/.test(stderr), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `the adoption's collection (stderr: ${stderr})`,
    });
    // A burst (a steady scraper's single scrapes ask for none: see above).
    for (let i = 1; i < QUIET_GC_REQUESTS; i++) {
      assert.equal((await get(port, "/metrics")).status, 200);
    }
    assert.equal((await get(port, "/api/services")).status, 200);
    await waitUntil(() => /quiet gc 2\n/.test(stderr), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `a collection after the requests (stderr: ${stderr})`,
    });
    // The status page's event stream: a collection once it closes.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
      let text = "";
      const buf = new Uint8Array(65536);
      while (!text.includes("event: services\n")) {
        const n = await conn.read(buf);
        assert.ok(n !== null, `the stream ended early: ${text}`);
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      conn.close();
    }
    await waitUntil(() => /quiet gc 3\n/.test(stderr), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `a collection after the event stream closed (stderr: ${stderr})`,
    });
  } finally {
    Deno.kill(child.pid, "SIGTERM");
    await child.status;
    await reading;
  }
});
