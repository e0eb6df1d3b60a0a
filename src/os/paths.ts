/**
 * Path helpers without `node:path`: importing any `node:` module costs a
 * one-shot CLI tens of milliseconds of start-up, and these are all pidkit
 * needs.
 *
 * @module
 */

/** `path` made absolute against `base` (default: the working directory), with `.`, `..` and `//` folded. */
export function absolutePath(path: string, base: string = Deno.cwd()): string {
  const full = path.startsWith("/") ? path : `${base}/${path}`;
  const parts: string[] = [];
  for (const part of full.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The directory part of `path` (`"/"` for a top-level name, `"."` for a bare name). */
export function parentDir(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i);
}
