/**
 * The {@linkcode FileError}s of the lock protocol: an OS error on a PID file
 * mapped to one line and a reason.
 *
 * @module
 */

import { FileError } from "../os/errors.ts";

function errorCode(err: unknown): string | undefined {
  return (err as { code?: unknown })?.code as string | undefined;
}

/** `path` is a symlink, which pidkit never follows. */
export function symlinkError(path: string): FileError {
  return new FileError(
    path,
    "symlink",
    `${path} is a symbolic link; refusing to follow it (remove it or use the real path)`,
  );
}

/** `path` is a directory, device or FIFO, not a regular file. */
export function notAFile(path: string): FileError {
  return new FileError(
    path,
    "not-a-file",
    `${path} is not a regular file (a directory or device?); choose another path`,
  );
}

/** Map an OS error on `path` to a FileError; Deno permission errors pass through. */
export function fileError(path: string, err: unknown, action: string): Error {
  if (err instanceof FileError || err instanceof Deno.errors.NotCapable) return err;
  const code = errorCode(err);
  const options = { cause: err };
  if (code === "ELOOP" || err instanceof Deno.errors.FilesystemLoop) return symlinkError(path);
  if (code === "EISDIR" || err instanceof Deno.errors.IsADirectory) return notAFile(path);
  if (code === "EROFS" || /read-only file system/i.test(String(err))) {
    return new FileError(
      path,
      "permission",
      `cannot ${action} ${path}: read-only file system; choose a path on a writable file system`,
      options,
    );
  }
  if (
    code === "EACCES" || code === "EPERM" || err instanceof Deno.errors.PermissionDenied
  ) {
    return new FileError(
      path,
      "permission",
      `cannot ${action} ${path}: permission denied; run as a user who may write there, or choose another path`,
      options,
    );
  }
  if (code === "ENOENT" || err instanceof Deno.errors.NotFound) {
    return new FileError(
      path,
      "not-found",
      `cannot ${action} ${path}: no such directory`,
      options,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FileError(path, "io", `cannot ${action} ${path}: ${message}`, options);
}
