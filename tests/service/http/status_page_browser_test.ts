/**
 * The status page in a real browser: Debian's `chromium`, headless,
 * driven over the DevTools protocol with Deno's own WebSocket. It loads
 * the page, reads the rendered rows, and sees a row change after a stop
 * from the CLI, without a reload. Skipped, with the reason, where
 * chromium is missing.
 */
import assert from "node:assert/strict";
import { hasProgram, killQuietly, Reaper, tempDir } from "../../_util/helpers.ts";
import { Services, uniqueName } from "../../_util/service_dir.ts";
import { ForegroundSupervisor, freePort } from "./http_fixture.ts";

const missing = hasProgram("chromium")
  ? undefined
  : "chromium is not installed (Debian package chromium; .ci/run installs it as root)";
if (missing) console.log(`status_page_browser_test skipped: ${missing}`);

/** A DevTools protocol session over one WebSocket. */
class Cdp {
  readonly #ws: WebSocket;
  #id = 0;
  readonly #pending = new Map<number, (m: { result?: unknown; error?: unknown }) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string);
      if (typeof m.id === "number") this.#pending.get(m.id)?.(m);
    };
  }

  static async open(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    return new Cdp(ws);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (m) => {
        this.#pending.delete(id);
        if (m.error) reject(new Error(`${method}: ${JSON.stringify(m.error)}`));
        else resolve(m.result);
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluate `expression` in the page; its value (JSON-able). */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true }) as {
      result: { value: T };
    };
    return r.result.value;
  }

  close(): void {
    this.#ws.close();
  }
}

/** Wait until `check` returns a value that is not undefined. */
async function poll<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ROWS =
  `JSON.stringify([...document.querySelectorAll("tr[data-service]")].map((r) => [r.dataset.service, r.dataset.state, r.querySelector("td.pid").textContent]))`;

Deno.test({
  name: "status page in headless chromium: rows rendered, a stop from the CLI changes its row live",
  ignore: missing !== undefined,
  async fn() {
    await using svc = new Services();
    await using profile = tempDir("pidkit-chromium-");
    await using reaper = new Reaper();
    const port = freePort();
    await using sup = new ForegroundSupervisor(svc, ["--http", `127.0.0.1:${port}`]);
    await sup.waitFor(/serving http:/);
    const a = uniqueName("a");
    const b = uniqueName("b");
    await svc.start(a, [], ["sleep", "300"]);
    await svc.start(b, [], ["sleep", "300"]);

    const browser = reaper.spawn([
      "chromium",
      "--headless=new",
      ...(Deno.uid() === 0 ? ["--no-sandbox"] : []),
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile.path}`,
      "about:blank",
    ], { stdout: "null", stderr: "null" });
    let cdp: Cdp | undefined;
    try {
      // Chromium says where its DevTools endpoint is in DevToolsActivePort.
      const devtools = await poll(async () => {
        const text = await Deno.readTextFile(profile.join("DevToolsActivePort"));
        const port = Number(text.split("\n")[0]);
        return port > 0 ? port : undefined;
      }, "chromium's DevToolsActivePort");
      const pageUrl = await poll(async () => {
        const list = await (await fetch(`http://127.0.0.1:${devtools}/json/list`)).json();
        return list.find((t: { type: string }) => t.type === "page")?.webSocketDebuggerUrl as
          | string
          | undefined;
      }, "a page target");
      cdp = await Cdp.open(pageUrl);
      await cdp.send("Page.enable");
      await cdp.send("Page.navigate", { url: `http://127.0.0.1:${port}/` });
      const rows = await poll(async () => {
        const r = JSON.parse(await cdp!.eval<string>(ROWS)) as string[][];
        const names = r.map((x) => x[0]);
        return names.includes(a) && names.includes(b) ? r : undefined;
      }, "both rows rendered");
      const rowOf = (r: string[][], n: string) => r.find((x) => x[0] === n)!;
      assert.equal(rowOf(rows, a)[1], "running");
      assert.equal(rowOf(rows, b)[1], "running");
      assert.match(rowOf(rows, b)[2], /^\d+$/, "a PID is shown");
      // A mark on this document: a reload would lose it.
      await cdp.eval(`window.__pidkitMark = 42`);

      const stop = await svc.cli(["stop", b]);
      assert.equal(stop.code, 0, stop.stderr);
      const after = await poll(async () => {
        const r = JSON.parse(await cdp!.eval<string>(ROWS)) as string[][];
        return rowOf(r, b)?.[1] === "stopped" ? r : undefined;
      }, `${b}'s row to say stopped`);
      assert.equal(rowOf(after, b)[2], "-", "no PID once stopped");
      assert.equal(rowOf(after, a)[1], "running");
      assert.equal(await cdp.eval<number>(`window.__pidkitMark`), 42, "no reload");
      // The lifecycle events as the supervisor records them.
      await poll(async () =>
        (await cdp!.eval<boolean>(
            `!!document.querySelector('#events li[data-service="${b}"][data-kind="stopped"]')`,
          ))
          ? true
          : undefined, `${b}'s stopped event listed`);
      // The log lines on demand.
      await cdp.eval(
        `document.querySelector('tr[data-service="${a}"] button').click()`,
      );
      const log = await poll(async () => {
        const t = await cdp!.eval<string | null>(
          `document.querySelector("tr.log pre")?.textContent ?? null`,
        );
        return t && t.includes(`started ${a}`) ? t : undefined;
      }, "the log lines shown");
      assert.match(log, /started/);
    } finally {
      try {
        await Promise.race([cdp?.send("Browser.close"), new Promise((r) => setTimeout(r, 5000))]);
      } catch { /* gone already */ }
      cdp?.close();
      const timer = setTimeout(() => killQuietly(-browser.pid), 20_000);
      await browser.status;
      clearTimeout(timer);
      killQuietly(-browser.pid); // helpers that outlived it (the Reaper kills the group again)
    }
  },
});
