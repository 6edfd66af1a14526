/**
 * Evaluation of a correction: the distribution metrics of (corrected) artifact generations against real images,
 * in one feature space.
 *
 * - `fd`: the Fréchet distance (named after the features: `FD (scenes-net)`, or FID with Inception);
 * - `realism`: the mean realism score of Kynkäänniemi et al. (2019) of the generations (≥ 1: inside the real
 *   manifold), and `precision` / `recall` (k = 3);
 * - optional named per-image scores (`extras`, e.g. the scene defect fraction, the classifier's artifact
 *   probability), averaged.
 *
 * The real side ({@link realReference}) is computed once and shared by every row of a table.
 *
 * The failure metric of a correction is per image: the *structure change* ({@link structureChange}), the share of
 * pixels whose value moved by more than a quarter (an eighth of the range [-1, 1]) in any channel;
 * {@link failureCases} lists the generations a correction changed most.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { evaluateGenerations, realReference } from "./evaluate.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * // A toy feature extractor: mean colour of each quadrant (12 numbers).
 * const extractor = {
 *   name: "quadrants", dim: 12, dispose() {},
 *   extract: (x: tf.Tensor4D) => tf.tidy(() => tf.reshape(tf.avgPool(x, 4, 4, "valid"), [x.shape[0], 12]) as tf.Tensor2D),
 * };
 * const real = await realReference({ sample: (ix) => tf.randomUniform([ix.length, 8, 8, 3], -1, 1) as tf.Tensor4D }, extractor, { count: 64 });
 * const result = await evaluateGenerations(gen, Array.from({ length: 32 }, (_, i) => i), { extractor, real, progress: false });
 * assert.deepEqual([result.count, result.features], [32, "quadrants"]);
 * assert.ok(result.fd > 0 && result.realism > 0 && result.precision >= 0 && result.precision <= 1);
 * real.dispose();
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ImageSource } from "../data/source.ts";
import type { Edits } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { FeatureExtractor } from "../models/features.ts";
import { frechetDistance, gaussianOf, type GaussianStats } from "../metrics/fid.ts";
import { precisionRecall } from "../metrics/prdc.ts";
import { RunningMoments } from "../stats/moments.ts";
import { latents } from "../tensor/rng.ts";
import { progress } from "../util/progress.ts";

/** The real side of the metrics, in one feature space; `dispose()` frees the features. */
export interface RealReference {
  /** The features' name (e.g. `scenes-net`). */
  features: string;
  stats: GaussianStats;
  /** Real features `[N, D]` for precision, recall and realism. */
  rows: tf.Tensor2D;
  dispose(): void;
}

/**
 * Features of `count` real images (indices `offset …`) of a source: their Gaussian and the rows themselves.
 *
 * @param options `count` (default 2000), `offset` (default 0), `batch` (default 100).
 */
export async function realReference(
  source: Pick<ImageSource, "sample">,
  extractor: FeatureExtractor,
  options: { count?: number; offset?: number; batch?: number } = {},
): Promise<RealReference> {
  const count = options.count ?? 2000;
  const offset = options.offset ?? 0;
  const batch = options.batch ?? 100;
  const rows = new Float32Array(count * extractor.dim);
  for (let start = 0; start < count; start += batch) {
    const indices = Array.from({ length: Math.min(batch, count - start) }, (_, i) => offset + start + i);
    const f = tf.tidy(() => {
      const images = source.sample(indices);
      return extractor.extract(images);
    });
    rows.set(await f.data(), start * extractor.dim);
    f.dispose();
  }
  const moments = new RunningMoments(extractor.dim);
  moments.add(rows);
  const tensor = tf.tensor2d(rows, [count, extractor.dim]);
  return {
    features: extractor.name,
    stats: gaussianOf(moments),
    rows: tensor,
    dispose: () => tensor.dispose(),
  };
}

