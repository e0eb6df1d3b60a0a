/**
 * The folders are the layers (os, lock, tree, service, stack, cli, from the bottom up): a module
 * imports only from its own layer or the ones below it, never in a cycle,
 * and no source file grows past what one reader can hold.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const LAYERS = ["os", "lock", "tree", "service", "stack", "cli"];
/** The entry points sit at the root; each belongs to the layer it exposes. */
const ENTRY_LAYER: Record<string, string> = {
  "mod.ts": "lock",
  "tree.ts": "tree",
  "service.ts": "service",
  "stack.ts": "stack",
  "cli.ts": "cli",
};
const MAX_LINES = 650;

function sourceFiles(dir = "src"): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sourceFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

function layerOf(path: string): string | undefined {
  if (path in ENTRY_LAYER) return ENTRY_LAYER[path];
  const m = /^src\/([a-z]+)\//.exec(path);
  return m && LAYERS.includes(m[1]) ? m[1] : undefined;
}

/** The relative modules a file imports (static and dynamic), outside comments. */
function importsOf(path: string): string[] {
  const code = Deno.readTextFileSync(`${ROOT}${path}`)
    .split("\n")
    .filter((line) => !/^\s*(\*|\/\/)/.test(line))
    .join("\n");
  const specs = [
    ...code.matchAll(/\bfrom\s+"(\.[^"]+)"/g),
    ...code.matchAll(/\bimport\(\s*"(\.[^"]+)"\s*\)/g),
  ].map((m) => m[1]);
  const base = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  return specs.filter((s) => s.endsWith(".ts")).map((s) => normalize(`${base}/${s}`));
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

const files = [...sourceFiles(), ...Object.keys(ENTRY_LAYER)];

Deno.test("layers: every source file lives in a layer folder", () => {
  const outside = sourceFiles().filter((f) => layerOf(f) === undefined);
  assert.deepEqual(outside, [], "files outside src/{os,lock,tree,service,stack,cli}/");
});

Deno.test("layers: no module imports from a layer above its own", () => {
  const violations: string[] = [];
  for (const file of files) {
    const own = LAYERS.indexOf(layerOf(file)!);
    for (const dep of importsOf(file)) {
      if (dep === "deno.json") continue;
      const theirs = LAYERS.indexOf(layerOf(dep) ?? "");
      if (theirs > own) {
        violations.push(`${file} (${LAYERS[own]}) imports ${dep} (${LAYERS[theirs]})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("layers: no import cycles", () => {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => d.endsWith(".ts"))]));
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (path.includes(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    if (done.has(file)) return;
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
    done.add(file);
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});

/**
 * The rooms of the service layer (`src/service/ROOM/`), from the bottom up:
 * a room imports only from its own room or the ones below it, as the layers
 * do. model: records, config and vocabulary; output: logs and output FIFOs;
 * events: the journal; readiness: sd_notify, fd and timed readiness;
 * control: the wire between commands and supervisors; inspect: what a
 * service is doing; pidfile: PID files of forking services and foreign
 * holders; policies: schedules, file watching, memory limits; actions:
 * start, stop, restart, signal; export: systemd units; metrics and http: what the
 * supervisor shows; machine: the per-service state machine; supervisor: the
 * run directory's supervisor process; top: the live view's sampler.
 */
const SERVICE_ROOMS = [
  "model",
  "output",
  "events",
  "readiness",
  "control",
  "inspect",
  "pidfile",
  "policies",
  "actions",
  "export",
  "metrics",
  "http",
  "machine",
  "supervisor",
  "top",
];

function roomOf(path: string): string | undefined {
  return /^src\/service\/([a-z_]+)\//.exec(path)?.[1];
}

Deno.test("rooms: every service module lives in a room of src/service/", () => {
  const outside = sourceFiles("src/service").filter((f) => !SERVICE_ROOMS.includes(roomOf(f)!));
  assert.deepEqual(outside, [], `files outside src/service/{${SERVICE_ROOMS.join(",")}}/`);
});

Deno.test("rooms: no service module imports from a room above its own", () => {
  const violations: string[] = [];
  for (const file of sourceFiles("src/service")) {
    const own = SERVICE_ROOMS.indexOf(roomOf(file)!);
    for (const dep of importsOf(file)) {
      const theirs = SERVICE_ROOMS.indexOf(roomOf(dep) ?? "");
      if (theirs > own) violations.push(`${file} (${SERVICE_ROOMS[own]}) imports ${dep}`);
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("tests mirror the source: a test folder is a source folder (or _util, fixtures, torture)", () => {
  // src/service/model/x.ts makes "service/model" and "service" test folders
  const sourceDirs = new Set(
    sourceFiles().flatMap((f) => {
      const parts = f.split("/").slice(1, -1);
      return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    }),
  );
  const misplaced: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}tests/${dir}`)) {
      const path = dir === "" ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory) {
        if (["_util", "fixtures", "torture"].includes(path)) continue;
        walk(path);
      } else if (e.name.endsWith("_test.ts") && dir !== "" && !sourceDirs.has(dir)) {
        misplaced.push(`tests/${path}`);
      }
    }
  };
  walk("");
  assert.deepEqual(misplaced, []);
});

Deno.test(`layers: no source file is over ${MAX_LINES} lines`, () => {
  const long = sourceFiles()
    .map((f) => [f, Deno.readTextFileSync(`${ROOT}${f}`).split("\n").length] as const)
    .filter(([, n]) => n > MAX_LINES)
    .map(([f, n]) => `${f}: ${n}`);
  assert.deepEqual(long, []);
});

Deno.test("entry points: the lock API is small; internals stay internal", async () => {
  const lock = Object.keys(await import("../mod.ts"));
  assert.ok(lock.length <= 25, `mod.ts exports ${lock.length} runtime names: ${lock}`);
  const all = [
    ...lock,
    ...Object.keys(await import("../tree.ts")),
    ...Object.keys(await import("../service.ts")),
  ];
  for (
    const internal of ["writeServiceRecord", "readServiceRecord", "lockHolders", "readProcStat"]
  ) {
    assert.ok(!all.includes(internal), `${internal} is exported`);
  }
});
