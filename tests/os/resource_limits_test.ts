/**
 * `--limit`, `--nice`, `--oom-score-adjust`: set on the service's leader at
 * the start gate (before its command runs), inherited by its tree, kept by a
 * restart; bad values are one line and start nothing.
 */
import assert from "node:assert/strict";
import { markedProcesses, Services, uniqueName } from "../_util/service_dir.ts";
import { CLI, runCli, tempDir, waitUntil } from "../_util/helpers.ts";
import { parseLimits } from "../../src/os/resource_limits.ts";

/** The soft and hard value of one line of /proc/PID/limits (`Max open files`). */
function limitOf(pid: number, title: string): [string, string] {
  const line = Deno.readTextFileSync(`/proc/${pid}/limits`).split("\n")
    .find((l) => l.startsWith(title));
  assert.ok(line, `no '${title}' in /proc/${pid}/limits`);
  const [soft, hard] = line.slice(26).trim().split(/\s+/);
  return [soft, hard];
}

/** Field 19 of /proc/PID/stat: the nice value. */
function niceOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

function oomOf(pid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/oom_score_adj`).trim());
}

function childrenOf(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

const OPTIONS = [
  "--limit",
  "nofile=4096:8192",
  "--limit",
  "core=1M:unlimited",
  "--limit",
  "nproc=1000:2000",
  "--nice",
  "7",
  "--oom-score-adjust",
  "300",
];

/** The leader and one child carry every setting. */
function assertSettings(pid: number): void {
  assert.deepEqual(limitOf(pid, "Max open files"), ["4096", "8192"]);
  assert.deepEqual(limitOf(pid, "Max core file size"), ["1048576", "unlimited"]);
  assert.deepEqual(limitOf(pid, "Max processes"), ["1000", "2000"]);
  assert.equal(niceOf(pid), 7);
  assert.equal(oomOf(pid), 300);
}

for (const tracking of ["auto", "group"]) {
  Deno.test(`--limit, --nice, --oom-score-adjust (tracking ${tracking}): leader from its first instruction, its child, a restart`, async () => {
    await using svc = new Services();
    using tmp = tempDir();
    const name = uniqueName("limits");
    const seen = tmp.join("seen");
    // The command's very first act reads its own settings: set before it ran.
    const script =
      `echo "$(ulimit -Sn) $(ulimit -Hn) $(cut -d' ' -f19 /proc/$$/stat) $(cat /proc/$$/oom_score_adj)" > ${seen}; sleep 300 & exec sleep 301`;
    const state = await svc.start(name, [...OPTIONS, "--tracking", tracking], ["sh", "-c", script]);
    const pid = state.tree!.pid;
    await waitUntil(() => childrenOf(pid).length > 0 && sizeOf(seen) > 0, {
      timeoutMs: 20_000,
    });
    assert.equal((await Deno.readTextFile(seen)).trim(), "4096 8192 7 300");
    assertSettings(pid);
    assertSettings(childrenOf(pid)[0]);
    assert.deepEqual(state.options.limits?.nofile, { soft: 4096, hard: 8192 });

    const r = await svc.cli(["restart", name]);
    assert.equal(r.code, 0, r.stderr);
    const again = await svc.state(name);
    assert.notEqual(again.tree!.pid, pid);
    assertSettings(again.tree!.pid);
    assert.equal((await svc.cli(["stop", name])).code, 0);
    assert.deepEqual(markedProcesses(name), []);
  });
}

/** Whether this process has capability `cap` (23 CAP_SYS_NICE, 24 CAP_SYS_RESOURCE). */
function hasCap(cap: bigint): boolean {
  const m = /^CapEff:\s*(\S+)$/m.exec(Deno.readTextFileSync("/proc/self/status"))!;
  return ((BigInt(`0x${m[1]}`) >> cap) & 1n) === 1n;
}

/** `pidkit start NAME OPTIONS -- sleep 300` from a shell whose nofile limit is 512:1024. */
function startUnderLowLimit(
  svc: Services,
  name: string,
  options: string,
): Promise<Deno.CommandOutput> {
  return new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n 1024 && ulimit -Sn 512 && exec "$0" run -A --quiet "$1" start "$2" ${options} -- sleep 300`,
      Deno.execPath(),
      CLI,
      name,
    ],
    env: { PIDKIT_DIR: svc.dir.path },
    stdin: "null",
  }).output();
}

