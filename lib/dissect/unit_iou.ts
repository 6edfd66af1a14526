/**
 * Unit–concept IoU, GAN Dissection's measure of what a unit draws (Bau et al. 2019, section 3.1).
 *
 * For a layer of U units and a segmenter of K concepts, over the images of many latents:
 * 1. every unit gets a threshold `T_u`: by default its top quantile, `P(a_u > T_u) = 0.01` (`quantile: 0.99`),
 *    estimated with a {@link QuantileSketch} over all positions of all images (GAN Dissection's `RunningQuantile`
 *    does the same); or, with `threshold: "iqr"`, GAN Dissection's information-quality-ratio criterion (see
 *    `iqr.ts`);
 * 2. each unit's activation map is upsampled to the segmentation's size with bilinear interpolation
 *    (`resizeBilinear`, PyTorch's `align_corners=False` half-pixel convention by default: an output pixel `i`
 *    samples input coordinate `(i + 0.5)·h/H − 0.5`, clamped at the border; `alignCorners: true` samples
 *    `i·(h − 1)/(H − 1)`. GAN Dissection's own grid, `grid_sample` over its `upsample_grid` with the PyTorch 1.0
 *    semantics it was written for, samples `i·h/H`: `(1 − h/H)/2` input pixels further down-right, so its masks
 *    sit almost half an input pixel up-left of ours) and thresholded, `a_u > T_u`;
 * 3. intersections with every concept's mask and both areas are counted over the data set
 *    (`UnitConceptCounts`, `unit_counts.ts`: one matrix product per batch, exact integer counts), and
 *    `IoU(u, k) = |unit ∩ concept| / |unit ∪ concept|`.
 * A unit is labelled with its best concept and is *interpretable* when that IoU exceeds 0.04 (the paper's
 * threshold; GAN Dissection's code uses 0.05 and, with IQR thresholds, also asks for IQR > 0.01).
 *
 * This file holds the method's pieces: unit masks ({@link unitMasks}), the labels of a layer's units
 * ({@link labelUnits}, {@link UnitLabel}) and the result of a dissection ({@link LayerDissection},
 * {@link unitsByConcept}). `dissectLayer` (`dissect_layer.ts`) runs the whole method over a generator's
 * samples; `toUnitsJson` (`units_json.ts`) saves its result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { UnitConceptCounts } from "./unit_counts.ts";
 * import { labelUnits, unitMasks } from "./unit_iou.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const acts = tf.randomNormal([2, 4, 4, 3]); // [N, h, w, U]: 3 units on a 4x4 map
 * const thresholds = Float32Array.of(0.5, 0.5, 1);
 * const units = unitMasks(acts, thresholds, [8, 8]); // 0/1 [2, 8, 8, 3]
 * const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([2, 8, 8]), 0.5), "int32"));
 * const concepts = tf.oneHot(labels, 2); // [2, 8, 8, 2]
 * const counts = new UnitConceptCounts(3, 2);
 * counts.add({ unitMasks: units, conceptMasks: concepts });
 * const named = labelUnits(counts, thresholds, ["sky", "tree"], { iouThreshold: 0.04, iqrThreshold: 0.01 });
 * // random data: either concept may win
 * const { unit, concept, name, iou, threshold, interpretable } = named[0];
 * assert.deepEqual([unit, name, threshold], [0, ["sky", "tree"][concept], 0.5]);
 * assert.equal(interpretable, iou > 0.04); // the best IoU, against iouThreshold
 * tf.dispose([acts, units, labels, concepts]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { QuantileSketch } from "../stats/quantile_sketch.ts";
import type { RunningTopK } from "../stats/topk.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import type { IqrChoice } from "./iqr.ts";
import type { UnitConceptCounts } from "./unit_counts.ts";

/**
 * Binary unit masks: each unit's map upsampled (bilinear) to `size` and thresholded, `a_u > levels[u]`.
 *
 * @param acts `[N, h, w, U]` activations.
 * @param levels `[U]` thresholds.
 * @param size `[H, W]` of the masks (the segmentation's size).
 * @param options `alignCorners` of the upsampling (default false, see the module documentation).
 * @returns float32 0/1 `[N, H, W, U]`; the caller disposes it.
 */
