/**
 * SHA-256 digests as hex: of bytes, of a file (model cards record their weights' digest), and of any value
 * ({@link hashKey}: the cache keys of `tally` and of experiment steps). Every hash in ganatomy comes from here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./hash.ts";
 * const hex = await sha256Hex(new TextEncoder().encode("abc"));
 * assert.equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 * @module
 */

import { readFileNamed } from "./read.ts";
import { createHash } from "node:crypto";

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex SHA-256 of the file at `path`. */
export async function sha256File(path: string): Promise<string> {
  return sha256Hex(await readFileNamed(path));
}

/**
 * A SHA-256 hex digest of a value: JSON structure with object keys sorted, typed arrays by their bytes.
 * Equal values give equal hashes in every process.
 */
export function hashKey(value: unknown): string {
  const hash = createHash("sha256");
  const visit = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) {
      hash.update(`<${v.constructor.name}:${v.byteLength}>`);
      hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (Array.isArray(v)) {
      hash.update("[");
      v.forEach((item) => {
        visit(item);
        hash.update(",");
      });
      hash.update("]");
    } else if (v !== null && typeof v === "object") {
      hash.update("{");
      for (const name of Object.keys(v).sort()) {
        hash.update(JSON.stringify(name) + ":");
        visit((v as Record<string, unknown>)[name]);
        hash.update(",");
      }
      hash.update("}");
    } else {
      hash.update(v === undefined ? "undefined" : JSON.stringify(v));
    }
  };
  visit(value);
  return hash.digest("hex");
}
