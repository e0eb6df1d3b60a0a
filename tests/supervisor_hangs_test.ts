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
import { alive, CLI, exists, hasProgram, killQuietly, waitUntil } from "./helpers.ts";
import { Services, uniqueName } from "./service_dir.ts";

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
