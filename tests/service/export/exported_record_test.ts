/**
 * `pidkit export systemd NAME` of a service a non-root user started (no
 * --user: it ran as its supervisor's user): the unit says `User=` that
 * user, whoever exports it (the user, or root reading the directory).
 * Without it, a system unit would run the service as root.
 */
import assert from "node:assert/strict";
import { hasProgram, Reaper, runCli, tempDir } from "../../_util/helpers.ts";
import { nobodyCli, readableCopy } from "../../_util/readable_copy.ts";
import { readServiceRecord } from "../../../src/service/model/service_record.ts";
import { findPasswdEntry } from "../../../src/os/passwd.ts";

const asNobody = Deno.uid() === 0 && hasProgram("setpriv");
if (!asNobody) {
  console.log("skip: export of another user's service needs root and setpriv (uid 65534)");
}

Deno.test({
  name:
    "export systemd NAME of a service uid 65534 started: User= that user, exported by it or by root",
  ignore: !asNobody,
  fn: async () => {
    using tmp = tempDir();
    await using reaper = new Reaper();
    await Deno.chmod(tmp.path, 0o777);
    const from = readableCopy(tmp.path);
    const nobody = nobodyCli("setpriv", from, tmp.path);
    const dir = tmp.join("run");
    const user = findPasswdEntry("65534")?.name ?? "65534";
    try {
      const s = await nobody(["start", "idle", "--dir", dir, "--", "sleep", "1000"]);
      assert.equal(s.code, 0, s.stderr);
      const record = await readServiceRecord(`${dir}/idle.json`);
      assert.ok(record?.tree);
      reaper.pid(record.supervisor.pid, record.supervisor.startTime);
      reaper.group(record.tree.pgid, record.tree.startTime);
      for (
        const [who, out] of [["nobody", tmp.join("units-nobody")], ["root", tmp.join("units-root")]]
      ) {
        const args = ["export", "systemd", "idle", "--dir", dir, "--out", out];
        const r = who === "nobody" ? await nobody(args) : await runCli(args);
        assert.equal(r.code, 0, `${who}: ${r.stderr}`);
        const unit = await Deno.readTextFile(`${out}/idle.service`);
        assert.match(unit, new RegExp(`^User=${user}$`, "m"), `${who}'s export:\n${unit}`);
      }
    } finally {
      await nobody(["stop", "idle", "--dir", dir]).catch(() => {});
    }
  },
});
