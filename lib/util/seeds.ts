/**
 * Seed lists as people type them: `0-15`, `3,7,9`, `0-3,10-12`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSeeds } from "./seeds.ts";
 * assert.deepEqual(parseSeeds("0-3,10"), [0, 1, 2, 3, 10]);
 * ```
 * @module
 */

/** Parse a comma-separated list of seeds and inclusive ranges; throws naming the bad part. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new Error(`seeds: "${part}" is not a seed (a whole number ≥ 0) or a range like 0-15`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`seeds: range "${part}" runs backwards`);
    if (hi - lo > 10_000_000) throw new Error(`seeds: range "${part}" is too long`);
    for (let s = lo; s <= hi; s++) seeds.push(s);
  }
  if (seeds.length === 0) throw new Error(`seeds: "${text}" names no seed`);
  return seeds;
}
