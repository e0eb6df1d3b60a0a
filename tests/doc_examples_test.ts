// deno-lint-ignore-file no-sync-fn-in-async-fn -- the test writes small files between examples; nothing else runs meanwhile
/**
 * Every example is run, not only type-checked: the ```ts blocks of the
 * README and of the docs/ pages (a block fenced ```ts ignore, such as a server
 * that runs until stopped, is shown but not run) and the `@example`s of every export of the entry points (mod.ts,
 * tree.ts, service.ts, stack.ts), each in a process of its own, in a temporary
 * directory of its own. Paths under /tmp and /run point into it, the run
 * directory is a fresh one, `server.ts` is a small HTTP server on a free
 * port (for port 8080), and what an example expects is there before it
 * runs: a service `web` (or `nginx`) running, a held `app.pid`. Each must
 * exit 0 within its time; whatever it started is ended afterwards.
 */
import assert from "node:assert/strict";
import { PidFile } from "../mod.ts";
import { killQuietly, ROOT, tempDir } from "./_util/helpers.ts";
import { Services } from "./_util/service_dir.ts";

interface Example {
  /** Where it is: `README block N` or the export's path, e.g. `service.ts.stopService`. */
  where: string;
  code: string;
  /** The file that declares it (its relative imports are relative to it). */
  file?: string;
}

