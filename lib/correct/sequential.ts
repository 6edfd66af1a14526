/**
 * Sequential correction (Tousi et al. 2021, Algorithm 1): correct a generator layer by layer, each layer scored on
 * the generator already corrected below it.
 *
 *     edits = {}
 *     for k in layers (layer1 … the stopping layer l, in order):
 *         run the generator (with edits) on the artifact seeds; artifact masks M_i of its images
 *         DS = defective scores of layer k's units (formula 1 or 2), thresholds T_u re-estimated under edits
 *         top = the n units of highest DS;  d = DS min-max normalised over the layer
 *         edits[k] = rescale top units by s_u = lambda · (1 − d_u)
 *     then run the rest of the generator with edits
 *
 * The default rule `"lambda(1-ds)"` is the and the reproduction's reading of the paper: the worst unit
 * (d = 1) is switched off and the n-th unit keeps about lambda of its activation. `"1-lambda·ds"` is the gentler
 * reading, `s_u = 1 − lambda·d_u`: the worst unit keeps 1 − lambda, the n-th nearly all. The masks are
 * recomputed after every layer by default (the artifacts move as they are corrected); `recomputeMasks: false`
 * keeps the uncorrected generator's masks, which is cheaper and closer to a one-shot ranking.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { sequentialCorrection } from "./sequential.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const masks = (images: tf.Tensor4D) =>
 *   tf.tidy(() => tf.pad(tf.ones([images.shape[0], 4, 4]), [[0, 0], [0, 4], [0, 4]]) as tf.Tensor3D);
 * const { edits, steps } = await sequentialCorrection(gen, {
 *   seeds: [0, 1, 2, 3], masks, stop: 2, n: 0.25, tau: 0.2, progress: false, // tau: see defectiveScores
 * });
 * assert.deepEqual(Object.keys(edits), ["layer1", "layer2"]);
 * assert.deepEqual(steps[0].units, [3, 15, 11, 4]); // the 4 worst units of layer1, worst first
 * assert.equal(steps[0].scales[0], 0); // the worst is switched off
 * await gen.dispose();
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type Edit, type Edits, rescale } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { GeneratorDescription } from "../models/stages.ts";
import {
  type ArtifactMaskFn,
  type DefectiveScores,
  defectiveScores,
  normalizeScores,
  rankUnits,
  unitCount,
} from "./defective_score.ts";

/** The two readings of the rescaling rule (see the module documentation). */
export type ScaleRule = "lambda(1-ds)" | "1-lambda·ds";

/** Which defective-score formula ranks the units: 1 (mean IoU) or 2 (mean intersection). */
export type Formula = 1 | 2;

