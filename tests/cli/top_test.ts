/**
 * `pidkit top` on a real pseudo-terminal (util-linux `script`) with real
 * services: the table, s (sort), the down arrow, l (log lines), q; the
 * terminal's mode (stty -g) is the same after it as before, after q and
 * after SIGTERM; a closed terminal ends it. Without a terminal: one
 * snapshot, as `list` prints it.
 */
import assert from "node:assert/strict";
import { alive, CLI, tempDir, waitUntil } from "../_util/helpers.ts";
import { Services, uniqueName } from "../_util/service_dir.ts";
import { frames, HAS_SCRIPT, plain, PtySession } from "../_util/pty_session.ts";

const LEAVE = "\x1b[?1049l";

/** Three services: one that uses some CPU, one that logs a line, one idle. */
async function threeServices(
  svc: Services,
): Promise<{ busy: string; talker: string; idle: string }> {
  const busy = uniqueName("busy");
  const talker = uniqueName("talker");
  const idle = uniqueName("idle");
  await svc.start(busy, ["--ready-after", "0"], [
    "sh",
    "-c",
    "while :; do head -c 3000000 /dev/urandom > /dev/null; sleep 0.05; done",
  ]);
  await svc.start(talker, ["--ready-after", "0"], [
    "sh",
    "-c",
    "echo hello-from-the-talker; exec sleep 1000",
  ]);
  await svc.start(idle, ["--ready-after", "0"], ["sleep", "1000"]);
  return { busy, talker, idle };
}

/** `top` under the terminal between two `stty -g`, then its exit status. */
function topUnderPty(runDir: string, work: string, interval: string): PtySession {
  return new PtySession(
    `stty -g > ${work}/before; ${Deno.execPath()} run -A --quiet ${CLI} top --dir ${runDir} ` +
      `--interval ${interval}; echo "top-exit=$?"; stty -g > ${work}/after`,
    { env: { NO_COLOR: "" }, columns: 150, rows: 20 },
  );
}

/** `deno run ... cli.ts top ...`, not the shell around it. */
const isTop = (argv: string[]) => argv[0] === Deno.execPath() && argv.includes("top");

/** The last frame drawn, once one satisfies `ok`. */
async function frameWhere(
  pty: PtySession,
  ok: (f: string) => boolean,
  what: string,
): Promise<string> {
  let found = "";
  await waitUntil(() => {
    found = frames(pty.output).findLast(ok) ?? "";
    return found !== "";
  }, { timeoutMs: 30_000, intervalMs: 50, what });
  return found;
}

/** The table rows of a frame (after the title and the headings), names only. */
function rowNames(frame: string): string[] {
  return frame.split("\n").slice(2).map((l) => /^[> ] (\S+)/.exec(l)?.[1] ?? "").filter(Boolean);
}

Deno.test({
  name:
    "top on a terminal: table, s sorts by cpu, the arrow moves, l shows log lines, q restores the terminal",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using svc = new Services();
    using work = tempDir();
    const { busy, talker, idle } = await threeServices(svc);
    await using pty = topUnderPty(svc.dir.path, work.path, "300ms");
    const first = await frameWhere(pty, (f) => f.includes(idle), "the first frame");
    assert.match(first, /^pidkit top {2}\S+ {2}3 services, 3 running {2}sort: name/);
    assert.match(first, /NAME +STATE +READY +PID +PROCS +CPU% +MEM +RESTARTS +UPTIME +STATUS/);
    assert.match(first, new RegExp(`${idle} +running +yes +\\d+ +1 +\\S+ +[\\d.]+ [KM]iB +0 +`));
    assert.deepEqual(rowNames(first), [busy, idle, talker].sort());
    // A later frame measured CPU over an interval: the busy tree uses some.
    const busyCpu = (f: string) =>
      Number(new RegExp(`${busy} .*? (\\d+\\.\\d) `).exec(f)?.[1] ?? 0);
    await frameWhere(pty, (f) => busyCpu(f) > 0, "CPU of the busy service");

    await pty.type("s");
    const byCpu = await frameWhere(
      pty,
      (f) => f.includes("sort: cpu") && rowNames(f)[0] === busy,
      "sort by cpu, the busy service first",
    );
    assert.match(byCpu, new RegExp(`^> ${busy} `, "m"), "the selection stays on the first row");
    await pty.type("\x1b[B");
    await frameWhere(
      pty,
      (f) => f.includes("sort: cpu") && new RegExp(`^> ${rowNames(f)[1]} `, "m").test(f),
      "the selection on the second row",
    );
    // The second row is the idle one or the talker (both near 0 %; ties by name): on to the talker.
    if ([idle, talker].sort()[0] !== talker) await pty.type("\x1b[B");
    await frameWhere(pty, (f) => new RegExp(`^> ${talker} `, "m").test(f), "the talker selected");
    await pty.type("l");
    const logs = await frameWhere(
      pty,
      (f) => f.includes("hello-from-the-talker"),
      "the talker's log lines",
    );
    assert.match(logs, new RegExp(`^-- ${talker}: last log lines -+$`, "m"));
    assert.match(logs, /l\/Esc close/);

    await pty.type("q");
    const status = await pty.ended();
    assert.equal(status.code, 0);
    assert.match(plain(pty.output), /top-exit=0/);
    assert.ok(
      pty.output.lastIndexOf(LEAVE) > pty.output.lastIndexOf("\x1b[H"),
      "alternate screen left",
    );
    assert.ok(pty.output.includes("\x1b[?25h"), "cursor shown again");
    assert.equal(
      await Deno.readTextFile(`${work.path}/after`),
      await Deno.readTextFile(`${work.path}/before`),
      "stty -g after top is what it was before",
    );
  },
});

