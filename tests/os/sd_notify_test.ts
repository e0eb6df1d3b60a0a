/**
 * The sd_notify sender (`sdNotify`): one datagram to a path socket and to
 * an abstract one (`@name`), as systemd's NOTIFY_SOCKET may be either;
 * nothing without a socket.
 */
import assert from "node:assert/strict";
import { libc } from "../../src/os/libc.ts";
import { sdNotify } from "../../src/os/sd_notify.ts";
import { NotifySocket } from "../../src/service/readiness/notify_socket.ts";
import { hasProgram, tempDir } from "../_util/helpers.ts";

const hasFfi = libc() !== undefined;

Deno.test({
  name: "sdNotify sends one datagram to a path socket, from this process",
  ignore: !hasFfi,
  fn() {
    using dir = tempDir();
    const socket = NotifySocket.bind(dir.join("notify"));
    try {
      assert.equal(sdNotify("READY=1\nSTATUS=up", socket.path), true);
      const d = socket.receive()!;
      assert.equal(d.text, "READY=1\nSTATUS=up");
      assert.equal(d.pid, Deno.pid);
      assert.equal(sdNotify("READY=1", undefined), false, "no socket: nothing sent");
      assert.equal(sdNotify("READY=1", "relative/path"), false);
      assert.equal(sdNotify("READY=1", dir.join("missing")), false);
    } finally {
      socket.close();
    }
  },
});

Deno.test({
  name: "sdNotify reaches an abstract socket (@name)",
  ignore: !hasFfi || !hasProgram("python3"),
  async fn() {
    const name = `pidkit-test-${Deno.pid}-${Date.now()}`;
    const receiver = new Deno.Command("python3", {
      args: [
        "-c",
        "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n" +
        `s.bind('\\0${name}')\nprint('bound',flush=True)\ns.settimeout(30)\n` +
        "print(s.recv(4096).decode(),flush=True)",
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = receiver.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("bound\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.equal(sdNotify("READY=1", `@${name}`), true);
    while (!/READY=1/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    await receiver.status;
    assert.match(text, /READY=1/);
  },
});
if (!hasProgram("python3")) console.log("skip: python3 is not installed, no abstract socket test");
