/**
 * `--ready-fd N` (s6 notification-fd) and the one-line errors of the new
 * readiness, watchdog and log options.
 */
import assert from "node:assert/strict";
import { markedProcesses, Services, uniqueName } from "../../_util/service_dir.ts";

/** The descriptor numbers process `pid` has open. */
function openFds(pid: number): number[] {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) => Number(e.name)).sort((a, b) => a - b);
}

Deno.test("--ready-fd 3: start returns at the newline; the service holds 0, 1, 2 and 3 only", async () => {
  await using svc = new Services();
  const name = uniqueName("s6");
  const t0 = performance.now();
  const state = await svc.start(name, ["--ready-fd", "3"], [
    "sh",
    "-c",
    "sleep 0.6; echo >&3; exec sleep 60",
  ]);
  assert.ok(performance.now() - t0 >= 500, "start returned before the newline");
  const pid = state.tree!.pid;
  // After `exec sleep`, the leader is sleep itself: nothing of the supervisor's leaked.
  assert.deepEqual(openFds(pid), [0, 1, 2, 3]);
  assert.match(await Deno.readLink(`/proc/${pid}/fd/3`), /pidkit-readyfd-.*\/ready/);
  assert.equal((await svc.cli(["stop", name])).code, 0);
  assert.deepEqual(markedProcesses(name), []);
});

Deno.test("--ready-fd 12 (bash) and a service that closes the fd without a newline times out", async () => {
  await using svc = new Services();
  const name = uniqueName("s6big");
  const state = await svc.start(name, ["--ready-fd", "12"], [
    "bash",
    "-c",
    "echo >&12; exec sleep 60",
  ]);
  assert.ok(openFds(state.tree!.pid).includes(12));
  assert.equal((await svc.cli(["stop", name])).code, 0);
  const never = uniqueName("s6never");
  const r = await svc.cli([
    "start",
    never,
    "--ready-fd",
    "4",
    "--ready-timeout",
    "1s",
    "--",
    "sh",
    "-c",
    "exec 4>&-; sleep 60",
  ]);
  await svc.recordAll();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not ready within 1\.0 s: no newline arrived on descriptor 4/);
  assert.deepEqual(markedProcesses(never), []);
});

Deno.test("bad readiness, watchdog and log options are one-line usage errors (exit 2), nothing created", async () => {
  await using svc = new Services();
  const cases: [string[], RegExp][] = [
    [["--ready-fd", "0"], /bad --ready-fd 0: 0, 1 and 2 are the service's stdin/],
    [["--ready-fd", "1"], /bad --ready-fd 1/],
    [["--ready-fd", "2"], /bad --ready-fd 2/],
    [["--ready-fd", "x"], /bad --ready-fd 'x'/],
    [["--ready-fd", "256"], /bad --ready-fd 256/],
    [["--watchdog", "0"], /bad --watchdog '0': use at least 10ms/],
    [["--watchdog", "soon"], /bad --watchdog 'soon'/],
    [["--ready-timeout", "0"], /bad --ready-timeout '0'/],
    [["--log-max-size", "10X"], /bad --log-max-size '10X' \(use a size such as 512K, 10M or 1G\)/],
    [["--log-max-size", "10"], /bad --log-max-size '10': at least 1K/],
    [["--log-keep", "3"], /--log-keep needs --log-max-size/],
    [["--log-max-size", "1M", "--log-keep", "-1"], /needs a value|bad --log-keep/],
    [["--log-max-size", "1M", "--log-keep", "many"], /bad --log-keep 'many'/],
    [["--log-max-size", "1M", "--log", "/dev/null"], /\/dev\/null is not a regular file/],
    [
      ["--ready-after", "5s", "--ready-timeout", "1s"],
      /--ready-after 5s is longer than --ready-timeout/,
    ],
  ];
  for (const [options, expected] of cases) {
    const r = await svc.cli(["start", "bad", ...options, "--", "sleep", "1"]);
    assert.equal(r.code, 2, `${options.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, expected, options.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(svc.dir.path)), [], "nothing created");
});
