/**
 * Signal names and numbers: parse what a user types (`TERM`, `SIGTERM`,
 * `sigterm`, `15`) into the name `Deno.kill` takes, with one-line errors.
 *
 * The tables are written out rather than read from `node:os`: importing a
 * `node:` module costs a one-shot CLI several milliseconds of start-up.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

/** Linux signal numbers (x86, arm, riscv: the generic table). */
const LINUX: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** macOS and the BSDs. */
const BSD: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGEMT: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGBUS: 10,
  SIGSEGV: 11,
  SIGSYS: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGURG: 16,
  SIGSTOP: 17,
  SIGTSTP: 18,
  SIGCONT: 19,
  SIGCHLD: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGIO: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGINFO: 29,
  SIGUSR1: 30,
  SIGUSR2: 31,
};

const NUMBERS: Record<string, number> = Deno.build.os === "darwin" || Deno.build.os === "freebsd"
  ? BSD
  : LINUX;

/**
 * Parse a signal given as a name with or without `SIG` (any case) or as a
 * number, into the name `Deno.kill` takes. Throws {@linkcode UsageError}
 * for anything else.
 *
 * @example
 * ```ts
 * import { parseSignal } from "./signals.ts";
 * parseSignal("term"); // "SIGTERM"
 * parseSignal("9"); // "SIGKILL"
 * ```
 */
export function parseSignal(input: string | number): Deno.Signal {
  const text = String(input).trim();
  if (/^\d+$/.test(text)) {
    const name = signalName(Number(text));
    if (name) return name;
    throw new UsageError(`unknown signal number '${text}'`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  if (/^SIG[A-Z0-9]+$/.test(name) && NUMBERS[name] !== undefined) return name as Deno.Signal;
  throw new UsageError(
    `unknown signal '${text}' (try TERM, KILL, HUP, INT, QUIT, USR1, USR2, STOP, CONT or a number)`,
  );
}

/**
 * The number of signal `sig` on this platform (e.g. 15 for `SIGTERM` on Linux).
 *
 * @example
 * ```ts
 * import { signalNumber } from "./signals.ts";
 * console.log(128 + signalNumber("SIGTERM")); // 143: the shell's exit status
 * ```
 */
export function signalNumber(sig: Deno.Signal): number {
  const n = NUMBERS[sig];
  if (n === undefined) throw new UsageError(`unknown signal '${sig}'`);
  return n;
}

/**
 * The name of signal number `n` on this platform, or `undefined`.
 *
 * @example
 * ```ts
 * import { signalName } from "./signals.ts";
 * signalName(9); // "SIGKILL"
 * ```
 */
export function signalName(n: number): Deno.Signal | undefined {
  // Several names share a number (SIGIOT/SIGABRT, SIGPOLL/SIGIO): prefer the common one.
  const preferred = ["SIGABRT", "SIGIO", "SIGSYS"];
  const names = Object.keys(NUMBERS).filter((k) => NUMBERS[k] === n);
  return (names.find((k) => preferred.includes(k)) ?? names[0]) as Deno.Signal | undefined;
}

/**
 * Whether a stop signal should be followed by SIGCONT, as systemd does: a
 * stopped (SIGSTOP, Ctrl-Z) process that handles `sig` keeps it pending
 * until it is continued. KILL needs no help; CONT and STOP are no stop
 * signals.
 *
 * @example
 * ```ts
 * import { wantsContinue } from "./signals.ts";
 * console.log(wantsContinue("SIGTERM"), wantsContinue("SIGKILL")); // true false
 * ```
 */
export function wantsContinue(sig: Deno.Signal): boolean {
  return sig !== "SIGKILL" && sig !== "SIGCONT" && sig !== "SIGSTOP";
}
