/**
 * Insertion in context (GAN Dissection, section 4.3): force a concept's units on inside one small box per
 * held-out image and measure how much of the concept appears there, depending on what the box held before — the
 * paper's doors appear on a building's wall, hardly in the sky.
 *
 * For every place p, named by a context concept `c_p` (e.g. wall, sky), each held-out image i gets the
 * `box × box` pixel box `b_i` (positions every `stride` pixels, by default the layer's cell) where `c_p` is
 * densest in the unedited image (`conceptBoxes`, `figures.ts`); the units are set to their insertion values on the
 * feature-map cells under the box (`boxMask`). With `f_k(i)` the concept's fraction of the box's pixels before
 * and after the insertion (`heldout.ts`), over the images whose box is at least `minShare` `c_p`,
 *
 *     added_p = mean_i [ f_k^after(i) − f_k^before(i) ]
 *
 * (null when no image qualifies), with the means before and after and the number of images as the place's
 * detail.
 *
 * Insertion values ({@link conceptInsertionValues}): the units' presence-weighted mean activations where the
 * concept is present (`interventions.ts`, GAN Dissection's default), or, for a concept never seen in the images,
 * the units' 99th percentiles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { measureInsertion } from "./insertion.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const bright = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const insertion = await measureInsertion(gen, bright, {
 *   layer: "layer2", concept: "dark", concepts: ["bright", "dark"], units: [0, 1, 2], values: 5,
 *   places: { on_bright: "bright", on_dark: "dark" }, box: 4, minShare: 0, seeds: [100, 101, 102], progress: false,
 * });
 * const { on_bright, on_dark } = insertion.added; // the share of "dark" added in the boxes
 * assert.ok(Math.abs(on_bright! - 5 / 24) < 1e-9 && Math.abs(on_dark! + 7 / 24) < 1e-9);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import { stageIndex } from "../models/stages.ts";
import type { QuantileSketch } from "../stats/quantile_sketch.ts";
import { type ConceptBox, conceptBoxes } from "./figures.ts";
import { columnMean, labelFractions, segmentSeeds } from "./heldout.ts";
import {
  boxMask,
  ConceptActivationMean,
  type ConceptActivationMeanJSON,
  insertionValues,
} from "./interventions.ts";
import { conceptIndex, sceneConcepts, type SegmentFn, toConceptMasks } from "./segment_fn.ts";

/** Insertion values of a concept and which kind they are. */
export interface ConceptValues {
  /** One value per unit of the layer. */
  values: Float32Array;
  kind: "presence-weighted mean" | "99th percentile";
}

/**
 * Insertion values of `concept` for every unit: its presence-weighted mean activations, or, when the concept
 * never appeared in the images `means` was collected on, the units' 99th percentiles (with a warning).
 *
 * @param source The layer's concept means (or their JSON) and its activation quantiles (a dissection's `sketch`).
 */
export function conceptInsertionValues(source: {
  means: ConceptActivationMean | ConceptActivationMeanJSON;
  sketch: QuantileSketch;
  concept: number | string;
  concepts?: readonly string[];
}): ConceptValues {
  const names = source.concepts ?? sceneConcepts();
  const k = conceptIndex(names, source.concept);
  const means = source.means instanceof ConceptActivationMean
    ? source.means
    : ConceptActivationMean.fromJSON(source.means);
  if (means.presence(k) > 0) return { values: means.mean(k), kind: "presence-weighted mean" };
  console.warn(`${names[k]} never appears in the images: inserting the units' 99th percentiles`);
  return { values: insertionValues({ sketch: source.sketch }), kind: "99th percentile" };
}

