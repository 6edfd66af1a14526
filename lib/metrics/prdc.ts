/**
 * k-NN precision, recall and per-sample realism of Kynkäänniemi et al. (2019), with density and coverage of
 * Naeem et al. (2020) from the same distances.
 *
 * The conventions of the official code (kynkaat/improved-precision-and-recall-metric, `precision_recall.py`):
 * - Distances are **squared** Euclidean, computed in float32 as `max(|u|² − 2 u·v + |v|², 0)`.
 * - The radius of a sample is the (k+1)-th smallest distance from it to its own set, self included (so the
 *   k-th nearest other sample; a duplicate counts as a neighbour).
 * - Precision: the fraction of fake samples inside at least one real hypersphere (`distance ≤ radius`);
 *   recall: the fraction of real samples inside at least one fake hypersphere.
 * - Realism of a fake sample: `max_j r_j / (d(x, real_j) + 1e-5)` over real samples, with squared radius and
 *   distance as in the code (the paper writes unsquared ones), after pruning the real hyperspheres whose radius
 *   is above the `clampToPercentile` (default 50, the code's realism setting) percentile of the radii (their
 *   radius becomes 0). Precision and recall use the unpruned radii, as the code does. Above 1: inside the
 *   pruned real manifold.
 * - Density (Naeem et al., the `prdc` package): `Σ_fake #{real j : d < r_j} / (k · N_fake)`; coverage: the
 *   fraction of real samples whose hypersphere holds a fake sample (`d < r_j`, strict as in `prdc`).
 *
 * Distances are computed by tfjs `matMul` on the current backend in row blocks (at most ≈ 10⁷ distances at a
 * time), so 10k vs 10k samples run in bounded memory; the counting runs on the host. Measured: 10k vs 10k
 * 2048-d features in 152 s on the wasm backend (2 threads of a shared 2-core machine), 1.1 GB resident.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { precisionRecall } from "./prdc.ts";
 * await initBackend({ backend: "cpu" });
 * const real = tf.randomNormal([100, 16], 0, 1, "float32", 1) as tf.Tensor2D;
 * const fake = tf.randomNormal([80, 16], 0.3, 1, "float32", 2) as tf.Tensor2D;
 * const r = await precisionRecall(real, fake, { k: 3 });
 * assert.deepEqual([r.precision, r.recall, r.coverage], [0.8125, 0.67, 0.87]);
 * assert.equal(r.realism.length, 80); // one realism score per fake sample
 * assert.ok(Math.abs(r.density - 1.3083) < 1e-4);
 * tf.dispose([real, fake]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertShape } from "../tensor/shape.ts";

/** Options of {@link precisionRecall}. */
export interface PrecisionRecallOptions {
  /** Neighbourhood size k; default 3. */
  k?: number;
  /** Percentile of the real radii above which hyperspheres are pruned for the realism score; default 50. */
  clampToPercentile?: number;
  /** Added to the distance in the realism score's denominator; default 1e-5 (the official code's). */
  eps?: number;
  /** Rows per distance block; default: enough for about 10⁷ distances per block. */
  rowBlock?: number;
}

/** The result of {@link precisionRecall}. */
export interface PrecisionRecallResult {
  precision: number;
  recall: number;
  density: number;
  coverage: number;
  /** Realism score of each fake sample `[N_fake]`. */
  realism: Float32Array;
  /** 1 where a fake sample lies in the real manifold (the per-sample terms of precision). */
  inRealManifold: Uint8Array;
  /** Squared k-NN radii of the real samples `[N_real]` (unpruned). */
  realRadii: Float32Array;
  k: number;
  nReal: number;
  nFake: number;
}

const BLOCK_ELEMENTS = 10_000_000;

function blockRows(cols: number, rowBlock?: number): number {
  if (rowBlock !== undefined) {
    if (!Number.isInteger(rowBlock) || rowBlock < 1) {
      throw new Error(`rowBlock: Expected a positive integer, got ${rowBlock}`);
    }
    return rowBlock;
  }
  return Math.max(1, Math.min(4096, Math.floor(BLOCK_ELEMENTS / cols)));
}

