/**
 * The one FFI binding of libc that pidkit uses (Linux only).
 *
 * Several features need system calls that Deno does not expose: pidfds
 * (signals that can never reach a reused PID), the child-subreaper flag and
 * `waitpid` of orphans (containers), datagram sockets with credentials
 * (sd_notify), pipes without close-on-exec (notification fds). They all go
 * through {@linkcode libc}, opened once per process on first use, so there is
 * one symbol table and one place that knows which library to open.
 *
 * Needs `--allow-ffi` (the CLI runs with `-A`). Off Linux, or where FFI is
 * refused, {@linkcode libc} returns `undefined` and callers take their
 * documented fallback.
 *
 * Never call `waitpid(-1)` through this: it would steal the exit statuses
 * of `Deno.Command` children (docs/runtime_facts.md, "Child subreaper and
 * reaping").
 *
 * @module
 */

const SYMBOLS = {
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64", "i64"], result: "i64" },
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  /** open(2) without O_CREAT (no mode argument): FIFOs pidkit made itself. */
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  /** tee(2): copy a pipe's head into another pipe without consuming it. */
  tee: { parameters: ["i32", "i32", "usize", "u32"], result: "isize" },
  /** splice(2): move a pipe's head into a file (written and taken out of the pipe in one call). */
  splice: { parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"], result: "isize" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  /** ioctl(2) with a pointer argument (PIDFD_GET_INFO). */
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** The same `poll`, run on a worker thread so the event loop keeps going. */
  pollAsync: {
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
    name: "poll",
  },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  /** prlimit(2) (glibc's is prlimit64 on 64-bit): another process's resource limits. */
  prlimit: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  /** setpriority(2): another process's nice value. */
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libc symbols pidkit binds; see {@linkcode libc}. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let opened: Libc | null | undefined;

/**
 * libc's symbols, opened on first use; `undefined` off Linux or where FFI
 * is not allowed (the reason is not an error for callers: each has a
 * fallback).
 */
export function libc(): Libc | undefined {
  if (opened !== undefined) return opened ?? undefined;
  opened = null;
  if (Deno.build.os !== "linux") return undefined;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      opened = Deno.dlopen(name, SYMBOLS).symbols;
      break;
    } catch {
      // try the next name; none: FFI unavailable
    }
  }
  return opened ?? undefined;
}

/** The calling thread's `errno`, read right after a failed call (0 without FFI). */
export function errno(): number {
  const lib = libc();
  const where = lib?.__errno_location();
  if (lib === undefined || where === null || where === undefined) return 0;
  return new Deno.UnsafePointerView(where).getInt32();
}

/** A NUL-terminated C string for a path or name argument. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`) as Uint8Array<ArrayBuffer>;
}

/** Linux errno values pidkit tests for. */
export const ERRNO = {
  EPERM: 1,
  ESRCH: 3,
  EINTR: 4,
  EAGAIN: 11,
  ECHILD: 10,
  EINVAL: 22,
  ENOSYS: 38,
} as const;