/** Options of {@link measureInsertion}. */
export interface InsertionOptions {
  /** The stage whose units are set. */
  layer: string;
  /** The concept inserted, by name or index among `concepts`. */
  concept: number | string;
  /** Concept names of the segmenter; default the scene classes. */
  concepts?: readonly string[];
  /** The units set (e.g. the concept's best by IoU). */
  units: readonly number[];
  /** Their insertion values: one, or one per unit of the layer (e.g. {@link conceptInsertionValues}). */
  values: number | ArrayLike<number>;
  /** Places by name, each the context concept whose densest box takes the insertion, e.g. `{ in_sky: "sky" }`. */
  places: Readonly<Record<string, number | string>>;
  /** Box side in image pixels; a multiple of `stride`. */
  box: number;
  /** Pixels between candidate boxes; default the layer's cell (image size / layer size). */
  stride?: number;
  /** An image counts when its box is at least this share of the place's concept; default 0.5. */
  minShare?: number;
  /** The held-out seeds. */
  seeds: readonly number[];
  /** Images per generator run; default 16. */
  batch?: number;
  /** Report progress; default true. */
  progress?: boolean;
}

/** What {@link measureInsertion} measured; plain data. */
export interface InsertionResult {
  layer: string;
  units: number[];
  box: number;
  min_share: number;
  /** Per place, the mean share of the box added (null when no image qualifies). */
  added: Record<string, number | null>;
  /** Per place, the images that qualify and the concept's mean share of their boxes before and after. */
  detail: Record<string, { samples: number; before: number | null; after: number | null }>;
  /** Per place, the box of every held-out image. */
  boxes: Record<string, ConceptBox[]>;
}

/**
 * Insert the concept's units in the densest box of every place on each held-out image and measure what appears
 * (see the module documentation). The segmentation must have the images' resolution.
 */
export async function measureInsertion(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: InsertionOptions,
): Promise<InsertionResult> {
  const { layer, seeds, box } = options;
  const names = options.concepts ?? sceneConcepts();
  const k = conceptIndex(names, options.concept);
  const stage = gen.model.stages[stageIndex(gen.model, layer)];
  const size = gen.model.resolution;
  const stride = options.stride ?? size / stage.size;
  const minShare = options.minShare ?? 0.5;
  if (!(Number.isInteger(stride) && stride >= 1 && box >= stride && box % stride === 0)) {
    throw new Error(`box: Expected a multiple of ${stride} pixels (${layer}'s cell), got ${box}`);
  }
  const common = { batch: options.batch ?? 16, progress: options.progress };
  const original = await segmentSeeds(gen, segmenter, seeds, { ...common, label: "original" });
  if (original.height !== size || original.width !== size) {
    throw new Error(`segmenter: Expected ${size}x${size} labels, got ${original.height}x${original.width}`);
  }
  const masks = tf.tidy(() =>
    toConceptMasks(tf.tensor3d(original.labels, [seeds.length, size, size]), names.length)
  ); // [N, H, W, K]
  let boxes: Record<string, ConceptBox[]>;
  try {
    boxes = Object.fromEntries(
      Object.entries(options.places).map((
        [place, on],
      ) => [place, conceptBoxes(masks, conceptIndex(names, on), { size: box, stride })]),
    );
  } finally {
    masks.dispose();
  }
  const units = [...options.units];
  const added: Record<string, number | null> = {};
  const detail: InsertionResult["detail"] = {};
  for (const [place, placeBoxes] of Object.entries(boxes)) {
    const regions = tf.tidy(() =>
      tf.stack(placeBoxes.map((b) => boxMask(b.box, { image: size, layer: stage.size })))
    ) as tf.Tensor3D; // [N, h, w]
    const edited = await segmentSeeds(gen, segmenter, seeds, {
      ...common,
      label: `insert ${names[k]} ${place}`,
      intervention: { layer, units, mode: "insert", values: options.values },
      regions,
    }).finally(() => regions.dispose());
    const inBoxes = placeBoxes.map((b) => b.box);
    const [inBefore, inAfter] = [
      labelFractions(original, names.length, inBoxes),
      labelFractions(edited, names.length, inBoxes),
    ];
    const keep = (i: number) => placeBoxes[i].share >= minShare;
    added[place] = columnMean(inAfter.map((row, i) => [row[k] - inBefore[i][k]]), 0, keep);
    detail[place] = {
      samples: seeds.filter((_, i) => keep(i)).length,
      before: columnMean(inBefore, k, keep),
      after: columnMean(inAfter, k, keep),
    };
  }
  return { layer, units, box, min_share: minShare, added, detail, boxes };
}
