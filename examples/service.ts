/**
 * A small HTTP service that holds its own PID file: a second instance is
 * refused with a clear message, and Ctrl-C (SIGINT), SIGTERM or SIGHUP
 * remove the file before the process dies of that signal.
 *
 * Run: `deno run -A examples/service.ts` (env: `PIDFILE`, default
 * `$TMPDIR/pidkit-example-service.pid`; `PORT`, default 8000, 0 = any).
 * Then, from another terminal: `deno run -A cli.ts status --pidfile FILE`,
 * or run it a second time to see the refusal.
 *
 * @module
 */

import { AlreadyRunningError, PidFile } from "../mod.ts";

const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
const pidPath = Deno.env.get("PIDFILE") ?? `${tmp}/pidkit-example-service.pid`;
const port = Number(Deno.env.get("PORT") ?? 8000);

let pidFile: PidFile;
try {
  // removeOnExit (the default) removes the file on Ctrl-C, SIGTERM, SIGHUP
  // and normal exit; the process then dies of the signal as usual.
  pidFile = await PidFile.acquire(pidPath, { format: "json", data: { port } });
} catch (err) {
  if (err instanceof AlreadyRunningError) {
    console.error(`service: already running (${err.message})`);
    Deno.exit(1);
  }
  throw err;
}

const since = new Date().toISOString();
Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ hostname, port }) => {
    pidFile.update({ data: { port } });
    console.log(`listening on http://${hostname}:${port}/ as pid ${pidFile.pid} (${pidPath})`);
  },
}, () => Response.json({ pid: pidFile.pid, since }));
