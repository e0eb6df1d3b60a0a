// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test reads small files and /proc between steps; nothing else runs meanwhile
/**
 * Nothing hangs (issue 24, "Hangs" and item 9): a supervisor keeps none of
 * its caller's descriptors (a pipeline around `pidkit start` returns) and
 * hands its services 0, 1 and 2 only; a frozen supervisor gets a deadline,
 * not a wait for ever, and what its gone clients asked is not carried out
 * later; a replaced socket is said and recreated; another user's stop is
 * refused as permission denied.
 */
import assert from "node:assert/strict";
import {
  alive,
  CLI,
  exists,
  hasProgram,
  killQuietly,
  tempDir,
  waitUntil,
} from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { nobodyCli, readableCopy } from "../../_util/readable_copy.ts";
import { findSetpriv } from "../../../src/tree/find_program.ts";

/** Every descriptor of `pid`: number and what it points to. */
function fdsOf(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(e.name), Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`));
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/** Assert that `pid` holds none of `links` open. */
function holdsNone(pid: number, links: string[], who: string): void {
  const open = [...fdsOf(pid)].filter(([, l]) => links.includes(l));
  assert.deepEqual(open, [], `${who} (pid ${pid}) keeps its caller's descriptors`);
}

/** Wait for `child`, killing its process group after `ms`; whether it ended by itself. */
async function endsWithin(child: Deno.ChildProcess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), ms));
  const outcome = await Promise.race([child.status, late]);
  clearTimeout(timer);
  if (outcome === "late") {
    killQuietly(-child.pid);
    await child.status;
    return false;
  }
  return true;
}

const extraFiles = (s: Services) => ({
  fifo: s.dir.join("extra.fifo"),
  file: s.dir.join("extra.file"),
  pipe: s.dir.join("extra.pipe"),
});

