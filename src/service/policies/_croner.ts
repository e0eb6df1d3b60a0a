/**
 * croner (MIT, ESM, no dependencies; the cron library pup uses), pinned.
 * Imported only through {@linkcode loadCroner} in `cron_schedule.ts`: a
 * dynamic import, so no command that has no schedule pays for it.
 *
 * @module
 */

export { Cron } from "npm:croner@11.0.1";