/** Squared norms of the rows, `[1, N]` (a row vector); the caller disposes it. */
function rowNorms(v: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.reshape(tf.sum(tf.square(v), 1), [1, -1]) as tf.Tensor2D);
}

/**
 * Squared distances between the rows of `u` `[M, D]` and `v` `[N, D]` as the official code computes them:
 * `max(|u|² − 2 u·vᵀ + |v|², 0)` in float32 on the current backend.
 *
 * @returns `[M, N]`; the caller disposes it.
 */
export function pairwiseSquaredDistances(u: tf.Tensor2D, v: tf.Tensor2D): tf.Tensor2D {
  const { D: d } = assertShape(u, ["M", "D"], { name: "u" });
  assertShape(v, ["N", d], { name: "v" });
  return tf.tidy(() => distancesTo(u, tf.transpose(v), rowNorms(v)));
}

/**
 * The distances of {@link pairwiseSquaredDistances} against columns given as `vT` `[D, N]` with norms `[1, N]`:
 * tfjs-wasm multiplies by a transposed right operand about 8× slower than by a plain one, so the metrics
 * transpose each set once.
 */
function distancesTo(u: tf.Tensor2D, vT: tf.Tensor2D, vNorms: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const nu = tf.reshape(tf.sum(tf.square(u), 1), [-1, 1]); // [M, 1]
    const cross = tf.matMul(u, vT); // [M, N]
    return tf.maximum(tf.add(tf.sub(nu, tf.mul(cross, 2)), vNorms), 0) as tf.Tensor2D;
  });
}

/**
 * Visit the squared distances from every row of `rows` to every row of `cols`, one block of rows at a time:
 * `visit(block, r0, count)` gets the host copy `[count, N_cols]` of rows `r0 … r0+count−1`.
 */
async function forEachDistanceBlock(
  rows: tf.Tensor2D,
  cols: tf.Tensor2D,
  rowBlock: number | undefined,
  visit: (block: Float32Array, r0: number, count: number) => void,
): Promise<void> {
  const [n, d] = rows.shape;
  const m = cols.shape[0];
  const step = blockRows(m, rowBlock);
  const colNorms = rowNorms(cols);
  const colsT = tf.transpose(cols); // [D, N_cols]
  try {
    for (let r0 = 0; r0 < n; r0 += step) {
      const count = Math.min(step, n - r0);
      const dist = tf.tidy(() => distancesTo(tf.slice(rows, [r0, 0], [count, d]), colsT, colNorms));
      const block = await dist.data() as Float32Array;
      dist.dispose();
      visit(block, r0, count);
    }
  } finally {
    tf.dispose([colNorms, colsT]);
  }
}

/**
 * Throws unless `count` samples are enough for k-NN radii with `k`: each sample needs `k` others, so more
 * than `k` samples. `what` names the set in the message (a path, or "real" / "fake").
 */
export function checkNeighbourCount(count: number, k: number, what: string): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k: Expected a positive integer, got ${k}`);
  if (count <= k) {
    throw new Error(
      `${what}: ${count} sample${count === 1 ? "" : "s"}, but k-NN with k = ${k} needs more than ${k} ` +
        `(each sample's radius is the distance to its k-th nearest other sample)`,
    );
  }
}

/**
 * The squared k-NN radius of every row of `features` `[N, D]` within its own set: the (k+1)-th smallest
 * squared distance, the row itself included (the official code's `np.partition(…)[:, k]`).
 *
 * @returns `[N]` float32.
 */