Deno.test({
  name: "top on a terminal: SIGTERM restores the terminal (exit 143); a closed terminal ends it",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using svc = new Services();
    using work = tempDir();
    const name = uniqueName("one");
    await svc.start(name, ["--ready-after", "0"], ["sleep", "1000"]);
    {
      await using pty = topUnderPty(svc.dir.path, work.path, "1s");
      await frameWhere(pty, (f) => f.includes(name), "the first frame");
      const top = pty.descendant(isTop);
      assert.ok(top, "the top process");
      // Meanwhile the terminal is in raw mode: not as it was.
      const tty = await Deno.readLink(`/proc/${top}/fd/0`);
      const during = await new Deno.Command("stty", { args: ["-g", "-F", tty], stdout: "piped" })
        .output();
      const raw = new TextDecoder().decode(during.stdout);
      assert.notEqual(raw, await Deno.readTextFile(`${work.path}/before`), `stty -g of ${tty}`);
      assert.match(
        new TextDecoder().decode(
          (await new Deno.Command("stty", { args: ["-a", "-F", tty], stdout: "piped" }).output())
            .stdout,
        ),
        /-icanon\b.*-echo\b|-echo\b.*-icanon\b/s,
      );
      Deno.kill(top, "SIGTERM");
      await pty.ended();
      assert.match(plain(pty.output), /top-exit=143/);
      assert.ok(pty.output.lastIndexOf(LEAVE) > pty.output.lastIndexOf("\x1b[H"));
      assert.equal(
        await Deno.readTextFile(`${work.path}/after`),
        await Deno.readTextFile(`${work.path}/before`),
        "stty -g after SIGTERM is what it was before",
      );
    }
    {
      // The terminal goes away (its master side closes): SIGHUP, then top is gone.
      await using pty = topUnderPty(svc.dir.path, work.path, "1s");
      await frameWhere(pty, (f) => f.includes(name), "the first frame");
      const top = pty.descendant(isTop);
      assert.ok(top, "the top process");
      Deno.kill(pty.pid, "SIGKILL");
      await waitUntil(() => !alive(top), { timeoutMs: 20_000, what: "top to end" });
    }
  },
});
Deno.test({
  name: "top on a terminal that reports 0x0 (script without a terminal around it): an 80x24 frame",
  ignore: !HAS_SCRIPT,
  fn: async () => {
    await using svc = new Services();
    const name = uniqueName("zero");
    await svc.start(name, ["--ready-after", "0"], ["sleep", "1000"]);
    await using pty = new PtySession(
      `${Deno.execPath()} run -A --quiet ${CLI} top --dir ${svc.dir.path} --interval 1s`,
      { env: { NO_COLOR: "" }, columns: 0, rows: 0 },
    );
    const frame = await frameWhere(pty, (f) => f.includes(name), "a frame with the service");
    assert.match(frame, /^pidkit top /);
    assert.ok(frame.split("\n").every((l) => l.length <= 80), frame);
    await pty.type("q");
    await pty.ended();
  },
});
if (!HAS_SCRIPT) console.log("skip: util-linux script is not installed: top's terminal tests");

Deno.test("top without a terminal: one snapshot as list prints it, exit 0; a bad --interval is exit 2", async () => {
  await using svc = new Services();
  const name = uniqueName("snap");
  await svc.start(name, ["--ready-after", "0"], ["sleep", "1000"]);
  const top = await svc.cli(["top"]);
  assert.equal(top.code, 0, top.stderr);
  const list = await svc.cli(["list"]);
  const heads = (t: string) => t.split("\n")[0];
  assert.equal(heads(top.stdout), heads(list.stdout));
  assert.match(top.stdout, new RegExp(`^${name} +running +\\d+ `, "m"));
  assert.equal(top.stdout.split("\n").length, list.stdout.split("\n").length);
  assert.ok(!top.stdout.includes("\x1b"), "no escape sequences into a pipe");
  const bad = await svc.cli(["top", "--interval", "10ms"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "pidkit top: bad --interval '10ms' (at least 100ms)\n");
  const junk = await svc.cli(["top", "--interval", "soon"]);
  assert.equal(junk.code, 2);
  assert.match(junk.stderr, /^pidkit top: bad duration 'soon'/);
});
