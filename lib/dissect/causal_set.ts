/**
 * A small causal set of units for a concept, found by gradient descent as GAN Dissection does
 * (`netdissect/aceoptimize.py`; the paper's section 3.2 and its appendix).
 *
 * Every unit u of the layer gets a strength `α_u ∈ [0, 1]`; an ablation by `α` replaces activations by
 * `a_u · (1 − α_u)` (everywhere, or within `region`). The objective, minimised over `α`, is
 *
 *     L(α) = E_z[ s̄_k(G(z; ablate α)) ] + λ · Σ_u α_u²
 *
 * where `s̄_k` is the segmenter's soft score of concept k (softmax of its logits) averaged over the image's
 * pixels: removing the concept lowers the first term, while the L2 term keeps the set small. With
 * `insertValues`, GAN Dissection's second term is added, `− E_z[ s̄_k(G(z; insert α · values)) ]`, which rewards
 * units that also make the concept appear. Optimiser (GAN Dissection's): Adam, learning rate 0.01 (betas 0.9,
 * 0.999, ε 1e-8), `λ = 0.005`, `α` clamped to [0, 1] after every step, started from the units' IoU with the
 * concept divided by the largest one ({@link alphaFromIoU}).
 *
 * It needs gradients through the generator and the segmenter, so it runs on tfjs: the generator is a
 * {@link TfjsGenerator} (or any `{ model, params }`) and the segmenter a differentiable {@link SegmentLogits}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { TfjsGenerator } from "../engine/tfjs.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { optimizeCausalSet } from "./causal_set.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = new TfjsGenerator(randomPggan([16, 16, 8]));
 * // A differentiable stand-in: logits (brightness, 0) for concepts ["bright", "dark"].
 * const logits = (images: tf.Tensor4D) =>
 *   tf.tidy(() => tf.concat([tf.mul(tf.mean(images, 3, true), 8), tf.zerosLike(tf.mean(images, 3, true))], 3) as tf.Tensor4D);
 * const result = optimizeCausalSet(gen, logits, {
 *   layer: "layer2", concept: 0, concepts: ["bright", "dark"], samples: 4, batch: 2, epochs: 2, progress: false,
 * });
 * assert.deepEqual(result.ranking.slice(0, 3), [8, 13, 14]); // the 3 strongest units
 * assert.equal(result.alpha.length, 16); // one coefficient per unit of layer2
 * gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { applyEditTf } from "../engine/edits.ts";
import { type Params, runStages } from "../engine/tfjs.ts";
import type { GeneratorDescription } from "../models/stages.ts";
import { latents } from "../tensor/rng.ts";
import { variableFrom } from "../tensor/variable.ts";
import { progress as startProgress } from "../util/progress.ts";
import { conceptIndex, sampleSeeds, sceneConcepts, type SegmentLogits } from "./segment_fn.ts";
import type { LayerDissection } from "./unit_iou.ts";

/** Options of {@link optimizeCausalSet}. */
export interface CausalSetOptions {
  /** The stage, e.g. `"layer4"`. */
  layer: string;
  /** The concept, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names, indexing the segmenter's logits; default the scene classes. */
  concepts?: readonly string[];
  /** Latent seeds, or a count n for seeds 0 … n−1; default 64. */
  samples?: number | readonly number[];
  /** Images per gradient step; default 4. */
  batch?: number;
  /** Passes over the samples; default 10. */
  epochs?: number;
  /** Adam's learning rate; default 0.01. */
  lr?: number;
  /** Weight λ of the L2 penalty `λ Σ α²`; default 0.005. */
  l2?: number;
  /** Starting strengths, one per unit (e.g. {@link alphaFromIoU}); default 0.5 for every unit. */
  init?: ArrayLike<number>;
  /** Where the ablation applies: a mask `[h, w]` at the layer's resolution; default everywhere. */
  region?: tf.Tensor2D;
  /** Insertion values (one, or one per unit): adds GAN Dissection's insertion term; default none (removal only). */
  insertValues?: number | ArrayLike<number>;
  /** Report progress; default true. */
  progress?: boolean;
}

/** The optimised strengths and how the objective went. */
export interface CausalSetResult {
  /** `α` per unit, in [0, 1]. */
  alpha: Float32Array;
  /** Units by decreasing `α` (the causal set is a prefix). */
  ranking: number[];
  /** Per epoch: mean objective (without the penalty) and the penalty at the epoch's end. */
  history: { objective: number; penalty: number }[];
}

let variableCount = 0;

/**
 * GAN Dissection's starting point: each unit's IoU with the concept divided by the largest (zeros when no unit
 * overlaps the concept).
 */
export function alphaFromIoU(result: LayerDissection, concept: number | string): Float32Array {
  const k = conceptIndex(result.concepts, concept);
  const iou = result.counts.iou();
  return alphaFromScores(
    Array.from({ length: result.counts.units }, (_, u) => iou[u * result.counts.concepts + k]),
  );
}

