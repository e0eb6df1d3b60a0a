/**
 * `supervisorLockOf` tells a run directory's supervisor by the exclusive
 * flock it took on `DIR/supervisor.lock`, read through that very
 * descriptor (`/proc/PID/fdinfo/N`), not from `/proc/locks`, which the
 * kernel generates a page at a time and can skip a line of while other
 * locks come and go.
 */
import assert from "node:assert/strict";
import { supervisorLockOf } from "../../src/os/supervisor_lock.ts";
import { tempDir } from "../_util/helpers.ts";

Deno.test("supervisorLockOf: the exclusive lock on supervisor.lock, through the descriptor", async () => {
  using dir = tempDir("pidkit-suplock-");
  const path = dir.join("supervisor.lock");
  const file = await Deno.open(path, { read: true, write: true, create: true });
  try {
    assert.equal(supervisorLockOf(Deno.pid), "none", "open but not locked");
    await file.lock(false);
    assert.equal(supervisorLockOf(Deno.pid), "none", "a shared lock is not the supervisor's");
    await file.unlock();
    await file.lock(true);
    assert.deepEqual(supervisorLockOf(Deno.pid), { dir: dir.path });
    // Among many other locks (a /proc/locks of several pages), some let go between looks.
    const others = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => Deno.open(dir.join(`other-${i}.lock`), { read: true, write: true, create: true }),
      ),
    );
    try {
      for (const o of others) await o.lock(true);
      for (let round = 0; round < 20; round++) {
        assert.deepEqual(supervisorLockOf(Deno.pid), { dir: dir.path });
        for (const o of others.slice(round * 5, round * 5 + 5)) await o.unlock();
      }
    } finally {
      for (const o of others) o.close();
    }
    await file.unlock();
    assert.equal(supervisorLockOf(Deno.pid), "none");
  } finally {
    file.close();
  }
});
