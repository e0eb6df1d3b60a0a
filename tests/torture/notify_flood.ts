/**
 * notify-flood: a service floods its notify socket (hundreds of thousands
 * of STATUS= datagrams) while a process outside its tree sends READY=1,
 * STATUS= texts, junk and oversized datagrams to the same socket. The
 * supervisor must stay responsive (`status` answers, `stop` stops), never
 * believe the outsider, and leave nothing behind.
 *
 * @module
 */

import { FIXTURES, startTimeOf, tempDir } from "../_util/helpers.ts";
import { libc } from "../../src/os/libc.ts";
import { sendDatagram } from "../_util/notify_client.ts";
import { readServiceRecordSync } from "../../src/service/model/service_record.ts";
import { rounds, type Scenario, Tally } from "./harness.ts";
import { pidkit, ServiceReaper, uniquePrefix } from "./cli_util.ts";
import { sleep } from "./util.ts";

export const notifyFlood: Scenario = {
  name: "notify-flood",
  shows: "a member floods its notify socket while an outsider sends READY=1, STATUS=, junk and " +
    "oversized datagrams: status answers, stop stops, the outsider is never believed, nothing left.",
  async run(options) {
    const tally = new Tally();
    if (libc() === undefined) return { ...tally.result(), skipped: "no FFI" };
    const n = rounds(options, 4, 1);
    const flood = options.quick ? 50_000 : 300_000;
    await using dir = tempDir("pidkit-torture-");
    const prefix = uniquePrefix("nf");
    await using reaper = new ServiceReaper(dir.path, prefix, tally);
    const enc = new TextEncoder();
    for (let i = 0; i < n; i++) {
      tally.rounds++;
      const name = `${prefix}-${i}`;
      const sender = `deno run -A ${FIXTURES}/notify_sender.ts`;
      const s = await pidkit([
        "start",
        name,
        "--dir",
        dir.path,
        "--ready-notify",
        "--ready-timeout",
        "30s",
        "--",
        "sh",
        "-c",
        `${sender} flood:${flood} & exec ${sender} ready flood:${flood} stay`,
      ]);
      reaper.record();
      if (s.code !== 0) {
        tally.violation(`${name}: start failed: ${s.stderr.trim()}`);
        continue;
      }
      const state = readServiceRecordSync(dir.join(`${name}.json`))!;
      const socket = state.notifySocket!;
      const hostile = [
        "READY=1\nSTATUS=hostile",
        "STATUS=hostile",
        "MAINPID=1",
        "WATCHDOG=trigger",
        "STOPPING=1",
        "\0\0\0",
        "=",
      ];
      for (let k = 0; k < 6; k++) {
        for (const h of hostile) sendDatagram(socket, enc.encode(h));
        sendDatagram(socket, new Uint8Array(9000).fill(0x41));
        tally.faults += hostile.length + 1;
        const t0 = performance.now();
        const st = await pidkit(["status", name, "--dir", dir.path, "--json"], {
          timeoutMs: 20_000,
        });
        const ms = performance.now() - t0;
        if (ms > 5000) {
          tally.violation(`${name}: status took ${Math.round(ms)} ms during the flood`);
        }
        let parsed: { state?: string; statusText?: string | null } = {};
        try {
          parsed = JSON.parse(st.stdout);
        } catch {
          tally.violation(`${name}: status printed no JSON: ${st.stderr.trim()}`);
        }
        if (parsed.state !== "running") {
          tally.violation(`${name}: state ${parsed.state} during the flood`);
        }
        if (parsed.statusText === "hostile") tally.violation(`${name}: believed an outsider`);
        await sleep(100);
      }
      const sup = state.supervisor;
      if (startTimeOf(sup.pid) !== sup.startTime) {
        tally.violation(`${name}: the supervisor died during the flood`);
      }
      const t0 = performance.now();
      const stop = await pidkit(["stop", name, "--dir", dir.path], { timeoutMs: 30_000 });
      const ms = performance.now() - t0;
      if (stop.code !== 0) tally.violation(`${name}: stop failed: ${stop.stderr.trim()}`);
      else if (ms > 15_000) tally.violation(`${name}: stop took ${Math.round(ms)} ms`);
      const log = Deno.readTextFileSync(dir.join(`${name}.log`));
      if (!/ignored a notify message from pid \d+: not a process of/.test(log)) {
        tally.violation(`${name}: the outsider's messages were not logged as ignored`);
      }
      if (/watchdog timeout|main pid is now/.test(log)) {
        tally.violation(`${name}: acted on an outsider's WATCHDOG=/MAINPID=`);
      }
      try {
        Deno.statSync(socket);
        tally.violation(`${name}: the notify socket was left behind`);
      } catch { /* removed */ }
      tally.note(`${name}: stop during the flood took ${Math.round(ms)} ms`);
    }
    return tally.result();
  },
};
