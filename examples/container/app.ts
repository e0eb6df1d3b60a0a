/**
 * The example container's service: an HTTP server that, like many real
 * services, leaves orphans behind (each request runs a shell that starts a
 * background job and returns at once). As PID 1, `pidkit run` reaps them;
 * without a reaping init they would stay zombies for the life of the
 * container.
 *
 * Run: `deno run -A examples/container/app.ts` (env `PORT`, default 8000).
 *
 * @module
 */

const port = Number(Deno.env.get("PORT") ?? 8000);

Deno.serve({ port, hostname: "0.0.0.0" }, async () => {
  // The subshell exits right away: its `sleep` is orphaned and reparented
  // to the namespace's init (or to the nearest child subreaper).
  await new Deno.Command("sh", { args: ["-c", "(sleep 1 &)"] }).output();
  return new Response(`hello from pid ${Deno.pid}\n`);
});