/** Options of {@link evaluateGenerations}. */
export interface EvaluateOptions {
  extractor: FeatureExtractor;
  real: RealReference;
  /** Edits to generate with (the correction); default none. */
  edits?: Edits;
  /** Neighbourhood size of precision/recall; default 3. */
  k?: number;
  /** Named per-image scores `[n]` of the generated images (e.g. the scene defect fraction), averaged in `extras`. */
  extras?: Record<string, (images: tf.Tensor4D) => Promise<Float32Array>>;
  /** Images per generator run; default 32. */
  batch?: number;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/** The metrics of a set of generations against real images. */
export interface GenerationMetrics {
  count: number;
  /** The features' name. */
  features: string;
  /** Fréchet distance in those features. */
  fd: number;
  /** Mean realism score. */
  realism: number;
  /** Median realism score. */
  realismMedian: number;
  precision: number;
  recall: number;
  /** Mean of each of the `extras` scores. */
  extras: Record<string, number>;
}

/** Generate `seeds` (with `edits`) and measure them against the real reference (see the module documentation). */
export async function evaluateGenerations(
  gen: GeneratorRunner,
  seeds: readonly number[],
  options: EvaluateOptions,
): Promise<GenerationMetrics> {
  const { extractor, real } = options;
  if (real.features !== extractor.name) {
    throw new Error(
      `the real reference is in ${real.features} features, the extractor gives ${extractor.name}`,
    );
  }
  const d = extractor.dim;
  const rows = new Float32Array(seeds.length * d);
  const extras = options.extras ?? {};
  const sums: Record<string, number> = Object.fromEntries(Object.keys(extras).map((name) => [name, 0]));
  const batch = options.batch ?? 32;
  const bar = (options.progress ?? true) ? progress(seeds.length, { label: "evaluating" }) : undefined;
  for (let start = 0; start < seeds.length; start += batch) {
    const z = latents(seeds.slice(start, start + batch), gen.model.zDim);
    const { output } = await gen.run(z, { clamp: true, edits: options.edits }).finally(() => z.dispose());
    try {
      const f = extractor.extract(output);
      rows.set(await f.data(), start * d);
      f.dispose();
      for (const [name, score] of Object.entries(extras)) {
        for (const v of await score(output)) sums[name] += v;
      }
    } finally {
      output.dispose();
    }
    bar?.tick(output.shape[0]);
  }
  bar?.done();
  const moments = new RunningMoments(d);
  moments.add(rows);
  const fake = tf.tensor2d(rows, [seeds.length, d]);
  try {
    const pr = await precisionRecall(real.rows, fake, { k: options.k ?? 3 });
    const sorted = Float32Array.from(pr.realism).sort();
    return {
      count: seeds.length,
      features: extractor.name,
      fd: frechetDistance(moments, real.stats, { warn: () => {} }).value,
      realism: pr.realism.reduce((s, v) => s + v, 0) / pr.realism.length,
      realismMedian: sorted[Math.floor((sorted.length - 1) / 2)],
      precision: pr.precision,
      recall: pr.recall,
      extras: Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / seeds.length])),
    };
  } finally {
    fake.dispose();
  }
}

/** Default of the structure change's `threshold`: 0.25, an eighth of the range [-1, 1]. */
export const STRUCTURE_CHANGE_THRESHOLD = 0.25;

/**
 * The structure change of each image: the share of its pixels whose value moved by more than `threshold` (default
 * {@link STRUCTURE_CHANGE_THRESHOLD}) in any channel between `original` and `corrected` (`[N, H, W, C]`).
 *
 * @returns `[N]` shares in [0, 1].
 */
export function structureChange(
  original: tf.Tensor4D,
  corrected: tf.Tensor4D,
  options: { threshold?: number } = {},
): number[] {
  if (original.shape.join() !== corrected.shape.join()) {
    throw new Error(`structure change: images of shapes [${original.shape}] and [${corrected.shape}]`);
  }
  const threshold = options.threshold ?? STRUCTURE_CHANGE_THRESHOLD;
  const change = tf.tidy(() =>
    tf.mean(tf.cast(tf.greater(tf.max(tf.abs(tf.sub(original, corrected)), 3), threshold), "float32"), [1, 2])
  );
  try {
    return Array.from(change.dataSync());
  } finally {
    change.dispose();
  }
}

/** One generation a correction changed: its seed and {@link structureChange}. */
export interface FailureCase {
  seed: number;
  change: number;
}

/**
 * The generations of `seeds` that `edits` change most ({@link structureChange} of the corrected against the
 * original image), most changed first (ties in the order of `seeds`); at most `count` (default all).
 *
 * @param options `edits`, `count`, `threshold`, `batch` (images per generator run; default 32).
 */
export async function failureCases(
  gen: GeneratorRunner,
  seeds: readonly number[],
  options: { edits: Edits; count?: number; threshold?: number; batch?: number },
): Promise<FailureCase[]> {
  const batch = options.batch ?? 32;
  const changes: number[] = [];
  for (let start = 0; start < seeds.length; start += batch) {
    const part = seeds.slice(start, start + batch);
    const generate = async (edits?: Edits) => {
      const z = latents(part, gen.model.zDim);
      return (await gen.run(z, { clamp: true, edits }).finally(() => z.dispose())).output;
    };
    const original = await generate();
    try {
      const corrected = await generate(options.edits);
      try {
        changes.push(...structureChange(original, corrected, options));
      } finally {
        corrected.dispose();
      }
    } finally {
      original.dispose();
    }
  }
  const order = seeds.map((_, i) => i).sort((a, b) => changes[b] - changes[a]);
  return order.slice(0, options.count ?? seeds.length).map((i) => ({ seed: seeds[i], change: changes[i] }));
}
