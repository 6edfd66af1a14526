/**
 * Host-side float arrays: the pieces read back from tensors batch by batch, joined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatFloat32 } from "./host.ts";
 * assert.deepEqual(concatFloat32([Float32Array.of(1, 2), Float32Array.of(3)]), Float32Array.of(1, 2, 3));
 * ```
 * @module
 */

/** The parts, end to end, in one new array. */
export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