/** Per-unit scores (e.g. each unit's IoU with the concept) divided by the largest; zeros when none is positive. */
export function alphaFromScores(scores: ArrayLike<number>): Float32Array {
  const top = Math.max(...Array.from(scores));
  return Float32Array.from(scores, (v) => (top > 0 ? v / top : 0));
}

/** Per-unit values as a `[C]` tensor or a number. */
function perUnit(values: number | ArrayLike<number>, channels: number): number | tf.Tensor1D {
  if (typeof values === "number") return values;
  if (values.length !== channels) {
    throw new Error(`insertValues: Expected ${channels} values, got ${values.length}`);
  }
  return tf.tensor1d(Array.from(values));
}

/**
 * Optimise per-unit ablation strengths `α` so that ablating them removes the concept (see the module
 * documentation).
 *
 * @param gen A tfjs generator: `{ model, params }` (a {@link TfjsGenerator} fits).
 * @param segmentLogits Differentiable `[N, H, W, 3] → [N, H', W', K]` class logits.
 * @param options The layer, concept and optimisation settings.
 */
export function optimizeCausalSet(
  gen: { model: GeneratorDescription; params: Params },
  segmentLogits: SegmentLogits,
  options: CausalSetOptions,
): CausalSetResult {
  const { model, params } = gen;
  const { layer, region } = options;
  const stage = model.stages.find((s) => s.name === layer);
  if (!stage) throw new Error(`no stage "${layer}" in this ${model.arch} generator`);
  const channels = stage.channels;
  const names = options.concepts ?? sceneConcepts();
  const k = conceptIndex(names, options.concept);
  const seeds = sampleSeeds(options.samples ?? 64);
  const batch = options.batch ?? 4;
  const epochs = options.epochs ?? 10;
  const l2 = options.l2 ?? 0.005;
  const init = Float32Array.from(options.init ?? new Float32Array(channels).fill(0.5));
  if (init.length !== channels) throw new Error(`init: Expected ${channels} strengths, got ${init.length}`);
  if (region && (region.shape[0] !== stage.size || region.shape[1] !== stage.size)) {
    throw new Error(`region: Expected [${stage.size},${stage.size}], got [${region.shape}]`);
  }

  const alpha = variableFrom(
    init.map((a) => Math.min(1, Math.max(0, a))),
    [channels],
    `causal_set/alpha/${variableCount++}`,
  );
  const insertValues = options.insertValues === undefined
    ? undefined
    : perUnit(options.insertValues, channels);
  const optimizer = tf.train.adam(options.lr ?? 0.01, 0.9, 0.999, 1e-8);
  /** Mean soft score of concept k per image, under an edit of strength α. */
  const conceptScore = (acts: tf.Tensor4D, v: number | tf.Tensor1D): tf.Scalar => {
    const edited = applyEditTf(acts, { a: alpha as tf.Tensor1D, v, mask: region }, layer);
    const { output } = runStages(model, params, edited, { from: layer, clamp: true });
    const logits = segmentLogits(output);
    if (logits.rank !== 4 || logits.shape[3] !== names.length) {
      throw new Error(`segmentLogits: Expected [N,H,W,${names.length}], got [${logits.shape}]`);
    }
    const scores = tf.slice(tf.softmax(logits), [0, 0, 0, k], [-1, -1, -1, 1]); // [N, H, W, 1]
    return tf.mean(scores);
  };
  const steps = Math.ceil(seeds.length / batch);
  const bar = options.progress ?? true
    ? startProgress(epochs * steps, { label: `${layer} causal set` })
    : undefined;
  const history: CausalSetResult["history"] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      let objectiveSum = 0;
      for (let start = 0; start < seeds.length; start += batch) {
        const batchSeeds = seeds.slice(start, start + batch);
        const acts = tf.tidy(() => {
          const z = latents(batchSeeds, model.zDim);
          return runStages(model, params, z, { to: layer }).output; // [N, h, w, C]
        });
        try {
          let objective = 0;
          const loss = optimizer.minimize(
            () => {
              let value = conceptScore(acts, 0);
              if (insertValues !== undefined) value = tf.sub(value, conceptScore(acts, insertValues));
              objective = value.dataSync()[0];
              return tf.add(value, tf.mul(l2, tf.sum(tf.square(alpha)))) as tf.Scalar;
            },
            false,
            [alpha],
          );
          loss?.dispose();
          objectiveSum += objective * batchSeeds.length;
          tf.tidy(() => alpha.assign(tf.clipByValue(alpha, 0, 1)));
        } finally {
          acts.dispose();
        }
        bar?.tick(1, { objective: objectiveSum / Math.min(seeds.length, start + batch) });
      }
      const penalty = tf.tidy(() => tf.mul(l2, tf.sum(tf.square(alpha))).dataSync()[0]);
      history.push({ objective: objectiveSum / seeds.length, penalty });
    }
    const values = Float32Array.from(alpha.dataSync());
    const ranking = Array.from({ length: channels }, (_, u) => u).sort((a, b) =>
      values[b] - values[a] || a - b
    );
    return { alpha: values, ranking, history };
  } finally {
    bar?.done();
    optimizer.dispose();
    alpha.dispose();
    if (insertValues instanceof tf.Tensor) insertValues.dispose();
  }
}