export function unitMasks(
  acts: tf.Tensor,
  levels: ArrayLike<number>,
  size: readonly [number, number],
  options: { alignCorners?: boolean } = {},
): tf.Tensor4D {
  const { c } = assertImageBatch(acts, "acts");
  if (levels.length !== c) throw new Error(`levels: Expected ${c} thresholds, got ${levels.length}`);
  return tf.tidy(() => {
    const up = resizeBilinear(acts, size, options); // [N, H, W, U]
    return tf.cast(tf.greater(up, tf.tensor1d(Array.from(levels))), "float32") as tf.Tensor4D;
  });
}

/** How unit thresholds are chosen: a top quantile for every unit, or GAN Dissection's IQR criterion. */
export type ThresholdMethod = "quantile" | "iqr";

/** The label of one unit. */
export interface UnitLabel {
  unit: number;
  /** Index of the best concept. */
  concept: number;
  /** Its name. */
  name: string;
  /** IoU with that concept. */
  iou: number;
  /** The unit's threshold `T_u`. */
  threshold: number;
  /** Whether the IoU (and, with IQR thresholds, the IQR) passes its threshold. */
  interpretable: boolean;
  /** With IQR thresholds: the information quality ratio of the chosen level and concept. */
  iqr?: number;
}

/** The dissection of one layer; plain data (no tensors). */
export interface LayerDissection {
  layer: string;
  concepts: string[];
  /** The latent seeds dissected. */
  samples: number[];
  threshold: ThresholdMethod;
  quantile: number;
  iouThreshold: number;
  iqrThreshold: number;
  alignCorners: boolean;
  /** `[U]` unit thresholds `T_u`. */
  thresholds: Float32Array;
  /** Pixel counts at those thresholds (full IoU table: `counts.iou()`, `[U·K]`). */
  counts: UnitConceptCounts;
  /** Best concept of every unit. */
  units: UnitLabel[];
  /** Top images per unit (indices are latent seeds). */
  topk: RunningTopK;
  /** The activation quantiles of every unit. */
  sketch: QuantileSketch;
}

/**
 * Label every unit with its best concept: the highest IoU, or the IQR choice when given (`rules.iqr`, one per
 * unit, from `chooseIqrLevels`). A unit is interpretable when that IoU exceeds `rules.iouThreshold` (and,
 * with IQR choices, its IQR exceeds `rules.iqrThreshold`).
 */
export function labelUnits(
  counts: UnitConceptCounts,
  thresholds: Float32Array,
  concepts: readonly string[],
  rules: { iouThreshold: number; iqrThreshold: number; iqr?: readonly IqrChoice[] },
): UnitLabel[] {
  const iou = counts.iou();
  const k = counts.concepts;
  return Array.from({ length: counts.units }, (_, u) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (iou[u * k + c] > iou[u * k + best]) best = c;
    const choice = rules.iqr?.[u];
    const concept = choice && choice.iqr > 0 ? choice.concept : best;
    const value = iou[u * k + concept];
    const label: UnitLabel = {
      unit: u,
      concept,
      name: concepts[concept],
      iou: value,
      threshold: thresholds[u],
      interpretable: value > rules.iouThreshold && (!choice || choice.iqr > rules.iqrThreshold),
    };
    if (choice) label.iqr = choice.iqr;
    return label;
  });
}

/** Interpretable units of a dissection, by concept name (the layer's "concept histogram"). */
export function unitsByConcept(result: LayerDissection): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const label of result.units) {
    if (label.interpretable) (out[label.name] ??= []).push(label.unit);
  }
  return out;
}