/** The Markdown pages whose ```ts blocks are run: the README, then docs/ by name. */
function markdownPages(): string[] {
  const docs = [...Deno.readDirSync(`${ROOT}/docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...docs];
}

/** The ```ts blocks of a Markdown file (not ```ts ignore). */
function markdownExamples(file: string): Example[] {
  const text = Deno.readTextFileSync(`${ROOT}/${file}`);
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m, i) => ({
    where: `${file} block ${i + 1}`,
    code: m[1],
  }));
}

/** The `@example` blocks of every export of the entry points (and their members), once each. */
async function jsdocExamples(): Promise<Example[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts", "tree.ts", "service.ts", "stack.ts"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.ok(out.success, "deno doc --json failed");
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const found: Example[] = [];
  const seen = new Set<string>();
  const walk = (node: unknown, where: string, file: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, where, file));
    if (typeof node !== "object" || node === null) return;
    const o = node as Record<string, unknown>;
    const here = typeof o.name === "string" ? `${where}.${o.name}` : where;
    const location = o.location as { filename?: string } | undefined;
    const declaredIn = location?.filename ?? file;
    if (o.kind === "example" && typeof o.doc === "string") {
      const m = /```ts\n([\s\S]*?)```/.exec(o.doc);
      if (m && !seen.has(m[1])) {
        seen.add(m[1]);
        found.push({ where, code: m[1], file: declaredIn });
      }
    }
    for (const v of Object.values(o)) walk(v, here, declaredIn);
  };
  for (const [file, node] of Object.entries(doc.nodes as Record<string, unknown>)) {
    walk(node, file.slice(file.lastIndexOf("/") + 1), file);
  }
  return found;
}

const STACK = `{
  // redis first; web once redis is ready; three workers
  "services": {
    "redis": { "cmd": ["redis-server", "--supervised", "systemd"], "ready": { "notify": true } },
    "web": { "cmd": "deno run -A server.ts", "dependsOn": ["redis"], "ready": { "tcp": "127.0.0.1:8000" } },
    "worker": { "cmd": ["deno", "run", "-A", "worker.ts"], "instances": 3 },
  },
}
`;

/** A TCP port nobody listens on now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** The example as a runnable module: the package's imports and its paths made local. */
function localize(
  code: string,
  work: string,
  runDir: string,
  port: number,
  file?: string,
): string {
  // Relative imports (an export documented from inside src/) from where it is declared.
  const base = file?.slice(0, file.lastIndexOf("/") + 1);
  return code
    .replaceAll(
      /(from |import\()"(\.\.?\/[^"]+)"/g,
      (all, kw: string, rel: string) =>
        base ? `${kw}${JSON.stringify(new URL(rel, base).href)}` : all,
    )
    .replaceAll('"@pidkit/pidkit/service"', JSON.stringify(`file://${ROOT}/service.ts`))
    .replaceAll('"@pidkit/pidkit/tree"', JSON.stringify(`file://${ROOT}/tree.ts`))
    .replaceAll('"@pidkit/pidkit/stack"', JSON.stringify(`file://${ROOT}/stack.ts`))
    .replaceAll('"@pidkit/pidkit"', JSON.stringify(`file://${ROOT}/mod.ts`))
    .replaceAll(
      /(["'`])(\/tmp\/pidkit-example|\/tmp\/my-services|\/run\/pidkit|\/tmp|\/run)(?=[/"'`])/g,
      (_, quote: string, path: string) =>
        quote + (path === "/tmp" || path === "/run" ? work : runDir),
    )
    // after the /tmp paths (work is under /tmp); "/srv/app" and paths in it
    .replaceAll(/"\/srv\/app(?=[/"])/g, `"${work}`)
    .replaceAll("8080", String(port));
}

/** What an example expects to find: a running service, a held PID file. */
function needs(code: string): { web: boolean; nginx: boolean; heldApp: boolean } {
  const startsWeb = /\bstartService\("web"/.test(code) && !/ServiceAlreadyRunningError/.test(code);
  return {
    web: (/"web"/.test(code) || /web\.json/.test(code)) && !startsWeb && !/waitService/.test(code),
    nginx: /signalService\("nginx"/.test(code),
    heldApp: /readPidFile\(/.test(code),
  };
}

/** SIGKILL every process whose environment carries `DOC_EXAMPLE=tag` (trees an example left). */
function killTagged(tag: string): void {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = Deno.readTextFileSync(`/proc/${e.name}/environ`).split("\0");
      if (env.includes(`DOC_EXAMPLE=${tag}`)) killQuietly(Number(e.name));
    } catch { /* gone, or not ours to read */ }
  }
}

async function runExample(example: Example): Promise<void> {
  await using s = new Services();
  using work = tempDir("pidkit-example-");
  const port = freePort();
  Deno.writeTextFileSync(
    work.join("server.ts"),
    `Deno.serve({ hostname: "127.0.0.1", port: ${port}, onListen() {} }, () => new Response("ok"));\n`,
  );
  // The declaration the README's, the docs' and the man page's examples describe: its web is
  // server.ts, its workers a process that waits.
  Deno.writeTextFileSync(work.join("pidkit.jsonc"), STACK.replaceAll("8000", String(port)));
  Deno.writeTextFileSync(work.join("worker.ts"), "setInterval(() => {}, 60_000);\n");
  const want = needs(example.code);
  for (const name of [want.web ? "web" : "", want.nginx ? "nginx" : ""].filter((n) => n)) {
    const r = await s.cli(["start", name, "--", "sleep", "1000"]);
    assert.equal(r.code, 0, `setup of ${example.where}: ${r.stderr}`);
    await s.state(name);
  }
  await using _held = want.heldApp ? await PidFile.acquire(work.join("app.pid")) : undefined;
  const file = work.join("example.ts");
  Deno.writeTextFileSync(file, localize(example.code, work.path, s.dir.path, port, example.file));
  const tag = crypto.randomUUID();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--quiet", file],
    cwd: work.path,
    env: { PIDKIT_DIR: s.dir.path, DOC_EXAMPLE: tag, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => killQuietly(child.pid), 60_000);
  try {
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const shown =
      `${example.where}:\n${example.code}\n--- stdout:\n${stdout}--- stderr:\n${stderr}`;
    assert.equal(out.code, 0, `exit ${out.code}: ${shown}`);
    assert.doesNotMatch(stdout + stderr, /\bundefined\b.*->|pid undefined|NaN/, shown);
    if (/onProgress/.test(example.code) && /await stopService/.test(example.code)) {
      assert.notEqual(stderr + stdout, "", `it shows no progress: ${shown}`);
    }
  } finally {
    clearTimeout(timer);
    await s.recordAll();
    killTagged(tag);
  }
}

Deno.test("every README, docs/ and JSDoc example of the entry points runs as written", async (t) => {
  const examples = [...markdownPages().flatMap(markdownExamples), ...await jsdocExamples()];
  assert.ok(examples.length > 90, `only ${examples.length} examples found`);
  for (const example of examples) {
    await t.step(example.where, () => runExample(example));
  }
});

Deno.test("service.ts exports the errors startService throws; deno doc --lint passes on each entry point alone", async () => {
  const service = await import("../service.ts");
  for (const name of ["FileError", "TreeError", "PidFileError", "PidkitError", "UsageError"]) {
    assert.equal(typeof (service as Record<string, unknown>)[name], "function", name);
  }
  for (const entry of ["mod.ts", "tree.ts", "service.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--lint", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `deno doc --lint ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  }
});

Deno.test("the published package holds the docs the README links to", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  const include: string[] = config.publish.include;
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  for (const [, link] of readme.matchAll(/\]\(((?:docs|examples)\/[^)#]+)/g)) {
    if (link.startsWith("examples/")) continue; // examples are not published; the README says so
    assert.ok(
      include.some((p) => link === p || (p.endsWith("/") && link.startsWith(p))),
      `${link} is linked from the README but not published`,
    );
  }
});