Deno.test("a start inside a pipeline returns: the background supervisor keeps none of the caller's descriptors, its service gets 0, 1, 2", async () => {
  if (!hasProgram("mkfifo")) return console.log("skipped: no mkfifo");
  await using s = new Services();
  const x = extraFiles(s);
  assert.equal((await new Deno.Command("mkfifo", { args: [x.fifo] }).output()).code, 0);
  const name = uniqueName("piped");
  // fd 5: the pipeline's pipe (as in `( pidkit start ... ) 5>&1 | cat`), 6: a
  // FIFO, 7: a file; readlink records what fd 5 is.
  const script =
    `( readlink /proc/self/fd/5 > "$3"; exec "$0" run -A --quiet "$1" start "$2" -- sleep 1000 ) ` +
    `5>&1 6<>"$4" 7>>"$5" | cat`;
  const sh = new Deno.Command("sh", {
    args: ["-c", script, Deno.execPath(), CLI, name, x.pipe, x.fifo, x.file],
    env: { PIDKIT_DIR: s.dir.path },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  const output = sh.output();
  const ended = await endsWithin(sh, 60_000);
  const out = await output;
  await s.recordAll();
  assert.ok(ended, "the pipeline returned (it hung while the supervisor kept fd 5)");
  assert.match(
    new TextDecoder().decode(out.stdout),
    /started/,
    new TextDecoder().decode(out.stderr),
  );
  const links = [Deno.readTextFileSync(x.pipe).trim(), x.fifo, x.file];
  assert.match(links[0], /^pipe:/);
  const sup = s.supervisorPid()!;
  holdsNone(sup, links, "the supervisor");
  const service = (await s.state(name)).tree!.pid;
  assert.deepEqual([...fdsOf(service).keys()].sort(), [0, 1, 2], "the service gets 0, 1, 2 only");
  assert.equal((await s.cli(["stop", name])).code, 0);
});

Deno.test("pidkit supervise in the foreground keeps none of its caller's descriptors and hands none to its services", async () => {
  if (!hasProgram("mkfifo")) return console.log("skipped: no mkfifo");
  await using s = new Services();
  const x = extraFiles(s);
  assert.equal((await new Deno.Command("mkfifo", { args: [x.fifo] }).output()).code, 0);
  // fd 9: a pipeline's pipe (supervise's stdout is not it), 6: a FIFO, 7: a file.
  const script = `exec 6<>"$3" 7>>"$4"; { readlink /proc/self/fd/9 > "$2"; ` +
    `exec "$0" run -A --quiet "$1" supervise --dir "$5" >/dev/null; } 9>&1 | cat`;
  const sh = new Deno.Command("sh", {
    args: ["-c", script, Deno.execPath(), CLI, x.pipe, x.fifo, x.file, s.dir.path],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
  }).spawn();
  try {
    await waitUntil(() => exists(s.dir.join("supervisor.sock")) && exists(x.pipe), {
      what: "supervise to listen",
      timeoutMs: 30_000,
    });
    const sup = s.supervisorPid()!;
    s.pid(sup);
    const links = [Deno.readTextFileSync(x.pipe).trim(), x.fifo, x.file];
    assert.match(links[0], /^pipe:/);
    const name = uniqueName("fg");
    const st = await s.start(name, [], ["sleep", "1000"]);
    assert.equal(st.supervisor.pid, sup, "the foreground supervisor holds it");
    holdsNone(sup, links, "pidkit supervise");
    assert.deepEqual([...fdsOf(st.tree!.pid).keys()].sort(), [0, 1, 2], "0, 1, 2 only");
    Deno.kill(sup, "SIGTERM");
    // The pipeline ends once supervise is gone: nothing else holds its pipe.
    assert.ok(await endsWithin(sh, 30_000), "supervise exits on SIGTERM, the pipeline returns");
  } finally {
    killQuietly(-sh.pid);
    await sh.stdout.cancel().catch(() => {});
    await sh.status;
  }
});

Deno.test("pidkit run keeps none of its caller's descriptors and hands none to its service", async () => {
  await using s = new Services();
  const x = extraFiles(s);
  const name = uniqueName("run");
  const script = `exec 7>>"$3"; { readlink /proc/self/fd/9 > "$2"; ` +
    `exec "$0" run -A --quiet "$1" run "$4" --log "$5" -- sleep 1000 >/dev/null; } 9>&1 | cat`;
  const sh = new Deno.Command("sh", {
    args: ["-c", script, Deno.execPath(), CLI, x.pipe, x.file, name, s.dir.join(`${name}.log`)],
    env: { PIDKIT_DIR: s.dir.path },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    detached: true,
  }).spawn();
  let run = 0;
  try {
    await waitUntil(async () =>
      exists(s.dir.join(`${name}.json`)) && exists(x.pipe) &&
      (await s.cli(["status", name])).code === 0, { what: "run to start", timeoutMs: 30_000 });
    const st = await s.state(name);
    run = st.supervisor.pid;
    const links = [Deno.readTextFileSync(x.pipe).trim(), x.file];
    holdsNone(run, links, "pidkit run");
    assert.deepEqual([...fdsOf(st.tree!.pid).keys()].sort(), [0, 1, 2], "0, 1, 2 only");
    Deno.kill(run, "SIGTERM");
    assert.ok(await endsWithin(sh, 30_000), "run exits on SIGTERM, the pipeline returns");
  } finally {
    killQuietly(-sh.pid);
    await sh.stdout.cancel().catch(() => {});
    await sh.status;
  }
  assert.ok(run > 0 && !alive(run));
});

/** The journal's lines (the supervisor's own). */
function journal(s: Services): string {
  try {
    return Deno.readTextFileSync(s.dir.join("supervisor.journal"));
  } catch {
    return "";
  }
}

Deno.test("a frozen supervisor (SIGSTOP): start, stop and restart say it does not answer within --timeout; status and list say it is stopped; after SIGCONT what they asked is dropped", async () => {
  await using s = new Services();
  const name = uniqueName("frozen");
  const st = await s.start(name, [], ["sleep", "1000"]);
  const sup = st.supervisor.pid;
  const late = uniqueName("late");
  Deno.kill(sup, "SIGSTOP");
  try {
    const t0 = Date.now();
    const stop = await s.cli(["stop", name, "--timeout", "2s"]);
    assert.equal(stop.code, 5, stop.stderr);
    assert.match(stop.stderr, new RegExp(`the supervisor \\(pid ${sup}\\) .* does not answer`));
    assert.match(stop.stderr, /kill -CONT/);
    assert.ok(Date.now() - t0 < 20_000, "within the timeout, not for ever");
    const start = await s.cli(["start", late, "--timeout", "1s", "--", "sleep", "1000"]);
    assert.equal(start.code, 5, start.stderr);
    assert.match(start.stderr, /does not answer/);
    const restart = await s.cli(["restart", name, "--timeout", "1s"]);
    assert.equal(restart.code, 5, restart.stderr);
    // A client that sends its request (no deadline) and goes away at once.
    const conn = await Deno.connect({ transport: "unix", path: s.dir.join("supervisor.sock") });
    const gone = { op: "stop", name, retry: "TERM/5", requestedBy: Deno.pid };
    await conn.write(new TextEncoder().encode(JSON.stringify(gone) + "\n"));
    conn.close();
    const status = await s.cli(["status", name]);
    assert.equal(status.code, 0, "the service still runs");
    assert.match(status.stdout, new RegExp(`supervisor: +${sup} \\(stopped: it does not answer`));
    const json = JSON.parse((await s.cli(["status", name, "--json"])).stdout);
    assert.equal(json.supervisorStopped, true);
    const list = await s.cli(["list"]);
    assert.match(list.stdout, new RegExp(`supervisor ${sup} is stopped: it does not answer`));
  } finally {
    Deno.kill(sup, "SIGCONT");
  }
  // Every request it finds is one whose client gave up or is gone: dropped.
  await waitUntil(() => (journal(s).match(/dropped a /g) ?? []).length >= 4, {
    what: "the supervisor to drop the four stale requests",
    timeoutMs: 30_000,
  });
  assert.match(journal(s), /dropped a stop request for .* its command is gone/);
  assert.match(journal(s), /dropped a start request for .* its deadline passed/);
  assert.equal((await s.cli(["status", name])).code, 0, "not stopped after SIGCONT");
  assert.ok(!exists(s.dir.join(`${late}.json`)), "not started after SIGCONT");
  assert.ok(alive(st.tree!.pid));
  const status = await s.cli(["status", name, "--json"]);
  assert.equal(JSON.parse(status.stdout).supervisorStopped, false);
  assert.equal((await s.cli(["stop", name, "--timeout", "30s"])).code, 0);
});

Deno.test("--timeout must be a positive duration", async () => {
  await using s = new Services();
  const r = await s.cli(["stop", "x", "--timeout", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad --timeout '0'/);
  const bad = await s.cli(["start", "x", "--timeout", "soon", "--", "true"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad duration 'soon'/);
});

Deno.test("supervisor.sock replaced by a regular file: the supervisor makes it anew, start and stop work; a socket that cannot be made is named in one line", async () => {
  await using s = new Services();
  const a = uniqueName("sock");
  const st = await s.start(a, [], ["sleep", "1000"]);
  const sock = s.dir.join("supervisor.sock");
  Deno.removeSync(sock);
  Deno.writeTextFileSync(sock, "not a socket\n");
  const b = uniqueName("sock");
  const t0 = Date.now();
  const start = await s.cli(["start", b, "--", "sleep", "1000"]);
  assert.equal(start.code, 0, start.stderr);
  assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
  await s.state(b);
  assert.ok(Deno.lstatSync(sock).isSocket, "a socket again");
  assert.match(
    journal(s),
    /supervisor\.sock was replaced by a regular file: listening on a new socket/,
  );
  assert.equal((await s.state(b)).supervisor.pid, st.supervisor.pid, "the same supervisor");
  // A directory in its place cannot be replaced: said, exit 5, nothing else started.
  Deno.removeSync(sock);
  Deno.mkdirSync(sock);
  const stop = await s.cli(["stop", a]);
  assert.equal(stop.code, 5, stop.stderr);
  assert.match(
    stop.stderr,
    new RegExp(
      `supervisor \\(pid ${st.supervisor.pid}\\) .* does not listen on .*supervisor\\.sock: it is a directory`,
    ),
  );
  assert.equal(stop.stderr.trim().split("\n").length, 1, "one line");
  Deno.removeSync(sock);
  await waitUntil(() => exists(sock) && Deno.lstatSync(sock).isSocket === true, {
    what: "the socket to come back",
    timeoutMs: 20_000,
  });
  for (const n of [a, b]) assert.equal((await s.cli(["stop", n])).code, 0);
});

const NOBODY = 65534;
const setpriv = Deno.build.os === "linux" ? findSetpriv() : undefined;
const otherUserProblem = Deno.uid() !== 0
  ? "needs root to switch to uid 65534"
  : setpriv === undefined
  ? "needs setpriv(1)"
  : undefined;
if (otherUserProblem) console.log(`skipped: another user's stop: ${otherUserProblem}`);

Deno.test({
  name:
    "another user's stop and start are refused as permission denied (exit 4), by the socket's mode or by the supervisor's peer check",
  ignore: otherUserProblem !== undefined,
  async fn() {
    await using s = new Services();
    Deno.chmodSync(s.dir.path, 0o755); // others may look, not control
    const from = readableCopy(s.dir.path);
    await using home = tempDir("pidkit-nobody-");
    Deno.chownSync(home.path, NOBODY, NOBODY);
    const asNobody = nobodyCli(setpriv!, from, home.path);
    const name = uniqueName("mine");
    const st = await s.start(name, [], ["sleep", "1000"]);
    Deno.chmodSync(s.dir.join(`${name}.json`), 0o644);
    const stop = await asNobody(["stop", name, "--dir", s.dir.path]);
    assert.equal(stop.code, 4, stop.stderr);
    assert.match(stop.stderr, /permission denied/);
    assert.doesNotMatch(stop.stderr, /try again/);
    const start = await asNobody([
      "start",
      uniqueName("theirs"),
      "--dir",
      s.dir.path,
      "--",
      "sleep",
      "1",
    ]);
    assert.equal(start.code, 4, start.stderr);
    assert.match(start.stderr, /permission denied/);
    // A socket others may connect to: the supervisor's SO_PEERCRED check refuses, with a code.
    Deno.chmodSync(s.dir.join("supervisor.sock"), 0o666);
    const peer = await asNobody(["stop", name, "--dir", s.dir.path]);
    assert.equal(peer.code, 4, peer.stderr);
    assert.match(peer.stderr, /permission denied: uid 65534 may not control/);
    assert.ok(alive(st.tree!.pid), "still running");
    assert.equal((await s.cli(["stop", name])).code, 0);
  },
});

Deno.test("a start the supervisor took but did not finish within --timeout goes on: exit 1, and the service comes up", async () => {
  await using s = new Services();
  await s.start(uniqueName("up"), [], ["sleep", "1000"]); // the supervisor runs
  const name = uniqueName("slow");
  const r = await s.cli([
    "start",
    name,
    "--ready-after",
    "3s",
    "--timeout",
    "1s",
    "--",
    "sleep",
    "1000",
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`${name} was not started within 1.0 s: the supervisor \\(pid \\d+\\) goes on`),
  );
  await waitUntil(async () => (await s.cli(["status", name])).stdout.includes("running"), {
    what: "the start to go on",
    timeoutMs: 30_000,
  });
  assert.equal((await s.cli(["stop", name])).code, 0);
});
