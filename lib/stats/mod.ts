/**
 * Streaming statistics that follow one protocol (`protocol.ts`: add, read-outs, merge, toJSON/fromJSON): per-unit
 * quantile sketches, running top-k, running moments, and `tally`, which computes a statistic over many samples in
 * batches with a cache and checkpoints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QuantileSketch, RunningTopK } from "./mod.ts";
 * const sketch = new QuantileSketch(4);
 * sketch.add(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8])); // [M=2, C=4]
 * assert.deepEqual(sketch.quantile(0.5), Float32Array.of(3, 4, 5, 6)); // per unit, between its two values
 * const top = new RunningTopK(4, { k: 1 });
 * top.add(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [10, 11]); // the same rows, as samples 10 and 11
 * assert.deepEqual(top.result().indices, [[11], [11], [11], [11]]); // every unit is highest on sample 11
 * ```
 * @module
 */
export * from "./bootstrap.ts";
export * from "./protocol.ts";
export * from "./quantile_sketch.ts";
export * from "./topk.ts";
export * from "./tally.ts";
export * from "./moments.ts";
