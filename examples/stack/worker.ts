// The example's worker: one of worker.1 ... worker.3 (PIDKIT_INSTANCE), doing its rounds.
const me = Deno.env.get("PIDKIT_INSTANCE") ?? "?";
console.log(`worker ${me} up`);
setInterval(() => console.log(`worker ${me}: a round of work`), 10_000);
