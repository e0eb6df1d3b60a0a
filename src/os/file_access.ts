/**
 * Whether a user may read, write or search a file by its mode bits: the
 * owner's bits for its owner, the group's for a member of its group
 * (primary or supplementary), the others' for anyone else; root may do
 * anything. The one rule for "can this service's user reach that
 * directory" (a `--user` service's run dir, a daemon's PID file directory).
 *
 * @module
 */

/** Who asks: user id, primary group, supplementary groups when known. */
export interface FileUser {
  /** User id. */
  uid: number;
  /** Primary group id. */
  gid: number;
  /** Supplementary group ids, when known. */
  groups?: number[];
}

/** What the user wants to do: read, write, or search (enter, for a directory). */
export type FileAccess = "read" | "write" | "search";

const BIT: Record<FileAccess, number> = { read: 4, write: 2, search: 1 };

/**
 * Whether `user` may `access` a file with this owner, group and `mode`, by
 * the mode bits (no ACLs).
 *
 * @example
 * ```ts
 * import { modeAllows } from "./file_access.ts";
 * const st = { uid: 0, gid: 0, mode: 0o755 };
 * console.log(modeAllows(st, { uid: 65534, gid: 65534 }, "search")); // true
 * console.log(modeAllows(st, { uid: 65534, gid: 65534 }, "write")); // false
 * ```
 */
export function modeAllows(
  st: { uid: number | null; gid: number | null; mode: number | null },
  user: FileUser,
  access: FileAccess,
): boolean {
  if (user.uid === 0) return true;
  const mode = st.mode ?? 0;
  const bit = BIT[access];
  if (st.uid === user.uid) return (mode & (bit << 6)) !== 0;
  if (st.gid === user.gid || (st.gid !== null && user.groups?.includes(st.gid))) {
    return (mode & (bit << 3)) !== 0;
  }
  return (mode & bit) !== 0;
}

/**
 * Whether `user` may search (enter) `dir`, by its mode bits, its primary
 * and supplementary groups counted: a `--user` service must, to reach its
 * files there.
 *
 * @example
 * ```ts
 * import { canSearch } from "./file_access.ts";
 * console.log(canSearch("/tmp", { uid: 65534, gid: 65534 })); // true
 * ```
 */
export function canSearch(
  dir: string,
  user: FileUser,
): boolean {
  if (user.uid === 0) return true;
  return modeAllows(Deno.statSync(dir), user, "search");
}
