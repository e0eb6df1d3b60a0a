/**
 * `pidkit supervise --config FILE` on real processes: it brings the file
 * up, tells NOTIFY_SOCKET READY=1 and STATUS=, reconciles on SIGHUP (the
 * changed service restarted, the unchanged one untouched), stops
 * everything on SIGTERM; after a SIGKILL, `up` (or the next supervise)
 * adopts what runs and starts nothing twice.
 */
import assert from "node:assert/strict";
import { libc } from "../../src/os/libc.ts";
import { NotifySocket } from "../../src/service/readiness/notify_socket.ts";
import { readServiceRecord } from "../../src/service/model/service_record.ts";
import { alive, CLI, killQuietly, tempDir, waitUntil } from "../_util/helpers.ts";
import { markedProcesses, Services, uniqueName } from "../_util/service_dir.ts";

const hasFfi = libc() !== undefined;

class Supervised implements AsyncDisposable {
  readonly services = new Services();
  readonly home = tempDir("pidkit-stack-");
  readonly file = this.home.join("pidkit.jsonc");
  child?: Deno.ChildProcess;
  output?: Promise<Deno.CommandOutput>;

  write(services: Record<string, unknown>): void {
    Deno.writeTextFileSync(this.file, JSON.stringify({ services }, null, 2));
  }

  supervise(env: Record<string, string> = {}): Deno.ChildProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, "supervise", "--config", this.file],
      env: { PIDKIT_DIR: this.services.dir.path, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.services.pid(child.pid);
    this.child = child;
    this.output = child.output();
    return child;
  }

  async pid(name: string): Promise<number | undefined> {
    const r = await readServiceRecord(this.services.dir.join(`${name}.json`));
    if (r) this.services.record(r);
    return (r?.phase === "running" || r?.phase === "starting") && r.tree ? r.tree.pid : undefined;
  }

  async running(name: string): Promise<boolean> {
    const r = (await this.services.cli(["status", name])).code;
    return r === 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child) killQuietly(this.child.pid);
    await this.output?.catch(() => {});
    await this.services[Symbol.asyncDispose]();
    this.home[Symbol.dispose]();
  }
}

Deno.test({
  name: "supervise --config: up, READY=1, SIGHUP reconciles the changed only, SIGTERM stops all",
  ignore: !hasFfi,
  async fn() {
    await using s = new Supervised();
    await using sock = tempDir("pidkit-notify-");
    const socket = NotifySocket.bind(sock.join("notify"));
    try {
      s.write({
        db: { cmd: ["sleep", "1101"], ready: { after: "200ms" } },
        web: { cmd: ["sleep", "1102"], dependsOn: ["db"] },
      });
      const child = s.supervise({ NOTIFY_SOCKET: socket.path });
      const messages: string[] = [];
      const drain = () => {
        for (let d = socket.receive(); d; d = socket.receive()) messages.push(d.text);
      };
      await waitUntil(() => (drain(), messages.some((m) => m.includes("READY=1"))), {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: "READY=1 from supervise --config",
      });
      assert.ok(messages.some((m) => /STATUS=2 services up/.test(m)), messages.join(" | "));
      const db = await s.pid("db");
      const web = await s.pid("web");
      assert.ok(db && web);
      // the services never see the supervisor's NOTIFY_SOCKET
      const env = (await Deno.readTextFile(`/proc/${web}/environ`)).split("\0");
      assert.ok(!env.some((kv) => kv === `NOTIFY_SOCKET=${socket.path}`));

      s.write({
        db: { cmd: ["sleep", "1101"], ready: { after: "200ms" } },
        web: { cmd: ["sleep", "1103"], dependsOn: ["db"] },
      });
      Deno.kill(child.pid, "SIGHUP");
      await waitUntil(async () => {
        const now = await s.pid("web");
        return now !== undefined && now !== web;
      }, { timeoutMs: 60_000, intervalMs: 50, what: "web restarted after SIGHUP" });
      assert.equal(await s.pid("db"), db, "db untouched");

      // a file that no longer reads changes nothing
      await Deno.writeTextFile(s.file, "{ not json");
      Deno.kill(child.pid, "SIGHUP");
      await waitUntil(() => (drain(), messages.some((m) => /not reloaded/.test(m))), {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: "the refused reload said",
      });
      assert.equal(await s.pid("db"), db);

      Deno.kill(child.pid, "SIGTERM");
      const out = await s.output!;
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      drain();
      assert.ok(messages.some((m) => m.includes("STOPPING=1")));
      assert.ok(!alive(db!), "db stopped");
      const stderr = new TextDecoder().decode(out.stderr);
      assert.match(stderr, /^started db \(pid \d+\)$/m);
      assert.match(stderr, /^restarted web \(pid \d+\): changed: cmd$/m);
      // its own lines after the prefix its journal lines have
      const file = s.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(stderr, new RegExp(`^pidkit supervise: SIGHUP: reading ${file} again$`, "m"));
      assert.match(
        stderr,
        new RegExp(`^pidkit supervise: ${file}: not reloaded: .*unchanged$`, "m"),
      );
      assert.doesNotMatch(stderr, /^SIGHUP/m);
    } finally {
      socket.close();
    }
  },
});

