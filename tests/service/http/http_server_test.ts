/**
 * The supervisor's read-only HTTP server (`supervise --http`, `start
 * --http`) on real sockets: its routes, what it refuses, bad addresses,
 * and clients that connect and send nothing or dribble (they never hold
 * up the supervisor nor other clients).
 */
import assert from "node:assert/strict";
import { exists, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { HttpServer } from "../../../src/service/http/http_server.ts";
import { ForegroundSupervisor, freePort, get, rawRequest } from "./http_fixture.ts";

Deno.test("supervise --http: routes, 405, 404, query junk, header cap; no environment shown", async () => {
  await using svc = new Services();
  const port = freePort();
  await using sup = new ForegroundSupervisor(svc, ["--http", `127.0.0.1:${port}`]);
  await sup.waitFor(/serving http:\/\/127\.0\.0\.1:\d+\/ .* on 127\.0\.0\.1 only/);
  const web = uniqueName("web");
  await svc.start(web, ["--env", "SECRET_TOKEN=hunter2-secret"], ["sleep", "300"]);

  const list = await get(port, "/api/services?x=%%%&&=;'\"<>");
  assert.equal(list.status, 200);
  const parsed = JSON.parse(list.body);
  assert.equal(parsed.dir, svc.dir.path);
  // The shape of `pidkit list --json`, key for key.
  const cli = JSON.parse((await svc.cli(["list", "--json"])).stdout);
  assert.deepEqual(Object.keys(parsed).sort(), Object.keys(cli).sort());
  assert.deepEqual(Object.keys(parsed.services[0]).sort(), Object.keys(cli.services[0]).sort());
  assert.equal(parsed.services[0].name, web);
  assert.equal(parsed.services[0].state, "running");
  const metrics = await get(port, "/metrics?junk[]=1");
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, new RegExp(`pidkit_service_up\\{service="${web}"\\} 1`));
  const page = await get(port, "/");
  assert.equal(page.status, 200);
  assert.match(page.body, /^<!doctype html>/);
  assert.doesNotMatch(page.body, /<(script|link|img)[^>]+(src|href)=/i, "no external asset");
  const logs = await get(port, `/api/logs/${web}`);
  assert.equal(logs.status, 200);
  assert.ok(JSON.parse(logs.body).lines.length >= 1);
  for (const body of [list.body, metrics.body, page.body, logs.body]) {
    assert.ok(!body.includes("hunter2-secret"), "a service's environment is never shown");
    assert.ok(!body.includes("PIDKIT_SERVICE"), "nor pidkit's marker");
  }
  // Read-only: every other method is refused, and nothing is stopped.
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) {
    const r = await rawRequest(port, `${method} /api/services HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 405 /, method);
    assert.match(r, /\r\nAllow: GET\r\n/);
  }
  assert.equal((await get(port, "/api/stop")).status, 404);
  assert.equal((await get(port, "/api/logs/..%2F..%2Fetc%2Fpasswd")).status, 404);
  assert.equal((await get(port, "/api/logs/nope")).status, 404);
  assert.match(await rawRequest(port, "garbage\r\n\r\n"), /^HTTP\/1\.1 400 /);
  const big = `GET / HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`;
  assert.match(await rawRequest(port, big), /^HTTP\/1\.1 431 /);
  assert.equal((await svc.cli(["status", web])).code, 0, "still running");
});

Deno.test("--http: a bad address exits 2, a port in use exits 1, one line, nothing created", async () => {
  await using svc = new Services();
  const dir = svc.dir.join("never");
  const bad = await svc.cli(["supervise", "--dir", dir, "--http", "127.0.0.1:99999"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /bad --http '127\.0\.0\.1:99999'/);
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const used = await svc.cli(["supervise", "--dir", dir, "--http", `:${port}`]);
    assert.equal(used.code, 1, used.stderr);
    assert.equal(
      used.stderr.trim(),
      `pidkit supervise: cannot serve http on 127.0.0.1:${port}: the port is in use`,
    );
    const start = await svc.cli([
      "start",
      "--dir",
      dir,
      "--http",
      `:${port}`,
      "x",
      "--",
      "sleep",
      "300",
    ]);
    assert.equal(start.code, 1, start.stderr);
    assert.equal(start.stderr.trim().split("\n").length, 1, start.stderr);
    assert.ok(!exists(`${dir}/x.pid`) && !exists(`${dir}/supervisor.http`), "nothing started");
  } finally {
    busy.close();
  }
  assert.ok(!exists(`${dir}/supervisor.lock`));
});

Deno.test("start --http: a background supervisor serves it, records it, and the next one serves it too", async () => {
  await using svc = new Services();
  const port = freePort();
  const a = uniqueName("a");
  const r = await svc.cli(["start", "--http", `:${port}`, a, "--", "sleep", "300"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`serving http://127\\.0\\.0\\.1:${port}/`));
  await svc.state(a);
  assert.equal(await Deno.readTextFile(svc.dir.join("supervisor.http")), `127.0.0.1:${port}\n`);
  assert.match(
    (await get(port, "/metrics")).body,
    new RegExp(`pidkit_service_up\\{service="${a}"\\} 1`),
  );
  // A running supervisor asked for a port in use: one line, exit 1; nothing started, the old address kept.
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const taken = (busy.addr as Deno.NetAddr).port;
    const c = uniqueName("c");
    const r2 = await svc.cli(["start", "--http", `:${taken}`, c, "--", "sleep", "300"]);
    assert.equal(r2.code, 1, r2.stderr);
    assert.equal(
      r2.stderr.trim(),
      `pidkit start: cannot serve http on 127.0.0.1:${taken}: the port is in use`,
    );
    assert.ok(!exists(svc.dir.join(`${c}.json`)), "nothing started");
    assert.equal(await Deno.readTextFile(svc.dir.join("supervisor.http")), `127.0.0.1:${port}\n`);
    assert.equal((await get(port, "/metrics")).status, 200);
  } finally {
    busy.close();
  }
  // The supervisor exits with its last service; the next one serves the recorded address.
  const first = svc.supervisorPid()!;
  assert.equal((await svc.cli(["stop", a])).code, 0);
  await waitUntil(() => !exists(`/proc/${first}`), { timeoutMs: 30_000, what: "supervisor exit" });
  const b = uniqueName("b");
  await svc.start(b, [], ["sleep", "300"]);
  assert.match(
    (await get(port, "/metrics")).body,
    new RegExp(`pidkit_service_up\\{service="${b}"\\} 1`),
  );
  assert.match(await Deno.readTextFile(svc.dir.join("supervisor.journal")), /serving http:\/\//);
});

Deno.test("500 idle connections and a slow-loris client: scrapes answered, services start and stop, idlers dropped", async () => {
  await using svc = new Services();
  const port = freePort();
  await using sup = new ForegroundSupervisor(svc, ["--http", `127.0.0.1:${port}`]);
  await sup.waitFor(/serving http:/);
  const idle: Deno.TcpConn[] = [];
  const closedAt: number[] = [];
  const t0 = Date.now();
  try {
    for (let i = 0; i < 500; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      idle.push(c);
    }
    // Each idler: when does the server drop it?
    const dropped = idle.map((c) =>
      c.read(new Uint8Array(16)).catch(() => null).then(() => closedAt.push(Date.now() - t0))
    );
    // A slow-loris client: a byte of its request every 200 ms.
    const loris = await Deno.connect({ hostname: "127.0.0.1", port });
    let lorisGone = false;
    const dribble = (async () => {
      const req = new TextEncoder().encode("GET /metrics HTTP/1.1\r\nX-Slow: " + "a".repeat(200));
      for (const byte of req) {
        try {
          await loris.write(new Uint8Array([byte]));
        } catch {
          break;
        }
        if (lorisGone) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const lorisDone = loris.read(new Uint8Array(64)).catch(() => null).then(() => lorisGone = true);

    // Meanwhile services start and stop as usual, and scrapes are answered.
    for (let i = 0; i < 3; i++) {
      const name = uniqueName("busy");
      await svc.start(name, [], ["sleep", "300"]);
      const m = await get(port, "/metrics");
      assert.equal(m.status, 200);
      assert.match(m.body, new RegExp(`pidkit_service_up\\{service="${name}"\\} 1`));
      const stop = await svc.cli(["stop", name]);
      assert.equal(stop.code, 0, stop.stderr);
    }
    // Every idler and the slow one are dropped (header timeout 5 s), none lingers.
    await Promise.race([
      Promise.all([...dropped, lorisDone]),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("idle clients not dropped")), 60_000)
      ),
    ]);
    assert.equal(closedAt.length, 500);
    assert.ok(lorisGone);
    await dribble;
    loris.close();
  } finally {
    for (const c of idle) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  }
  // And it still answers.
  assert.equal((await get(port, "/api/services")).status, 200);
});

Deno.test("HttpServer: onRequestDone once per request after its answer; an event stream once it closes, not per event", async () => {
  let done = 0;
  const streams: boolean[] = [];
  let push: ((chunk: string) => Promise<boolean>) | undefined;
  const server = HttpServer.listen(
    { hostname: "127.0.0.1", port: 0 },
    (request) =>
      request.path === "/events"
        ? { stream: (send) => void (push = send) }
        : { status: 200, type: "text/plain", body: `done before: ${done}\n` },
    {},
    {
      onRequestDone: ({ stream }) => {
        streams.push(stream);
        done++;
      },
    },
  );
  const port = server.address.port;
  let conn: Deno.TcpConn | undefined;
  try {
    assert.equal((await get(port, "/metrics")).body, "done before: 0\n");
    await waitUntil(() => done === 1, { what: "onRequestDone after /metrics" });
    assert.equal((await get(port, "/api/services")).body, "done before: 1\n");
    // (Without headers: an HTTP/1.0 client's, `printf ... | nc`'s.)
    assert.match(await rawRequest(port, "POST / HTTP/1.0\r\n\r\n"), /^HTTP\/1\.1 405 /);
    await waitUntil(() => done === 3, { what: "onRequestDone after /api/services and a 405" });
    // An event stream: many events, no call; one when its client goes.
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("GET /events HTTP/1.1\r\n\r\n"));
    await waitUntil(() => push !== undefined, { timeoutMs: 60_000, what: "the stream opened" });
    for (let i = 0; i < 50; i++) assert.ok(await push!(`data: ${i}\n\n`));
    let text = "";
    const buf = new Uint8Array(65536);
    while (!text.includes("data: 49\n")) {
      const n = await conn.read(buf);
      assert.ok(n !== null, `the stream ended early: ${text}`);
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.equal(done, 3, "no call per event, nor while the stream is open");
    conn.close();
    conn = undefined;
    await waitUntil(() => done === 4, {
      timeoutMs: 60_000,
      what: "onRequestDone as the stream closed",
    });
    assert.deepEqual(streams, [false, false, false, true], "which one was a stream");
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
    await server.close();
  }
});
