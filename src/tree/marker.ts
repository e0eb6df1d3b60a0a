/**
 * The tree marker and the names it carries, defined once: every process a
 * tree starts carries `PIDKIT_SERVICE=<name>:<nonce>` in its environment;
 * `<name>` follows the one name rule for trees and services (a service's
 * tree is named after the service); `<nonce>` is 8 to 32 lowercase hex
 * digits chosen for one spawn; the tree's cgroup is `pidkit/<name>-<nonce>`.
 *
 * @module
 */

/** The environment variable that carries a tree's marker. */
export const MARKER_VAR = "PIDKIT_SERVICE";

/** The name rule: 1 to 64 of `A-Z a-z 0-9 . _ -`, and not `.` or `..`. */
const NAME = "[A-Za-z0-9._-]{1,64}";
/** The nonce rule: 8 to 32 lowercase hex digits. */
const NONCE = "[0-9a-f]{8,32}";
const NAME_RE = new RegExp(`^${NAME}$`);
const NONCE_RE = new RegExp(`^${NONCE}$`);
const MARKER_RE = new RegExp(`^(${NAME}):(${NONCE})$`);

/** The name rule in words, for error messages. */
export const NAME_RULE = "1 to 64 of A-Z a-z 0-9 . _ -, not . or ..";

/**
 * Whether `name` is a valid tree or service name: 1 to 64 characters from
 * `A-Z a-z 0-9 . _ -`, and not `.` or `..` (so a service name can never
 * leave its run directory).
 *
 * @example
 * ```ts
 * import { isValidName } from "./marker.ts";
 * isValidName("web-1"); // true
 * isValidName("../etc"); // false
 * ```
 */
export function isValidName(name: string): boolean {
  return typeof name === "string" && NAME_RE.test(name) && name !== "." && name !== "..";
}

/**
 * A valid name made from a program's path: its base name with every
 * character outside the name alphabet replaced by `_`, cut to 64
 * characters; `tree` when nothing is left.
 *
 * @example
 * ```ts
 * import { nameFromProgram } from "./marker.ts";
 * nameFromProgram("/usr/bin/python3.12"); // "python3.12"
 * nameFromProgram("./my app"); // "my_app"
 * ```
 */
export function nameFromProgram(program: string): string {
  const base = program.slice(program.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9._-]/g, "_");
  const name = base.slice(0, 64).replace(/^\.+$/, "_");
  return name === "" ? "tree" : name;
}

/**
 * Whether `nonce` is a valid marker nonce: 8 to 32 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { isValidNonce } from "./marker.ts";
 * isValidNonce("1f2e3d4c5b6a"); // true
 * ```
 */
export function isValidNonce(nonce: string): boolean {
  return typeof nonce === "string" && NONCE_RE.test(nonce);
}

/**
 * A fresh random nonce (12 lowercase hex digits) for one spawn.
 *
 * @example
 * ```ts
 * import { makeNonce } from "./marker.ts";
 * console.log(makeNonce()); // e.g. "1f2e3d4c5b6a"
 * ```
 */
export function makeNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A marker's parts. */
export interface Marker {
  /** The tree's (or service's) name. */
  name: string;
  /** The nonce of one spawn. */
  nonce: string;
}

/**
 * The marker `<name>:<nonce>` (the value of `PIDKIT_SERVICE`). The parts
 * are not checked here: check them with {@linkcode isValidName} and
 * {@linkcode isValidNonce} first.
 *
 * @example
 * ```ts
 * import { formatMarker } from "./marker.ts";
 * formatMarker("web", "1f2e3d4c5b6a"); // "web:1f2e3d4c5b6a"
 * ```
 */
export function formatMarker(name: string, nonce: string): string {
  return `${name}:${nonce}`;
}

/**
 * The parts of a marker, or `undefined` when `text` is not a valid
 * `<name>:<nonce>`.
 *
 * @example
 * ```ts
 * import { parseMarker } from "./marker.ts";
 * parseMarker("web:1f2e3d4c5b6a"); // { name: "web", nonce: "1f2e3d4c5b6a" }
 * parseMarker("web:xyz"); // undefined
 * ```
 */
export function parseMarker(text: string): Marker | undefined {
  if (typeof text !== "string") return undefined;
  const m = MARKER_RE.exec(text);
  if (m === null || !isValidName(m[1])) return undefined;
  return { name: m[1], nonce: m[2] };
}

/**
 * The environment entry every member of the tree carries:
 * `PIDKIT_SERVICE=<marker>`.
 *
 * @example
 * ```ts
 * import { markerEntry } from "./marker.ts";
 * markerEntry("web:1f2e3d4c5b6a"); // "PIDKIT_SERVICE=web:1f2e3d4c5b6a"
 * ```
 */
export function markerEntry(marker: string): string {
  return `${MARKER_VAR}=${marker}`;
}

/**
 * The marker in a process's environment (a list of `KEY=VALUE` entries), if
 * it carries one.
 *
 * @example
 * ```ts
 * import { markerIn } from "./marker.ts";
 * markerIn(["PATH=/bin", "PIDKIT_SERVICE=web:1f2e3d4c5b6a"]); // "web:1f2e3d4c5b6a"
 * ```
 */
export function markerIn(environ: readonly string[]): string | undefined {
  const prefix = `${MARKER_VAR}=`;
  return environ.find((e) => e.startsWith(prefix))?.slice(prefix.length);
}

/**
 * The directory below which every tree's cgroup is created
 * (`pidkit/<name>-<nonce>`). Defined here, not in cgroup.ts, so that
 * `status` can recognise a tree's cgroup without loading the tracker.
 *
 * @example
 * ```ts
 * import { CGROUP_PARENT } from "./marker.ts";
 * console.log(`/sys/fs/cgroup/${CGROUP_PARENT}`);
 * ```
 */
export const CGROUP_PARENT = "pidkit";

/**
 * The name of the tree's cgroup (`<name>-<nonce>`, created below the
 * `pidkit` directory, {@linkcode CGROUP_PARENT}) for a valid marker.
 *
 * @example
 * ```ts
 * import { cgroupLeaf } from "./marker.ts";
 * cgroupLeaf("web:1f2e3d4c5b6a"); // "web-1f2e3d4c5b6a"
 * ```
 */
export function cgroupLeaf(marker: string): string {
  const i = marker.lastIndexOf(":");
  return `${marker.slice(0, i)}-${marker.slice(i + 1)}`;
}

/**
 * Whether the cgroup path `path` (absolute, or relative to the cgroup2
 * mount as `/proc/PID/cgroup` gives it) is the cgroup of the tree with this
 * marker: it ends in `/pidkit/<name>-<nonce>`.
 *
 * @example
 * ```ts
 * import { isTreeCgroup } from "./marker.ts";
 * isTreeCgroup("/sys/fs/cgroup/pidkit/web-1f2e3d4c5b6a", "web:1f2e3d4c5b6a"); // true
 * ```
 */
export function isTreeCgroup(path: string, marker: string): boolean {
  return path.endsWith(`/${CGROUP_PARENT}/${cgroupLeaf(marker)}`);
}