export async function nearestNeighbourRadii(
  features: tf.Tensor2D,
  k: number,
  options: Pick<PrecisionRecallOptions, "rowBlock"> = {},
): Promise<Float32Array> {
  const { N: n } = assertShape(features, ["N", "D"], { name: "features" });
  if (!Number.isInteger(k) || k < 1) throw new Error(`k: Expected a positive integer, got ${k}`);
  if (n <= k) throw new Error(`nearestNeighbourRadii: needs more than k = ${k} samples, got ${n}`);
  const radii = new Float32Array(n);
  const best = new Float64Array(k + 1); // the k+1 smallest so far, ascending
  await forEachDistanceBlock(features, features, options.rowBlock, (block, r0, count) => {
    for (let i = 0; i < count; i++) {
      best.fill(Infinity);
      const o = i * n;
      for (let j = 0; j < n; j++) {
        const v = block[o + j];
        if (v < best[k]) {
          let t = k;
          for (; t > 0 && best[t - 1] > v; t--) best[t] = best[t - 1];
          best[t] = v;
        }
      }
      radii[r0 + i] = best[k];
    }
  });
  return radii;
}

/** numpy's default (linear) percentile of `values`, `q` in [0, 100]. */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 100)) throw new Error(`percentile: Expected q in [0, 100], got ${q}`);
  if (values.length === 0) throw new Error("percentile: no values");
  const sorted = Float64Array.from(values).sort();
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Precision, recall, density, coverage and per-sample realism of `fake` `[N_fake, D]` against `real`
 * `[N_real, D]` (see the module documentation for the exact conventions). Inputs are read, not disposed.
 * Three passes of distances: real–real, fake–fake (the radii) and fake–real.
 */
export async function precisionRecall(
  real: tf.Tensor2D,
  fake: tf.Tensor2D,
  options: PrecisionRecallOptions = {},
): Promise<PrecisionRecallResult> {
  const { N: nReal, D: d } = assertShape(real, ["N", "D"], { name: "real" });
  const nFake = assertShape(fake, ["N", d], { name: "fake" }).N;
  const k = options.k ?? 3;
  // Up front, before any distance is computed: both sets need more than k samples.
  checkNeighbourCount(nReal, k, "real");
  checkNeighbourCount(nFake, k, "fake");
  const eps = options.eps ?? 1e-5;
  const realRadii = await nearestNeighbourRadii(real, k, options);
  const fakeRadii = await nearestNeighbourRadii(fake, k, options);
  // Realism: hyperspheres above the percentile are pruned (radius 0), as the code's clamp_to_percentile.
  const limit = percentile(realRadii, options.clampToPercentile ?? 50);
  const pruned = realRadii.map((r) => (r > limit ? 0 : r));

  const inReal = new Uint8Array(nFake);
  const realism = new Float32Array(nFake);
  const realInFake = new Uint8Array(nReal);
  const realCovered = new Uint8Array(nReal);
  let densityCount = 0;
  await forEachDistanceBlock(fake, real, options.rowBlock, (block, r0, count) => {
    for (let i = 0; i < count; i++) {
      const o = i * nReal;
      const rFake = fakeRadii[r0 + i];
      let inside = 0;
      let best = 0;
      for (let j = 0; j < nReal; j++) {
        const dist = block[o + j];
        const r = realRadii[j];
        if (dist <= r) inside = 1;
        if (dist < r) {
          densityCount++;
          realCovered[j] = 1;
        }
        if (dist <= rFake) realInFake[j] = 1;
        // float32 as the official numpy code: D[:, 0] / (distance + eps).
        const score = Math.fround(pruned[j] / Math.fround(dist + eps));
        if (score > best) best = score;
      }
      inReal[r0 + i] = inside;
      realism[r0 + i] = best;
    }
  });
  const mean = (a: Uint8Array) => a.reduce((s, v) => s + v, 0) / a.length;
  return {
    precision: mean(inReal),
    recall: mean(realInFake),
    density: densityCount / (k * nFake),
    coverage: mean(realCovered),
    realism,
    inRealManifold: inReal,
    realRadii,
    k,
    nReal,
    nFake,
  };
}
