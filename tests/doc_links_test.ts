/**
 * Every relative link of the README, the CHANGELOG and the docs/ pages
 * resolves: the file or directory exists, and a `#anchor` names a heading of
 * the page it points at (as GitHub spells heading anchors). Links to other
 * sites are not followed: the machines this runs on have no network.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_util/helpers.ts";

/** The Markdown pages whose links are checked, relative to the repository. */
function pages(): string[] {
  const docs = [...Deno.readDirSync(`${ROOT}/docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", "CHANGELOG.md", ...docs];
}

/** The text outside fenced code blocks and inline code, where a `](` is a link. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a page's headings (a repeated heading gets `-1`, `-2`, ...). */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

/** The targets of a page's Markdown links: `[text](target)`, no titles. */
function links(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

Deno.test("slug spells anchors as GitHub does", () => {
  assert.equal(slug("What survives the supervisor's death"), "what-survives-the-supervisors-death");
  assert.equal(
    slug("PID files without a lock: the verification ladder"),
    "pid-files-without-a-lock-the-verification-ladder",
  );
  assert.equal(
    slug("At boot: supervise --config and startup systemd"),
    "at-boot-supervise---config-and-startup-systemd",
  );
  assert.equal(slug("`pidkit up`"), "pidkit-up");
});

Deno.test("every relative link of README.md, CHANGELOG.md and docs/*.md resolves", () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages()) {
    const text = Deno.readTextFileSync(`${ROOT}/${page}`);
    const here = new URL(page, `file://${ROOT}/`);
    for (const link of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:: another site
      checked++;
      const [path, anchor] = link.split("#", 2);
      const target = path === "" ? here : new URL(path, here);
      const file = decodeURIComponent(target.pathname);
      if (!file.startsWith(`${ROOT}/`) && file !== ROOT) {
        broken.push(`${page}: ${link} points outside the repository`);
        continue;
      }
      let exists = true;
      try {
        Deno.statSync(file);
      } catch {
        exists = false;
      }
      if (!exists) {
        broken.push(`${page}: ${link}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (isDirectory(file) || !file.endsWith(".md")) {
        broken.push(`${page}: ${link}: an anchor into something that is not a Markdown page`);
        continue;
      }
      if (!anchors(Deno.readTextFileSync(file)).has(anchor)) {
        broken.push(`${page}: ${link}: no heading with the anchor #${anchor}`);
      }
    }
  }
  assert.ok(checked > 40, `only ${checked} links found: is the link pattern still right?`);
  assert.deepEqual(broken, []);
});

Deno.test("every docs/ page is reachable from the docs index", () => {
  const index = Deno.readTextFileSync(`${ROOT}/docs/README.md`);
  const linked = new Set(links(index).map((l) => l.split("#")[0]));
  const missing = pages()
    .filter((p) => p.startsWith("docs/") && p !== "docs/README.md")
    .map((p) => p.slice("docs/".length))
    .filter((p) => !linked.has(p));
  assert.deepEqual(missing, [], "pages docs/README.md does not list");
});
