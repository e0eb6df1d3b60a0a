/**
 * SHA-256 in hex, through WebCrypto: the one digest pidkit uses for
 * fingerprints (declared services' hashes).
 *
 * @module
 */

/**
 * The hex SHA-256 of `text` (UTF-8).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./sha256.ts";
 * console.log(await sha256Hex("")); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