Deno.test("supervise --config SIGKILLed: up adopts, starts nothing twice; so does the next supervise", async () => {
  await using s = new Supervised();
  // Names of this run only: markedProcesses looks at every process of the machine.
  const [a, b, w] = ["a", "b", "w"].map((n) => uniqueName(n));
  s.write({
    [a]: { cmd: ["sleep", "1111"] },
    [b]: { cmd: ["sleep", "1112"], dependsOn: [a] },
    [w]: { cmd: ["sleep", "1113"], instances: 2 },
  });
  const first = s.supervise();
  await waitUntil(
    async () => (await s.pid(b)) !== undefined && (await s.pid(`${w}.2`)) !== undefined,
    {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: "the stack up under supervise --config",
    },
  );
  const pids = { a: await s.pid(a), b: await s.pid(b), w1: await s.pid(`${w}.1`) };
  Deno.kill(first.pid, "SIGKILL");
  await s.output;
  const up = await s.services.cli(["up", "-c", s.file]);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /nothing to do: 4 unchanged/);
  assert.equal(await s.pid(a), pids.a);
  assert.equal(await s.pid(b), pids.b);
  for (const name of [a, b, `${w}.1`, `${w}.2`]) {
    assert.equal(markedProcesses(name).length, 1, `one ${name}`);
  }
  // the next supervise --config (once the background supervisor up launched is gone) adopts too
  const down = await s.services.cli(["stop", `${w}.2`]);
  assert.equal(down.code, 0);
  const sup = s.services.supervisorPid();
  if (sup) Deno.kill(sup, "SIGKILL");
  await waitUntil(() => sup === undefined || !alive(sup), { what: "the supervisor gone" });
  s.supervise();
  await waitUntil(async () => (await s.pid(`${w}.2`)) !== undefined, {
    timeoutMs: 60_000,
    intervalMs: 50,
    what: "w.2 started again by the next supervise",
  });
  assert.equal(await s.pid(a), pids.a, "adopted, not restarted");
  assert.equal(await s.pid(`${w}.1`), pids.w1);
  for (const name of [a, b, `${w}.1`, `${w}.2`]) {
    assert.equal(markedProcesses(name).length, 1, `one ${name}`);
  }
});

Deno.test("supervise --config with a bad file: exit 2, nothing started", async () => {
  await using s = new Supervised();
  await Deno.writeTextFile(s.file, '{ "services": { "a": { "cmd": "x", "instances": 0 } } }');
  s.supervise();
  const out = await s.output!;
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /services\.a\.instances/);
  assert.equal(s.services.supervisorPid(), undefined);
});

Deno.test({
  name:
    "supervise --config: READY=1 once every service is ready or failed for good, STATUS= names the failed",
  ignore: !hasFfi,
  async fn() {
    await using s = new Supervised();
    await using sock = tempDir("pidkit-notify-");
    const socket = NotifySocket.bind(sock.join("notify"));
    try {
      s.write({
        slow: { cmd: ["sleep", "1121"], ready: { after: "1500ms" } },
        bad: { cmd: "sleep 0.2; exit 3", ready: { after: "1s" } },
        needsBad: { cmd: ["sleep", "1122"], dependsOn: ["bad"] },
      });
      s.supervise({ NOTIFY_SOCKET: socket.path });
      const messages: string[] = [];
      const drain = () => {
        for (let d = socket.receive(); d; d = socket.receive()) messages.push(d.text);
      };
      await waitUntil(() => (drain(), messages.some((m) => m.includes("READY=1"))), {
        timeoutMs: 60_000,
        intervalMs: 20,
        what: "READY=1 from supervise --config",
      });
      // not before the slow one is ready: its record says running (not starting) by then
      const slow = await readServiceRecord(s.services.dir.join("slow.json"));
      if (slow) s.services.record(slow);
      assert.equal(slow?.phase, "running", "READY=1 waited for slow's readiness");
      const ready = messages.findIndex((m) => m.includes("READY=1"));
      const status = messages.slice(0, ready + 1).findLast((m) => m.startsWith("STATUS="));
      assert.match(status ?? "", /^STATUS=1 up, 2 not: bad failed, needsBad not-started$/);
    } finally {
      socket.close();
    }
  },
});
