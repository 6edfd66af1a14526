/**
 * Bootstrap intervals: resample the `n` paired observations with replacement, recompute the statistic on each
 * resample, and report the percentile interval. Paired means one index draws the same item (seed) for every
 * quantity the statistic compares, so differences between methods measured on the same seeds keep their pairing.
 *
 *     estimate = statistic(0 … n−1)
 *     lo, hi   = the (1 − level)/2 and (1 + level)/2 quantiles of statistic(i_1 … i_n), i_k ~ U{0 … n−1}
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bootstrapInterval } from "./bootstrap.ts";
 * const x = [1, 2, 3, 4, 5, 6, 7, 8];
 * const mean = (idx: readonly number[]) => idx.reduce((s, i) => s + x[i], 0) / idx.length;
 * const ci = bootstrapInterval(x.length, mean, { draws: 500, seed: 1 });
 * assert.equal(ci.estimate, 4.5);
 * assert.ok(ci.lo < 4.5 && 4.5 < ci.hi && ci.hi - ci.lo < 4);
 * ```
 * @module
 */
import { Rng } from "../tensor/rng.ts";

/** A statistic with its bootstrap interval. */
export interface Interval {
  /** The statistic on all observations. */
  estimate: number;
  /** The interval's ends (percentile bootstrap). */
  lo: number;
  hi: number;
  /** Standard deviation of the statistic over the resamples. */
  sd: number;
}

/** Options of {@link bootstrapInterval}. */
export interface BootstrapOptions {
  /** Resamples; default 1000. */
  draws?: number;
  /** Coverage of the interval; default 0.95. */
  level?: number;
  /** Seed of the resampling; default 0. */
  seed?: number;
}

/** The percentile bootstrap interval of `statistic` over `n` paired observations (see the module docs). */
export function bootstrapInterval(
  n: number,
  statistic: (indices: readonly number[]) => number,
  options: BootstrapOptions = {},
): Interval {
  const { draws = 1000, level = 0.95, seed = 0 } = options;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bootstrap: need at least one observation, got ${n}`);
  const estimate = statistic(Array.from({ length: n }, (_, i) => i));
  const rng = new Rng(seed);
  const values: number[] = [];
  const idx = new Array<number>(n);
  for (let d = 0; d < draws; d++) {
    for (let k = 0; k < n; k++) idx[k] = rng.int(n);
    const v = statistic(idx);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  const at = (q: number) =>
    values.length ? values[Math.min(values.length - 1, Math.floor(q * values.length))] : NaN;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return { estimate, lo: at((1 - level) / 2), hi: at((1 + level) / 2), sd };
}

/** `Σ num[i] / Σ den[i]` over the indices: a ratio of means, paired by index. */
export function ratioOfMeans(
  num: ArrayLike<number>,
  den: ArrayLike<number>,
): (idx: readonly number[]) => number {
  return (idx) => {
    let a = 0, b = 0;
    for (const i of idx) {
      a += num[i];
      b += den[i];
    }
    return a / b;
  };
}
