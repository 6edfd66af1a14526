/**
 * SHA-256 digests as hex, of bytes or of a file (model cards record their weights' digest).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * console.log(await sha256Hex(new TextEncoder().encode("abc"))); // "ba7816bf…"
 * ```
 * @module
 */

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex SHA-256 of the file at `path`. */
export async function sha256File(path: string): Promise<string> {
  return sha256Hex(await Deno.readFile(path));
}
