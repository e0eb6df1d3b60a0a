/**
 * `pidkit startup systemd`: the unit runs `supervise --config` with
 * absolute paths, Type=notify, ExecReload with SIGHUP, KillMode=process;
 * `systemd-analyze verify` accepts it (skipped where missing); `--write
 * --user` installs it in the user unit directory.
 */
import assert from "node:assert/strict";
import { hasProgram, runCli, tempDir } from "../_util/helpers.ts";
import { nobodyCli, readableCopy } from "../_util/readable_copy.ts";

const hasAnalyze = hasProgram("systemd-analyze");
if (!hasAnalyze) console.log("skip: systemd-analyze is not installed, units are not verified");

function declare(dir: string): string {
  const file = `${dir}/pidkit.jsonc`;
  Deno.writeTextFileSync(
    file,
    JSON.stringify({
      services: {
        db: { cmd: ["sleep", "100"], ready: { after: "1s", timeout: "20s" } },
        web: { cmd: "sleep 100", dependsOn: ["db"], retry: "TERM/30/KILL/5" },
      },
    }),
  );
  return file;
}

Deno.test("startup systemd prints a unit systemd-analyze verify accepts", async () => {
  using home = tempDir("pidkit-startup-");
  const file = declare(home.path);
  const r = await runCli(["startup", "systemd", "-c", file, "--dir", home.join("run")]);
  assert.equal(r.code, 0, r.stderr);
  const unit = r.stdout;
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^KillMode=process$/m);
  assert.match(unit, /^Environment="?PATH=/m, "the caller's PATH");
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  assert.match(unit, /^# +systemctl enable --now pidkit-pidkit-startup-[^ ]+\.service$/m);
  // db's 20 s and web's default 60 s ready timeouts in a row, plus 30 s; web's 35 s stop plus 15 s
  assert.match(unit, /^TimeoutStartSec=110$/m);
  assert.match(unit, /^TimeoutStopSec=50$/m);
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1].split(" ");
  assert.deepEqual(exec.slice(0, 2), ["/usr/bin/env", "--ignore-signal=USR1"]);
  assert.ok(exec[2].startsWith("/"), `an absolute program: ${exec[2]}`);
  assert.ok((await Deno.stat(exec[2])).isFile);
  const sup = exec.indexOf("supervise");
  assert.deepEqual(exec.slice(sup), ["supervise", "--config", file, "--dir", home.join("run")]);
  // this checkout's cli.ts, run by this deno
  const cli = exec.find((a) => a.endsWith("/cli.ts"));
  assert.ok(cli && (await Deno.stat(cli)).isFile, exec.join(" "));
  if (!hasAnalyze) return;
  const path = home.join("pidkit-test.service");
  await Deno.writeTextFile(path, unit);
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", "--man=no", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.equal(text.trim(), "", `systemd-analyze verify said: ${text}`);
});

Deno.test("startup systemd --user --write installs the unit under XDG_CONFIG_HOME", async () => {
  using home = tempDir("pidkit-startup-");
  const file = declare(home.path);
  const env = { XDG_CONFIG_HOME: home.join("config"), XDG_RUNTIME_DIR: home.join("xdg") };
  const r = await runCli(["startup", "systemd", "-c", file, "--user", "--write"], { env });
  assert.equal(r.code, 0, r.stderr);
  const name = /systemctl --user enable --now (\S+)/.exec(r.stdout)![1];
  const unit = await Deno.readTextFile(home.join(`config/systemd/user/${name}`));
  assert.match(unit, /^WantedBy=default\.target$/m);
  assert.match(unit, /loginctl enable-linger/);
  assert.match(unit, new RegExp(`--dir ${home.join("xdg")}/pidkit$`, "m"));
  assert.doesNotMatch(unit, /Delegate=/);
  const again = await runCli(["startup", "systemd", "-c", file, "--user", "--write"], { env });
  assert.match(again.stdout, /is up to date/);
});

Deno.test("startup: an unknown init system or a bad file is exit 2", async () => {
  using home = tempDir("pidkit-startup-");
  const file = declare(home.path);
  const r = await runCli(["startup", "upstart", "-c", file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown init system 'upstart'/);
  await Deno.writeTextFile(file, "{");
  const bad = await runCli(["startup", "systemd", "-c", file]);
  assert.equal(bad.code, 2);
});

Deno.test("startup systemd --write: a unit directory it cannot write is one line, exit 1", async () => {
  // As a user who is not root, /etc/systemd/system refuses the write; a file where
  // the directory should be fails the same way for root too.
  using home = tempDir("pidkit-startup-");
  const file = declare(home.path);
  await Deno.writeTextFile(home.join("config"), "a file, not a directory\n");
  const env = { XDG_CONFIG_HOME: home.join("config"), XDG_RUNTIME_DIR: home.join("xdg") };
  const r = await runCli(["startup", "systemd", "-c", file, "--user", "--write"], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^pidkit startup: cannot write .*\/config\/systemd\/user\/pidkit-.*\.service: /,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.equal(await Deno.readTextFile(home.join("config")), "a file, not a directory\n");
});

const asNobody = Deno.uid() === 0 && hasProgram("setpriv");
if (!asNobody) {
  console.log("skip: startup systemd as a user who is not root needs root and setpriv");
}

Deno.test({
  name: "startup systemd as uid 65534: a note that a system unit runs as root; --write is one line",
  ignore: !asNobody,
  fn: async () => {
    using home = tempDir("pidkit-startup-");
    await Deno.chmod(home.path, 0o777);
    const file = declare(home.path);
    const nobody = nobodyCli("setpriv", readableCopy(home.path), home.path);
    const printed = await nobody(["startup", "systemd", "-c", file, "--dir", home.join("run")]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^ExecStart=/m);
    assert.match(
      printed.stderr,
      /^note: a system unit runs its supervisor and services as root; --user/m,
    );
    const written = await nobody([
      "startup",
      "systemd",
      "-c",
      file,
      "--dir",
      home.join("run"),
      "--write",
    ]);
    assert.equal(written.code, 1, written.stderr);
    assert.match(
      written.stderr.trim(),
      /^pidkit startup: cannot write \/etc\/systemd\/system\/pidkit-.*\.service: permission denied \(a system unit needs root; --user installs a user unit\)$/,
    );
  },
});
