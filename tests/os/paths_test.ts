import assert from "node:assert/strict";
import { absolutePath, parentDir } from "../../src/os/paths.ts";

Deno.test("absolutePath folds . and .. and resolves against the cwd", () => {
  assert.equal(absolutePath("/a/./b/../c//d/"), "/a/c/d");
  assert.equal(absolutePath("/.."), "/");
  assert.equal(absolutePath("x/y"), `${Deno.cwd() === "/" ? "" : Deno.cwd()}/x/y`);
});

Deno.test("parentDir", () => {
  assert.equal(parentDir("/run/pidkit/web.pid"), "/run/pidkit");
  assert.equal(parentDir("/web.pid"), "/");
  assert.equal(parentDir("web.pid"), ".");
  assert.equal(parentDir("/run/pidkit/"), "/run");
});
