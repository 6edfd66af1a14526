/**
 * GAN Dissection of one layer, end to end ({@link dissectLayer}): unit thresholds, unit–concept IoU over many
 * samples, the best concept of every unit and its top images (the method: `unit_iou.ts`).
 *
 * The samples are passed over twice (`layer_passes.ts`): (1) the layer's activations only, for the quantile
 * sketch that gives each unit's threshold and for the top images; (2) images, activations and segmentations
 * for the exact unit–concept counts at those thresholds (`unit_counts.ts`) — or, with `threshold: "iqr"`, for
 * a histogram over candidate levels from which both the thresholds and the counts follow
 * (`iqr_thresholds.ts`). Every pass runs through `tally`, so with `cache` a 10k-sample dissection is computed
 * once and resumes after an interruption. `toUnitsJson` (`units_json.ts`) gives the result's saved form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { dissectLayer } from "./dissect_layer.ts";
 * import { toUnitsJson } from "./units_json.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * // A stand-in segmenter: concept 0 where the image is bright (mean over channels > 0), else concept 1.
 * const segmenter = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const result = await dissectLayer(gen, segmenter, "layer2", {
 *   samples: 8, concepts: ["bright", "dark"], progress: false,
 * });
 * const { unit, concept, iou, threshold, interpretable, top_images } = toUnitsJson(result).units[0];
 * assert.deepEqual([unit, concept, iou, interpretable], [0, "bright", 0, false]); // matches no concept
 * assert.ok(Math.abs(threshold - 2.9534) < 1e-3);
 * assert.deepEqual(top_images, [7, 3, 1, 0, 6, 4, 2, 5]); // the samples, highest activation first
 * await gen.dispose();
 * ```
 * @module
 */
import type { GeneratorRunner } from "../engine/select.ts";
import { hashKey } from "../io/hash.ts";
import { stageIndex } from "../models/stages.ts";
import type { QuantileSketchOptions } from "../stats/quantile_sketch.ts";
import type { IqrChoice } from "./iqr.ts";
import { iqrThresholds } from "./iqr_thresholds.ts";
import { type PassContext, segmentedPass, summarizeLayer } from "./layer_passes.ts";
import { sampleSeeds, sceneConcepts, type SegmentFn } from "./segment_fn.ts";
import { UnitConceptCounts } from "./unit_counts.ts";
import { labelUnits, type LayerDissection, type ThresholdMethod, unitMasks } from "./unit_iou.ts";

/** Options of {@link dissectLayer}. */
export interface DissectOptions {
  /** Latent seeds, or a count n for seeds 0 … n−1; default 1000. */
  samples?: number | readonly number[];
  /** Images per generator run; default 16. */
  batch?: number;
  /** Concept names, indexed by the segmenter's class ids; default the scene classes' names. */
  concepts?: readonly string[];
  /** `"quantile"` (default) or `"iqr"` (see `unit_iou.ts`). */
  threshold?: ThresholdMethod;
  /** The level of `threshold: "quantile"`: `P(a_u > T_u) = 1 − quantile`; default 0.99 (top 1%). */
  quantile?: number;
  /** A unit is interpretable when its best IoU exceeds this; default 0.04. */
  iouThreshold?: number;
  /** With `threshold: "iqr"`, interpretable units also need IQR above this; default 0.01. */
  iqrThreshold?: number;
  /** Upsampling convention (see `unit_iou.ts`); default false. */
  alignCorners?: boolean;
  /** Top images kept per unit (scored by maximum activation); default 20. */
  topK?: number;
  /** Options of the quantile sketch (`k`, `positionsPerImage`); default k = 1024, every position. */
  sketch?: Omit<QuantileSketchOptions, "seed">;
  /**
   * Cache every pass as JSON under `dir` (see `stats/tally.ts`), keyed by the model's weights, the layer, the
   * samples and these options; `segmenter` names the segmenter (change it when the segmenter changes).
   */
  cache?: { dir: string; segmenter: string; checkpointEvery?: number };
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/**
 * Dissect one layer of a generator: unit thresholds, unit–concept IoU over the samples, best concept per unit
 * and top images (the method: `unit_iou.ts`).
 *
 * Passes over the samples: (1) the layer's activations only (the generator runs up to `layer`) for the quantile
 * sketch and the top images; (2) images, activations and segmentations for the counts (with `threshold: "iqr"`,
 * for a histogram over the candidate levels from which the thresholds and counts follow).
 *
 * @param gen Any engine's generator (the caller keeps it; it is not disposed).
 * @param segmenter Labels or masks over `concepts` (see `segment_fn.ts`).
 * @param layer The stage to dissect, e.g. `"layer4"`.
 * @param options See {@link DissectOptions}.
 */
export async function dissectLayer(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  layer: string,
  options: DissectOptions = {},
): Promise<LayerDissection> {
  const concepts = [...(options.concepts ?? sceneConcepts())];
  const k = concepts.length;
  const method = options.threshold ?? "quantile";
  if (method !== "quantile" && method !== "iqr") {
    throw new Error(`threshold: Expected "quantile" or "iqr", got ${method}`);
  }
  const quantile = options.quantile ?? 0.99;
  if (!(quantile > 0 && quantile < 1)) {
    throw new Error(`quantile: Expected a level in (0, 1), got ${quantile}`);
  }
  const alignCorners = options.alignCorners ?? false;
  const iouThreshold = options.iouThreshold ?? 0.04;
  const iqrThreshold = options.iqrThreshold ?? 0.01;
  const sketchOptions = options.sketch ?? {};
  const ctx: PassContext = {
    gen,
    layer,
    units: gen.model.stages[stageIndex(gen.model, layer)].channels,
    seeds: sampleSeeds(options.samples ?? 1000),
    batch: options.batch ?? 16,
    progress: options.progress ?? true,
    cache: options.cache && { ...options.cache, model: hashKey(gen.model) },
  };

  const summary = await summarizeLayer(ctx, { sketch: sketchOptions, topK: options.topK ?? 20 });
  const key = { concepts, alignCorners, sketch: sketchOptions };
  let thresholds: Float32Array;
  let counts: UnitConceptCounts;
  let iqr: IqrChoice[] | undefined;
  if (method === "quantile") {
    thresholds = summary.sketch.quantile(quantile);
    counts = await segmentedPass(ctx, segmenter, {
      name: "counts",
      key: { ...key, thresholds },
      concepts: k,
      create: () => new UnitConceptCounts(ctx.units, k),
      fromJSON: UnitConceptCounts.fromJSON,
      addChunk: (stat, acts, masks) => {
        const um = unitMasks(acts, thresholds, [masks.shape[1], masks.shape[2]], { alignCorners });
        try {
          stat.add({ unitMasks: um, conceptMasks: masks });
        } finally {
          um.dispose();
        }
      },
    });
  } else {
    ({ thresholds, counts, choices: iqr } = await iqrThresholds(ctx, segmenter, summary.sketch, {
      concepts: k,
      alignCorners,
      key,
    }));
  }
  return {
    layer,
    concepts,
    samples: ctx.seeds,
    threshold: method,
    quantile,
    iouThreshold,
    iqrThreshold,
    alignCorners,
    thresholds,
    counts,
    units: labelUnits(counts, thresholds, concepts, { iouThreshold, iqrThreshold, iqr }),
    topk: summary.topk,
    sketch: summary.sketch,
  };
}
