/**
 * A real Prometheus server (Debian's `prometheus`) scrapes a live
 * supervisor's `--http` `/metrics`: running services are up, a stopped one
 * goes to 0, restarts count up, queried through Prometheus's HTTP API.
 * Skipped, with the reason, where the program is missing.
 */
import assert from "node:assert/strict";
import { hasProgram, killQuietly, Reaper, tempDir } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { ForegroundSupervisor, freePort } from "../http/http_fixture.ts";

const missing = hasProgram("prometheus")
  ? undefined
  : "prometheus is not installed (Debian package prometheus; .ci/run installs it as root)";
if (missing) console.log(`prometheus_test skipped: ${missing}`);

/** One instant query's single value, or undefined when it has no sample. */
async function query(port: number, promql: string): Promise<number | undefined> {
  const url = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const j = await r.json();
    const result = j?.data?.result;
    if (!Array.isArray(result) || result.length === 0) return undefined;
    return Number(result[0].value[1]);
  } catch {
    return undefined; // not up yet
  }
}

/** Wait until `promql` gives a value that `ok` accepts; that value. */
async function until(
  port: number,
  promql: string,
  ok: (v: number) => boolean,
  what: string,
): Promise<number> {
  const deadline = Date.now() + 120_000;
  let last: number | undefined;
  for (;;) {
    last = await query(port, promql);
    if (last !== undefined && ok(last)) return last;
    assert.ok(Date.now() < deadline, `${what}: ${promql} is ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

Deno.test({
  name: "prometheus scrapes supervise --http: up, a stop goes to 0, restarts count up",
  ignore: missing !== undefined,
  async fn() {
    await using svc = new Services();
    await using tmp = tempDir("pidkit-prom-");
    await using reaper = new Reaper();
    const port = freePort();
    await using sup = new ForegroundSupervisor(svc, ["--http", `127.0.0.1:${port}`]);
    await sup.waitFor(/serving http:/);
    const web = uniqueName("web");
    const flaky = uniqueName("flaky");
    await svc.start(web, [], ["sleep", "300"]);
    await svc.start(flaky, ["--restart", "always", "--restart-delay", "100ms"], [
      "sh",
      "-c",
      "sleep 0.5; exit 1",
    ]);

    Deno.writeTextFileSync(
      tmp.join("prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: pidkit",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${port}"]`,
        "",
      ].join("\n"),
    );
    const promPort = freePort();
    const log = Deno.openSync(tmp.join("prometheus.log"), { write: true, create: true });
    const prom = reaper.spawn([
      "prometheus",
      `--config.file=${tmp.join("prometheus.yml")}`,
      `--storage.tsdb.path=${tmp.join("data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { stdout: "null", stderr: "piped", cwd: tmp.path });
    const logged = prom.stderr.pipeTo(log.writable).catch(() => {});
    try {
      // The target scraped and healthy.
      await until(promPort, `up{job="pidkit"}`, (v) => v === 1, "target up");
      await until(promPort, `pidkit_service_up{service="${web}"}`, (v) => v === 1, "web up");
      assert.equal(await query(promPort, `pidkit_supervisor_up`), 1);
      // Restarts count up, scrape after scrape.
      const first = await until(
        promPort,
        `pidkit_service_restarts_total{service="${flaky}"}`,
        (v) => v >= 1,
        "flaky restarted",
      );
      await until(
        promPort,
        `pidkit_service_restarts_total{service="${flaky}"}`,
        (v) => v > first,
        "restarts count up",
      );
      // A stopped service goes to 0.
      const stop = await svc.cli(["stop", web]);
      assert.equal(stop.code, 0, stop.stderr);
      await until(promPort, `pidkit_service_up{service="${web}"}`, (v) => v === 0, "web down");
      assert.equal(await query(promPort, `pidkit_service_ready{service="${web}"}`), 0);
    } catch (err) {
      console.error(Deno.readTextFileSync(tmp.join("prometheus.log")).slice(-2000));
      throw err;
    } finally {
      killQuietly(prom.pid, "SIGTERM");
      const timer = setTimeout(() => killQuietly(-prom.pid), 30_000);
      await prom.status;
      clearTimeout(timer);
      await logged;
      try {
        log.close();
      } catch { /* closed by the pipe */ }
    }
  },
});
