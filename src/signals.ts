/**
 * Signal names and numbers: parse what a user types (`TERM`, `SIGTERM`,
 * `sigterm`, `15`) into the name `Deno.kill` takes, with one-line errors.
 *
 * @module
 */

import os from "node:os";
import { UsageError } from "./errors.ts";

/** Signal numbers of this platform, by `SIG` name (`node:os` constants). */
const NUMBERS: Record<string, number> = os.constants.signals as Record<string, number>;

/**
 * Parse a signal given as a name with or without `SIG` (any case) or as a
 * number, into the name `Deno.kill` takes. Throws {@linkcode UsageError}
 * for anything else.
 *
 * @example
 * ```ts
 * import { parseSignal } from "@pidkit/pidkit";
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
 * import { signalNumber } from "@pidkit/pidkit";
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
 * import { signalName } from "@pidkit/pidkit";
 * signalName(9); // "SIGKILL"
 * ```
 */
export function signalName(n: number): Deno.Signal | undefined {
  // Several names share a number (SIGIOT/SIGABRT, SIGPOLL/SIGIO): prefer the common one.
  const preferred = ["SIGABRT", "SIGIO", "SIGSYS"];
  const names = Object.keys(NUMBERS).filter((k) => NUMBERS[k] === n);
  return (names.find((k) => preferred.includes(k)) ?? names[0]) as Deno.Signal | undefined;
}
