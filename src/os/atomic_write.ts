/**
 * Atomic file replacement: readers see the old content or the new one,
 * never a torn mix, and a crash leaves at worst a temporary file behind.
 *
 * @module
 */

/** Options for {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o644). */
  mode?: number;
  /**
   * Default `true`: fsync the file and then the directory, so the new
   * content survives a crash of the system. `false`: atomic for readers and
   * for a crash of the writing process, not of the system; for files that
   * only describe the running system.
   */
  durable?: boolean;
}

/**
 * Replace `path` with `data` atomically: write a temporary file in the same
 * directory (so the rename cannot cross file systems), fsync it, rename it
 * over `path`, then fsync the directory so the rename itself survives a
 * crash. The temporary name starts with `.` and ends in `.tmp`, so listings
 * of `*.json` never see it.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/state.json`, '{"ok":true}\n');
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const base = path.slice(slash + 1);
  const nonce = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const temp = `${dir}/.${base}.${Deno.pid}-${nonce}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await Deno.open(temp, { write: true, createNew: true, mode: options.mode ?? 0o644 });
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      if (options.durable !== false) await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
  if (options.durable === false) return;
  try {
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}
