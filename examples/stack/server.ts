// The example's web server: answers on $PORT with a PING to redis (RESP over TCP, no library).
const port = Number(Deno.env.get("PORT") ?? 8000);

async function pingRedis(): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: 6379 });
  try {
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim();
  } finally {
    conn.close();
  }
}

Deno.serve({ port, hostname: "127.0.0.1" }, async () => {
  return new Response(`redis says ${await pingRedis()}\n`);
});