Deno.test("as root: a hard limit above the caller's is raised, negative nice and oom adjust work", async () => {
  if (Deno.uid() !== 0 || !hasCap(23n)) {
    console.log("skipped: needs root with CAP_SYS_NICE (raising a hard limit, lowering nice)");
    return;
  }
  await using svc = new Services();
  const name = uniqueName("raise");
  const dec = new TextDecoder();
  if (!hasCap(24n)) {
    // A container's root (as here) may lack CAP_SYS_RESOURCE: then it is refused up front.
    console.log("root without CAP_SYS_RESOURCE here: checking the refusal instead of the raise");
    const r = await startUnderLowLimit(svc, name, "--limit nofile=2048:4096");
    assert.equal(r.code, 1, dec.decode(r.stderr));
    assert.match(
      dec.decode(r.stderr),
      /^pidkit start: --limit nofile: hard limit 4096 is above the current hard limit 1024 \(raising it needs CAP_SYS_RESOURCE\)\n$/,
    );
    const oom = await startUnderLowLimit(svc, name, "--oom-score-adjust=-200");
    assert.equal(oom.code, 1, dec.decode(oom.stderr));
    assert.match(dec.decode(oom.stderr), /--oom-score-adjust -200 is below the current 0/);
    assert.deepEqual(markedProcesses(name), []);
    const ok = await startUnderLowLimit(svc, name, "--limit nofile=256:1024 --nice=-3");
    await svc.recordAll();
    assert.equal(ok.code, 0, dec.decode(ok.stderr));
    const pid = (await svc.state(name)).tree!.pid;
    assert.deepEqual(limitOf(pid, "Max open files"), ["256", "1024"]);
    assert.equal(niceOf(pid), -3);
  } else {
    const r = await startUnderLowLimit(
      svc,
      name,
      "--limit nofile=2048:4096 --nice=-3 --oom-score-adjust=-200",
    );
    await svc.recordAll();
    assert.equal(r.code, 0, dec.decode(r.stderr));
    const pid = (await svc.state(name)).tree!.pid;
    assert.deepEqual(limitOf(pid, "Max open files"), ["2048", "4096"]);
    assert.equal(niceOf(pid), -3);
    assert.equal(oomOf(pid), -200);
  }
  assert.equal((await svc.cli(["stop", name])).code, 0);
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("bad --limit, --nice, --oom-score-adjust: one line, exit 2, nothing created", async () => {
  await using svc = new Services();
  const cases: [string[], RegExp][] = [
    [["--limit", "nofiles=10"], /bad --limit: unknown resource 'nofiles' \(use cpu, .*nofile/],
    [["--limit", "nofile"], /bad --limit 'nofile' \(use RESOURCE=SOFT\[:HARD\]\)/],
    [["--limit", "nofile=10:5"], /bad --limit nofile: soft limit 10 is above the hard limit 5/],
    [["--limit", "nofile=unlimited:5"], /soft limit unlimited is above the hard limit 5/],
    [["--limit", "nofile=many"], /bad --limit nofile value 'many'/],
    [["--limit", "nofile=1K"], /bad --limit nofile value '1K' \(use a whole number/],
    [["--limit", "as=2X"], /bad --limit as value '2X' \(use bytes, or with K, M, G/],
    [["--limit", "core=1:2:3"], /use SOFT or SOFT:HARD/],
    [["--nice", "20"], /bad --nice '20' \(use a whole number from -20 to 19\)/],
    [["--nice=-21"], /bad --nice '-21'/],
    [["--nice", "high"], /bad --nice 'high'/],
    [
      ["--oom-score-adjust", "1001"],
      /bad --oom-score-adjust '1001' \(use a whole number from -1000 to 1000\)/,
    ],
    [["--oom-score-adjust=-1001"], /bad --oom-score-adjust '-1001'/],
  ];
  for (const [options, expected] of cases) {
    const r = await svc.cli(["start", "bad", ...options, "--", "sleep", "1"]);
    assert.equal(r.code, 2, `${options.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, expected, options.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(svc.dir.path)), [], "nothing created");
});

Deno.test("as uid 65534: raising a hard limit, a negative nice or oom adjust is refused (exit 1), nothing started", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: needs root to run the CLI as uid 65534 (setpriv)");
    return;
  }
  using tmp = tempDir();
  await Deno.chmod(tmp.path, 0o777);
  const dir = tmp.join("run");
  const hard = (await Deno.readTextFile("/proc/self/limits")).split("\n")
    .find((l) => l.startsWith("Max open files"))!.slice(26).trim().split(/\s+/)[1];
  const above = hard === "unlimited" ? "unlimited" : String(Number(hard) + 1);
  const cases: [string[], RegExp][] = [
    [
      ["--limit", `nofile=64:${above}`],
      /--limit nofile: hard limit .* is above the current hard limit .*needs root/,
    ],
    [["--nice=-5"], /--nice -5 is below the current nice value 0 \(lowering it needs root\)/],
    [
      ["--oom-score-adjust=-5"],
      /--oom-score-adjust -5 is below the current 0 \(lowering it needs root\)/,
    ],
  ];
  for (const [options, expected] of cases) {
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        CLI,
        "start",
        "bad",
        ...options,
        "--",
        "sleep",
        "300",
      ],
      env: { PIDKIT_DIR: dir, HOME: tmp.path },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, `${options.join(" ")}: ${stderr}`);
    assert.match(stderr, expected);
    assert.equal(stderr.trim().split("\n").length, 1, `one line: ${stderr}`);
  }
  assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound, "nothing created");
  assert.deepEqual(markedProcesses("bad"), []);
});

Deno.test("parseLimits: sizes, unlimited, SOFT alone sets both, objects of text or numbers", () => {
  assert.deepEqual(parseLimits(["core=1M:unlimited", "as=2G", "nofile=4096"]), {
    core: { soft: 1048576, hard: "unlimited" },
    as: { soft: 2 * 1024 ** 3, hard: 2 * 1024 ** 3 },
    nofile: { soft: 4096, hard: 4096 },
  });
  assert.deepEqual(parseLimits({ stack: "8K:infinity", cpu: 60 }), {
    stack: { soft: 8192, hard: "unlimited" },
    cpu: { soft: 60, hard: 60 },
  });
  assert.throws(() => parseLimits({ __proto__x: 1 }), /unknown resource '__proto__x'/);
});

Deno.test("declaration: limits, nice, oomScoreAdjust fields; bad ones are one line, exit 2", async () => {
  using tmp = tempDir();
  const file = tmp.join("pidkit.jsonc");
  const check = async (service: Record<string, unknown>) => {
    await Deno.writeTextFile(
      file,
      JSON.stringify({ services: { web: { cmd: "sleep 30", ...service } } }),
    );
    return await runCli(["check", "-c", file]);
  };
  const ok = await check({
    limits: { nofile: "4096:8192", core: 0 },
    nice: 3,
    oomScoreAdjust: 100,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /limits +nofile=4096:8192 core=0\n/);
  assert.match(ok.stdout, /nice +3\n/);
  assert.match(ok.stdout, /oomScoreAdjust +100\n/);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ limits: { nofiles: 1 } }, /services\.web\.limits: .*unknown resource 'nofiles'/],
    [{ limits: { nofile: "9:8" } }, /soft limit 9 is above the hard limit 8/],
    [{ limits: { nofile: true } }, /services\.web\.limits\.nofile: must be "SOFT\[:HARD\]"/],
    [{ limits: ["nofile=1"] }, /services\.web\.limits: must be an object/],
    [{ nice: 30 }, /services\.web\.nice: bad value 30 \(use -20 to 19\)/],
    [{ oomScoreAdjust: -1001 }, /services\.web\.oomScoreAdjust: bad value -1001/],
  ];
  for (const [service, expected] of cases) {
    const r = await check(service);
    assert.equal(r.code, 2, `${JSON.stringify(service)}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
});