/** Options of {@link sequentialCorrection}. */
export interface SequentialOptions {
  /** Latent seeds of the artifact images the scores are computed on. */
  seeds: readonly number[];
  /** Their artifact masks (called on the images of the generator as corrected so far). */
  masks: ArtifactMaskFn;
  /**
   * The stopping layer `l`: a stage name (`"layer6"`) or a number `l` for the first `l` hidden stages; layers
   * `layer1 … l` are corrected. Default 6.
   */
  stop?: string | number;
  /** Units rescaled per layer: a fraction of the layer (< 1) or a count; default 0.2 (20 %). */
  n?: number;
  /** The scale `lambda`; default 0.9. */
  lambda?: number;
  /** Formula ranking the units; default 1. */
  formula?: Formula;
  /** Rescaling rule; default `"lambda(1-ds)"`. */
  rule?: ScaleRule;
  /** `P(a_u > T_u) = tau`; default 0.005. */
  tau?: number;
  /** Seeds whose activations set the thresholds; default `seeds`. */
  thresholdSeeds?: readonly number[];
  /** Recompute the masks on the corrected generator before each layer; default true. */
  recomputeMasks?: boolean;
  /** Images per generator run; default 16. */
  batch?: number;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/** What Algorithm 1 did at one layer. */
export interface SequentialStep {
  layer: string;
  /** Rescaled units, worst first. */
  units: number[];
  /** Their scales. */
  scales: number[];
  /** The layer's scores on the generator corrected below it. */
  scores: DefectiveScores;
}

/** The result of {@link sequentialCorrection}: the edits to generate with, and each layer's step. */
export interface SequentialResult {
  edits: Edits;
  steps: SequentialStep[];
}

/**
 * The hidden stages `layer1 … l` of a generator (every stage but the output), for a stopping layer given as a
 * stage name or a count.
 */
export function layersUpTo(model: GeneratorDescription, stop: string | number): string[] {
  const hidden = model.stages.slice(0, -1).map((s) => s.name);
  const end = typeof stop === "number" ? stop : hidden.indexOf(stop) + 1;
  if (!Number.isInteger(end) || end < 1 || end > hidden.length) {
    throw new Error(
      `stopping layer ${JSON.stringify(stop)}: Expected a hidden stage (${
        hidden.join(", ")
      }) or 1 … ${hidden.length}`,
    );
  }
  return hidden.slice(0, end);
}

/** The scale of a unit of normalised score `d` under `rule`. */
export function correctionScale(d: number, lambda: number, rule: ScaleRule = "lambda(1-ds)"): number {
  if (rule === "lambda(1-ds)") return lambda * (1 - d);
  if (rule === "1-lambda·ds") return 1 - lambda * d;
  throw new Error(`rule: Expected "lambda(1-ds)" or "1-lambda·ds", got ${JSON.stringify(rule)}`);
}

/**
 * The correction of one layer from its scores: the top-n units by the formula's score, rescaled by the rule.
 *
 * @returns the edit and the units with their scales.
 */
export function layerCorrection(
  scores: DefectiveScores,
  options: { n?: number; lambda?: number; formula?: Formula; rule?: ScaleRule } = {},
): { edit: Edit; units: number[]; scales: number[] } {
  const ds = (options.formula ?? 1) === 1 ? scores.ds1 : scores.ds2;
  const lambda = options.lambda ?? 0.9;
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`lambda: Expected a value in [0, 1], got ${lambda}`);
  const normalized = normalizeScores(ds);
  const units = rankUnits(ds).slice(0, unitCount(options.n ?? 0.2, ds.length));
  const scales = units.map((u) => correctionScale(normalized[u], lambda, options.rule));
  return { edit: rescale(units, ds.length, scales), units, scales };
}

/** Algorithm 1 (see the module documentation). */
export async function sequentialCorrection(
  gen: GeneratorRunner,
  options: SequentialOptions,
): Promise<SequentialResult> {
  const layers = layersUpTo(gen.model, options.stop ?? 6);
  const recompute = options.recomputeMasks ?? true;
  const edits: Edits = {};
  const steps: SequentialStep[] = [];
  // Without recomputation, the masks of the uncorrected generator are computed once per seed and reused.
  const cached = new Map<string, Promise<tf.Tensor3D>>();
  const masks: ArtifactMaskFn = recompute ? options.masks : (images, seeds) => {
    const key = seeds.join(",");
    if (!cached.has(key)) cached.set(key, Promise.resolve(options.masks(images, seeds)));
    return cached.get(key)!.then((m) => m.clone());
  };
  try {
    for (const layer of layers) {
      // Without recomputation the first layer's pass (no edits yet) caches the uncorrected images' masks.
      const scores = await defectiveScores(gen, layer, {
        seeds: options.seeds,
        masks,
        tau: options.tau,
        thresholdSeeds: options.thresholdSeeds,
        edits: { ...edits },
        batch: options.batch,
        progress: options.progress,
      });
      const { edit, units, scales } = layerCorrection(scores, options);
      edits[layer] = edit;
      steps.push({ layer, units, scales, scores });
    }
  } finally {
    for (const m of cached.values()) (await m).dispose();
  }
  return { edits, steps };
}
