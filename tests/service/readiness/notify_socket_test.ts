/**
 * The pieces under `--ready-notify`, in process: the socket (credentials,
 * oversized datagrams, a stale socket file, a path too long), the message
 * parser, the poller and the watchdog timer.
 */
import assert from "node:assert/strict";
import { libc } from "../../../src/os/libc.ts";
import { FdPoller } from "../../../src/os/fd_poller.ts";
import {
  MAX_SOCKET_PATH,
  NotifySocket,
  notifySocketPath,
  parseNotify,
  prepareNotifyDir,
} from "../../../src/service/readiness/notify_socket.ts";
import { Watchdog } from "../../../src/service/readiness/watchdog.ts";
import { tempDir } from "../../_util/helpers.ts";
import { sendDatagram } from "../../_util/notify_client.ts";

/** Sync file calls for test set-up (the lint rule forbids them straight in async tests). */
const fsSync = {
  chmodSync: Deno.chmodSync,
  lstatSync: Deno.lstatSync,
  removeSync: Deno.removeSync,
  statSync: Deno.statSync,
  symlinkSync: Deno.symlinkSync,
  writeTextFileSync: Deno.writeTextFileSync,
};

const hasFfi = libc() !== undefined;

function send(path: string, payload: Uint8Array): void {
  assert.ok(sendDatagram(path, payload), "sendto failed");
}

Deno.test("parseNotify: KEY=VALUE lines; junk, lower-case keys and NUL bytes skipped", () => {
  assert.deepEqual(parseNotify("READY=1\nSTATUS=a=b c\n\nnope\n=1\nready=1\nX\0=1\nWATCHDOG=1"), [
    { key: "READY", value: "1" },
    { key: "STATUS", value: "a=b c" },
    { key: "WATCHDOG", value: "1" },
  ]);
  assert.deepEqual(parseNotify(""), []);
});

Deno.test("notifySocketPath: DIR/NAME.notify, or the same short path under /tmp/pidkit-n-UID when sun_path is too small", async () => {
  assert.deepEqual(await notifySocketPath("/run/pidkit", "web"), {
    path: "/run/pidkit/web.notify",
    fallback: false,
  });
  const deep = `/${"x".repeat(MAX_SOCKET_PATH)}`;
  const long = await notifySocketPath(deep, "web");
  assert.equal(long.fallback, true);
  assert.ok(long.path.length <= MAX_SOCKET_PATH);
  assert.match(long.path, new RegExp(`^/tmp/pidkit-n-${Deno.uid()}/[0-9a-f]{24}/notify$`));
  // Derived, not drawn: an adopting supervisor finds the same path.
  assert.deepEqual(await notifySocketPath(deep, "web"), long);
  assert.notEqual((await notifySocketPath(deep, "api")).path, long.path);
  assert.notEqual((await notifySocketPath(`${deep}y`, "web")).path, long.path);
});

Deno.test("prepareNotifyDir: 0711 root per uid, 0700 per service; a hostile directory is refused and left", async () => {
  const { path } = await notifySocketPath(`/${"p".repeat(MAX_SOCKET_PATH)}-${Deno.pid}`, "web");
  const dir = prepareNotifyDir(path);
  try {
    assert.equal(dir, path.slice(0, path.lastIndexOf("/")));
    assert.equal(fsSync.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(fsSync.statSync(dir.slice(0, dir.lastIndexOf("/"))).mode! & 0o777, 0o711);
    assert.equal(prepareNotifyDir(path), dir, "reused as it is");
    fsSync.chmodSync(dir, 0o777);
    assert.throws(() => prepareNotifyDir(path), /writable by others; refusing/);
    fsSync.removeSync(dir);
    fsSync.symlinkSync("/tmp", dir);
    assert.throws(() => prepareNotifyDir(path), /is a symbolic link; refusing/);
    assert.ok(fsSync.lstatSync(dir).isSymlink, "left alone");
  } finally {
    fsSync.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "NotifySocket: receives with the sender's PID, drops datagrams over 4 KiB, replaces a stale socket",
  ignore: !hasFfi,
  fn() {
    using dir = tempDir();
    const path = dir.join("t.notify");
    const first = NotifySocket.bind(path);
    first.close();
    // A stale socket file (a killed supervisor's) is replaced, a regular file is refused.
    fsSync.writeTextFileSync(dir.join("plain"), "x");
    assert.throws(() => NotifySocket.bind(dir.join("plain")), /is not a socket/);
    const socket = NotifySocket.bind(path);
    try {
      assert.equal(fsSync.statSync(path).mode! & 0o777, 0o600);
      assert.equal(socket.receive(), undefined);
      send(path, new TextEncoder().encode("READY=1\nSTATUS=hi"));
      const d = socket.receive()!;
      assert.equal(d.pid, Deno.pid);
      assert.equal(d.uid, Deno.uid());
      assert.equal(d.text, "READY=1\nSTATUS=hi");
      assert.equal(d.oversized, false);
      send(path, new Uint8Array(5000).fill(0x41));
      const big = socket.receive()!;
      assert.equal(big.oversized, true);
      assert.equal(big.text, "");
      assert.equal(socket.receive(), undefined);
    } finally {
      socket.close();
    }
    assert.throws(() => fsSync.statSync(path), "close removes the socket file");
  },
});

Deno.test({
  name: "FdPoller: wakes for a readable socket, ends on close",
  ignore: !hasFfi,
  async fn() {
    using dir = tempDir();
    const path = dir.join("p.notify");
    const socket = NotifySocket.bind(path);
    const poller = FdPoller.create()!;
    const got: string[] = [];
    let wake!: () => void;
    const arrived = new Promise<void>((r) => wake = r);
    poller.watch(socket.fd, () => {
      for (let d = socket.receive(); d; d = socket.receive()) got.push(d.text);
      wake();
    });
    send(path, new TextEncoder().encode("STATUS=polled"));
    await arrived;
    assert.deepEqual(got, ["STATUS=polled"]);
    poller.unwatch(socket.fd);
    socket.close();
    await poller.close(); // must return: the pending poll is woken
  },
});

Deno.test("Watchdog: fires once after the period, pings move it, trigger fires at once, disarm stops it", async () => {
  const fired: string[] = [];
  const dog = new Watchdog(500, (why) => fired.push(why));
  dog.ping(); // not armed yet: nothing
  dog.arm();
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 100));
    dog.ping();
  }
  assert.deepEqual(fired, [], "pings kept it quiet");
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(fired.length, 1);
  assert.match(fired[0], /no WATCHDOG=1 within 500 ms/);
  dog.arm();
  dog.trigger();
  assert.equal(fired.length, 2);
  assert.match(fired[1], /WATCHDOG=trigger/);
  dog.arm();
  dog.disarm();
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(fired.length, 2);
});
