/**
 * `pidkit metrics`: the Prometheus text of a run directory with real
 * services, checked by value and by Debian's `promtool check metrics`.
 */
import assert from "node:assert/strict";
import { hasProgram, waitUntil } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { escapeLabel, metricsText } from "../../../src/service/metrics/metrics_text.ts";

/** `name{labels} value` lines of an exposition, as a map. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

Deno.test("metricsText: label values escaped, no supervisor says so", () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = metricsText({ services: [], details: [], supervisor: null });
  assert.equal(samples(text).get("pidkit_supervisor_up"), 0);
  assert.equal(samples(text).get("pidkit_services"), 0);
});

Deno.test("pidkit metrics: up, ready, restarts, last exit of real services; promtool accepts it", async () => {
  await using svc = new Services();
  const up = uniqueName("up");
  const flaky = uniqueName("flaky");
  await svc.start(up, [], ["sleep", "300"]);
  await svc.start(flaky, [
    "--restart",
    "always",
    "--restart-delay",
    "50ms",
    "--ready-after",
    "10ms",
  ], [
    "sh",
    "-c",
    "sleep 0.2; exit 3",
  ]);
  await waitUntil(async () => (await svc.state(flaky)).restarts >= 2, {
    timeoutMs: 30_000,
    what: "two restarts",
  });
  const r = await svc.cli(["metrics"]);
  assert.equal(r.code, 0, r.stderr);
  const m = samples(r.stdout);
  assert.equal(m.get(`pidkit_service_up{service="${up}"}`), 1);
  assert.equal(m.get(`pidkit_service_ready{service="${up}"}`), 1);
  assert.equal(m.get(`pidkit_service_processes{service="${up}"}`), 1);
  assert.ok(m.get(`pidkit_service_memory_bytes{service="${up}"}`)! > 0);
  assert.ok(m.get(`pidkit_service_restarts_total{service="${flaky}"}`)! >= 2);
  assert.equal(m.get(`pidkit_service_last_exit_code{service="${flaky}"}`), 3);
  assert.equal(m.get(`pidkit_service_state{service="${up}",state="running"}`), 1);
  assert.equal(m.get("pidkit_supervisor_up"), 1);
  assert.ok(m.get("pidkit_supervisor_memory_bytes")! > 1 << 20);
  assert.equal(m.get("pidkit_supervisor_adoptions_total"), 0);
  const start = m.get(`pidkit_service_start_time_seconds{service="${up}"}`)!;
  assert.ok(Math.abs(start - Date.now() / 1000) < 120, `start time ${start}`);
  assert.ok(!r.stdout.includes("PIDKIT_SERVICE"), "no environment in the metrics");

  const stop = await svc.cli(["stop", up]);
  assert.equal(stop.code, 0, stop.stderr);
  const after = samples((await svc.cli(["metrics"])).stdout);
  assert.equal(after.get(`pidkit_service_up{service="${up}"}`), 0);
  assert.equal(after.has(`pidkit_service_start_time_seconds{service="${up}"}`), false);

  if (!hasProgram("promtool")) {
    console.log("promtool check skipped: promtool is not installed (Debian package prometheus)");
    return;
  }
  const check = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = check.stdin.getWriter();
  await w.write(new TextEncoder().encode(r.stdout));
  await w.close();
  const out = await check.output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
  assert.equal(dec.decode(out.stdout) + dec.decode(out.stderr), "", "no lint complaint");
});
