/**
 * Exact per-channel quantiles and per-channel thresholds, the two steps that turn unit activations into
 * binary unit masks in GAN Dissection (a unit's level is its activation's top-1% quantile, q = 0.99).
 *
 * Quantiles use linear interpolation between order statistics, the default of `numpy.quantile` and
 * `torch.quantile`: for `M` sorted values `v`, `quantile(q) = v[i] + (v[i+1] - v[i]) * (p - i)` with
 * `p = q * (M - 1)` and `i = floor(p)`. They are exact: every channel is sorted (in JavaScript, on the
 * values read back from the backend), not estimated; the interpolation is done in float64 and the result
 * rounded once to float32. A channel holding a NaN has a NaN quantile, as in numpy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { quantiles, thresholdByChannel } from "./quantile.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 *
 * const acts = tf.randomNormal([4, 8, 8, 16]); // [N, H, W, C]
 * const levels = quantiles(acts, 0.99); // one level per channel
 * const masks = thresholdByChannel(acts, levels); // 0/1: about 1% ones per channel
 * assert.deepEqual([levels.shape, masks.shape], [[16], [4, 8, 8, 16]]);
 * tf.dispose([acts, levels, masks]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertRank, assertShape, formatShape } from "./shape.ts";

/**
 * The quantile `q` of values already sorted ascending, with numpy's linear interpolation (computed in
 * float64; the lerp is taken from the nearer end, as numpy does, so q = 0 and q = 1 return the extremes
 * exactly).
 *
 * @param sorted Ascending values (NaNs, if any, last: the result is then NaN).
 * @param q In [0, 1].
 */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  checkQ(q);
  const m = sorted.length;
  if (m === 0) throw new Error("quantileOfSorted: Expected at least one value, got none");
  if (Number.isNaN(sorted[m - 1])) return NaN;
  const p = q * (m - 1);
  const i = Math.floor(p);
  const t = p - i;
  const lo = sorted[i];
  const hi = sorted[Math.min(i + 1, m - 1)];
  const diff = hi - lo;
  return t >= 0.5 ? hi - diff * (1 - t) : lo + diff * t;
}

function checkQ(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new Error(`q: Expected values in [0, 1], got ${q}`);
}

/**
 * Exact per-channel quantiles of `[N, H, W, C]` (or `[M, C]`) values: every channel is one sample of
 * `N·H·W` (or `M`) values.
 *
 * Reads the tensor back synchronously (`dataSync`) and sorts one channel at a time, so memory is one
 * channel's copy on top of the values.
 *
 * @param x `[N, H, W, C]` or `[M, C]`, any numeric dtype.
 * @param q One level in [0, 1], or several.
 * @returns float32 `[C]` for a number `q`, `[Q, C]` for an array (row `j` for `q[j]`); the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { quantiles } from "./quantile.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const x = tf.tensor2d([1, 10, 2, 20, 3, 30, 4, 40], [4, 2]); // [M=4, C=2]
 * const med = quantiles(x, 0.5);
 * const qs = quantiles(x, [0, 1]);
 * assert.deepEqual([med.arraySync(), qs.arraySync()], [[2.5, 25], [[1, 10], [4, 40]]]);
 * tf.dispose([x, med, qs]);
 * ```
 */
export function quantiles(x: tf.Tensor, q: number | readonly number[]): tf.Tensor {
  assertRank(x, [2, 4], { name: "x" });
  const levels = typeof q === "number" ? [q] : q;
  if (levels.length === 0) throw new Error("q: Expected at least one level, got []");
  levels.forEach(checkQ);
  const c = x.shape[x.rank - 1];
  const m = x.size / c;
  if (m === 0) throw new Error(`x: Expected at least one value per channel, got ${formatShape(x.shape)}`);
  const values = x.dataSync(); // [M, C], channels last
  const out = new Float32Array(levels.length * c); // [Q, C]
  const column = new Float32Array(m);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < m; i++) column[i] = values[i * c + ch];
    column.sort(); // typed-array sort: numeric ascending, NaNs last
    levels.forEach((level, j) => out[j * c + ch] = quantileOfSorted(column, level));
  }
  return typeof q === "number" ? tf.tensor1d(out) : tf.tensor2d(out, [levels.length, c]);
}

/**
 * Binary masks `x > level` with one level per channel (strict inequality, as GAN Dissection's unit masks).
 *
 * @param x `[N, H, W, C]` or `[M, C]`.
 * @param levels `[C]`, a tensor or numbers (e.g. from {@link quantiles}).
 * @returns float32 of 0/1 with the shape of `x`; the caller disposes it.
 */
export function thresholdByChannel(x: tf.Tensor, levels: tf.Tensor | readonly number[]): tf.Tensor {
  assertRank(x, [2, 4], { name: "x" });
  const c = x.shape[x.rank - 1];
  assertShape(levels instanceof tf.Tensor ? levels : [levels.length], [c], { name: "levels" });
  return tf.tidy(() => {
    const t = levels instanceof tf.Tensor ? levels : tf.tensor1d([...levels]);
    // [C] broadcasts over the leading axes of [N, H, W, C] or [M, C].
    return tf.cast(tf.greater(x, t), "float32");
  });
}
