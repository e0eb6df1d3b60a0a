/**
 * Test hooks of the lock protocol, not part of the public API: the torture
 * suite and the race tests switch a step off or crash a process at every
 * step. Never use them in real code.
 *
 * @module
 */

/** What the hooks are set to; read by the protocol's steps. */
export const hooks: {
  /** Step 4 (the check that the locked file is still the one at the path) on? */
  identityCheck: boolean;
  /** Called with the name of each step as it completes. */
  step: ((step: string) => void) | undefined;
} = { identityCheck: true, step: undefined };

/**
 * Turn step 4 of the lock protocol (the check that the locked file is still
 * the one at the path) off, so a test can show what goes wrong without it.
 *
 * @example
 * ```ts
 * import { _setIdentityCheckForTesting } from "./_hooks.ts";
 * _setIdentityCheckForTesting(false); // only in a test fixture
 * ```
 */
export function _setIdentityCheckForTesting(enabled: boolean): void {
  hooks.identityCheck = enabled;
}

/**
 * Call `hook` with the name of each step of acquire, update and release as
 * it completes ("acquire:opened", "acquire:locked", "acquire:checked",
 * "acquire:truncated", "acquire:written", "acquire:synced", the same three
 * for "update:", and "release:unlinked"), so the torture suite can crash a
 * process at every step.
 *
 * @example
 * ```ts
 * import { _setStepHookForTesting } from "./_hooks.ts";
 * _setStepHookForTesting((step) => console.error(step));
 * ```
 */
export function _setStepHookForTesting(hook: ((step: string) => void) | undefined): void {
  hooks.step = hook;
}
