/**
 * PidFile costs: acquire+release, and probe of a running holder, a stale
 * file and an absent path. Run: `deno bench -A bench/pid_file_bench.ts`.
 * Targets on the project machines: probe <= 50 us, acquire+release <= 150 us.
 *
 * The files live in a temporary directory under `$PIDKIT_BENCH_DIR` (default
 * /dev/shm, a tmpfs like /run where PID files belong); acquire+release is
 * also measured on the temp dir's file system (ext4 here), where the fsync
 * of step 5 of the lock protocol costs a journal commit.
 */
import { PidFile, probe } from "../mod.ts";

const base = Deno.env.get("PIDKIT_BENCH_DIR") ?? "/dev/shm";
const dir = Deno.makeTempDirSync({ prefix: "pidkit-bench-", dir: base });
const diskDir = Deno.makeTempDirSync({ prefix: "pidkit-bench-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
  Deno.removeSync(diskDir, { recursive: true });
});
const fsType = (p: string) =>
  new TextDecoder().decode(
    new Deno.Command("stat", { args: ["-f", "-c", "%T", p], stdout: "piped" }).outputSync().stdout,
  ).trim();
console.log(`bench dir ${dir} (${fsType(dir)}), disk dir ${diskDir} (${fsType(diskDir)})`);

const running = `${dir}/running.pid`;
const stale = `${dir}/stale.pid`;
Deno.writeTextFileSync(stale, "12345\n");
// Held by another process, as in real use (holderPid is then checked through
// /proc/locks and /proc/PID/stat of that process).
const fixture = new URL("../tests/fixtures/pid_holder.ts", import.meta.url).pathname;
const holder = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "--quiet", fixture, running],
  stdout: "piped",
}).spawn();
const first = await holder.stdout.getReader().read();
if (!new TextDecoder().decode(first.value).startsWith("ready")) throw new Error("no holder");
globalThis.addEventListener("unload", () => holder.kill("SIGKILL"));

Deno.bench("acquire+release (plain, removeOnExit: false)", { group: "acquire" }, async () => {
  const pid = await PidFile.acquire(`${dir}/a.pid`, { removeOnExit: false });
  await pid.release();
});

Deno.bench("acquire+release (plain, default removeOnExit)", { group: "acquire" }, async () => {
  const pid = await PidFile.acquire(`${dir}/b.pid`);
  await pid.release();
});

Deno.bench("acquire+release (json record)", { group: "acquire" }, async () => {
  const pid = await PidFile.acquire(`${dir}/c.pid`, { format: "json", removeOnExit: false });
  await pid.release();
});

Deno.bench("acquire+release (plain, on the disk temp dir)", { group: "acquire" }, async () => {
  const pid = await PidFile.acquire(`${diskDir}/d.pid`, { removeOnExit: false });
  await pid.release();
});

Deno.bench("probe: running (holderPid from /proc/locks)", { group: "probe" }, async () => {
  const r = await probe(running);
  if (r.status !== "running") throw new Error(r.status);
});

Deno.bench("probe: stale", { group: "probe" }, async () => {
  const r = await probe(stale);
  if (r.status !== "stale") throw new Error(r.status);
});

Deno.bench("probe: absent", { group: "probe" }, async () => {
  const r = await probe(`${dir}/none.pid`);
  if (r.status !== "absent") throw new Error(r.status);
});
