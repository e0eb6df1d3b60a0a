/**
 * Helpers for tests of PID files nobody locks (daemons' own files): make a
 * file look as written before a process started, the way a PID file looks
 * once its daemon died and the kernel gave the PID to a newcomer.
 *
 * @module
 */

/**
 * Set the modification time of `path` `seconds` into the past (default 60):
 * any process started since then "started after the file was last
 * written", which is what PID reuse looks like to the verification ladder.
 */
export function backdate(path: string, seconds = 60): void {
  const then = new Date(Date.now() - seconds * 1000);
  Deno.utimeSync(path, then, then);
}

/** Write `text` to `path` as a file last written `seconds` ago (see {@linkcode backdate}). */
export function writeOldFile(path: string, text: string, seconds = 60): void {
  Deno.writeTextFileSync(path, text);
  backdate(path, seconds);
}
