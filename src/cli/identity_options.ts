/**
 * The identity options of `status`, `stop` and `wait` (`--exec PATH`,
 * `--name NAME`, `--user USER`): parsed, checked (a missing `--exec` file or
 * an unknown user is a usage error), and refused without `--pidfile`.
 *
 * @module
 */

import { UsageError } from "../os/errors.ts";
import { type IdentityOptions, resolveIdentity } from "../os/process_identity.ts";
import type { CommandInput } from "./spec.ts";
import { IDENTITY_OPTIONS } from "./identity_specs.ts";

export { IDENTITY_OPTIONS };

/**
 * The identity options of a command line (empty when none is given),
 * checked: a usage error comes before anything is looked at.
 */
export function identityFromInput(input: CommandInput): IdentityOptions {
  const pick = (key: string) => {
    const v = input.values[key];
    return typeof v === "string" ? v : undefined;
  };
  const given = Object.keys(IDENTITY_OPTIONS).filter((k) => pick(k) !== undefined);
  if (given.length === 0) return {};
  if (typeof input.values.pidfile !== "string") {
    throw new UsageError(`--${given.join(", --")} needs --pidfile FILE`);
  }
  const options = { exec: pick("exec"), name: pick("name"), user: pick("user") };
  resolveIdentity(options);
  return options;
}
