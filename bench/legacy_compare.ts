/**
 * Side by side, in one run (interleaved, so machine noise hits all alike):
 *
 * 1. `pidkit status --pidfile` of an unlocked PID file (a daemon's own:
 *    the verification ladder) vs of a locked one (the lock decides) vs
 *    `start-stop-daemon --status --pidfile` of the unlocked one, with
 *    `deno run` of an empty script as the runtime floor;
 * 2. stopping a daemonized nginx (master + 4 workers): `pidkit stop
 *    --pidfile --exec` vs `start-stop-daemon --stop --pidfile --exec
 *    --retry TERM/10/KILL/5`: wall time, and nginx processes still alive
 *    the moment each command returns (survivors).
 *
 *   deno run -A bench/legacy_compare.ts [--runs 21] [--stops 10]
 *
 * @module
 */

import { findDaemon, freePort, nginxConfig } from "../tests/_util/real_daemons.ts";
import { childrenOf } from "../tests/_util/process_view.ts";
import { alive } from "../tests/_util/helpers.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const opt = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
};
const RUNS = opt("runs", 21);
const STOPS = opt("stops", 10);
const SSD = ["/sbin/start-stop-daemon", "/usr/sbin/start-stop-daemon"].find(exists);
const NGINX = findDaemon("nginx");

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function timed(cmd: string[]): Promise<{ ms: number; code: number }> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "null" })
    .output();
  return { ms: performance.now() - t0, code: out.code };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = await Deno.makeTempDir({ prefix: "pidkit-bench-" });
const sleeper = new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" })
  .spawn();
await new Promise((r) => setTimeout(r, 20));
const unlocked = `${dir}/daemon.pid`;
await Deno.writeTextFile(unlocked, `${sleeper.pid}\n`);
const locked = `${dir}/held.pid`;
const holder = await Deno.open(locked, { read: true, write: true, create: true });
await holder.lock(true);
await holder.write(new TextEncoder().encode(`${Deno.pid}\n`));

try {
  const empty = `${dir}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  const rows: Record<string, number[]> = {
    "deno run of an empty script (the runtime floor)": [],
    "pidkit status --pidfile (unlocked, ladder)": [],
    "pidkit status --pidfile (locked)": [],
    ...(SSD ? { "start-stop-daemon --status --pidfile (unlocked)": [] } : {}),
  };
  for (let i = 0; i < RUNS; i++) {
    for (
      const [label, cmd] of [
        ["deno run of an empty script (the runtime floor)", [Deno.execPath(), "run", "-A", empty]],
        ["pidkit status --pidfile (unlocked, ladder)", [
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "status",
          "--pidfile",
          unlocked,
        ]],
        ["pidkit status --pidfile (locked)", [
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "status",
          "--pidfile",
          locked,
        ]],
        ...(SSD
          ? [["start-stop-daemon --status --pidfile (unlocked)", [
            SSD,
            "--status",
            "--pidfile",
            unlocked,
          ]]]
          : []),
      ] as [string, string[]][]
    ) {
      const r = await timed(cmd);
      if (r.code !== 0) throw new Error(`${label}: exit ${r.code}`);
      rows[label].push(r.ms);
    }
  }
  const base = median(rows["pidkit status --pidfile (locked)"]);
  console.log(`status, ${RUNS} runs each, interleaved (median wall time):`);
  console.log("| command | median ms | vs locked |");
  console.log("| --- | ---: | ---: |");
  for (const [label, xs] of Object.entries(rows)) {
    console.log(`| ${label} | ${median(xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)}x |`);
  }

  if (NGINX === undefined) {
    console.log("\nstop of nginx: skipped (nginx not installed)");
  } else {
    const stopRows: Record<string, { ms: number[]; survivors: number[] }> = {
      "pidkit stop --pidfile --exec": { ms: [], survivors: [] },
      ...(SSD
        ? {
          "start-stop-daemon --stop --pidfile --exec --retry TERM/10/KILL/5": {
            ms: [],
            survivors: [],
          },
        }
        : {}),
    };
    for (let i = 0; i < STOPS; i++) {
      for (const label of Object.keys(stopRows)) {
        const port = freePort();
        const ng = nginxConfig(`${dir}/n${i}`, port, { workers: 4 });
        const start = await new Deno.Command(NGINX, { args: ["-c", ng.conf, "-p", ng.prefix] })
          .output();
        if (start.code !== 0) throw new Error("nginx did not start");
        let master = 0;
        for (let t = 0; t < 500 && !master; t++) {
          try {
            master = Number(await Deno.readTextFile(ng.pidFile)) || 0;
          } catch { /* not yet */ }
          if (!master) await new Promise((r) => setTimeout(r, 5));
        }
        let family: number[] = [];
        for (let t = 0; t < 500 && family.length < 5; t++) {
          family = [master, ...childrenOf(master)];
          if (family.length < 5) await new Promise((r) => setTimeout(r, 5));
        }
        const cmd = label.startsWith("pidkit")
          ? [Deno.execPath(), "run", "-A", CLI, "stop", "--pidfile", ng.pidFile, "--exec", NGINX]
          : [SSD!, "--stop", "--pidfile", ng.pidFile, "--exec", NGINX, "--retry", "TERM/10/KILL/5"];
        const r = await timed(cmd);
        const left = family.filter((pid) => alive(pid));
        stopRows[label].ms.push(r.ms);
        stopRows[label].survivors.push(left.length);
        for (const p of left) {
          try {
            Deno.kill(p, "SIGKILL");
          } catch { /* gone */ }
        }
      }
    }
    console.log(
      `\nstop of a daemonized nginx (master + 4 workers), ${STOPS} runs each, interleaved:`,
    );
    console.log("| command | median ms | survivors when it returned (total over runs) |");
    console.log("| --- | ---: | ---: |");
    for (const [label, v] of Object.entries(stopRows)) {
      console.log(
        `| ${label} | ${median(v.ms).toFixed(1)} | ${v.survivors.reduce((a, b) => a + b, 0)} |`,
      );
    }
  }
} finally {
  sleeper.kill("SIGKILL");
  await sleeper.status;
  holder.close();
  await Deno.remove(dir, { recursive: true });
}
