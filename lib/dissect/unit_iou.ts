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
 *    ({@link UnitConceptCounts}: one matrix product per batch, exact integer counts), and
 *    `IoU(u, k) = |unit ∩ concept| / |unit ∪ concept|`.
 * A unit is labelled with its best concept and is *interpretable* when that IoU exceeds 0.04 (the paper's
 * threshold; GAN Dissection's code uses 0.05 and, with IQR thresholds, also asks for IQR > 0.01).
 *
 * Every pass runs through {@link tally}, so with `cache` a 10k-sample dissection is computed once and resumes
 * after an interruption.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { dissectLayer, toUnitsJson } from "./unit_iou.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * // A stand-in segmenter: concept 0 where the image is bright (mean over channels > 0), else concept 1.
 * const segmenter = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const result = await dissectLayer(gen, segmenter, "layer2", {
 *   samples: 8, concepts: ["bright", "dark"], progress: false,
 * });
 * console.log(toUnitsJson(result).units[0]); // { unit: 0, concept: "bright" or "dark", iou, threshold, … }
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import { stageIndex } from "../models/stages.ts";
import { checkStatJSON, type Stat, type StatJSON } from "../stats/protocol.ts";
import { QuantileSketch, type QuantileSketchOptions } from "../stats/quantile_sketch.ts";
import { hashKey, type Statistic, tally, type TallyCache } from "../stats/tally.ts";
import { RunningTopK } from "../stats/topk.ts";
import { latents } from "../tensor/rng.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { chooseIqrLevels, type IqrChoice, iqrFractions, LevelHistogram } from "./iqr.ts";
import { generateSegmented, sampleSeeds, sceneConcepts, type SegmentFn } from "./segmenter.ts";

/** Upsampled values per chunk of images: bounds the memory of one upsampling (16 MB of float32). */
const CHUNK_VALUES = 2 ** 22;

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

/** A batch of {@link UnitConceptCounts}: unit masks and concept masks of the same images and size. */
export interface UnitConceptBatch {
  /** Binary unit masks `[N, H, W, U]`. */
  unitMasks: tf.Tensor;
  /** Binary concept masks `[N, H, W, K]`. */
  conceptMasks: tf.Tensor;
}

/** The serialised form of {@link UnitConceptCounts}. */
export interface UnitConceptCountsJSON extends StatJSON {
  units: number;
  concepts: number;
  pixels: number;
  unitArea: number[];
  conceptArea: number[];
  intersection: number[];
}

/**
 * Streaming unit × concept pixel counts: `intersection[u·K + k]`, `unitArea[u]`, `conceptArea[k]` over all
 * pixels added; unions and IoU follow. Counts are exact (float32 sums of at most 2^22 ones per matrix product,
 * accumulated in float64). Implements the statistic protocol.
 */
export class UnitConceptCounts implements Stat<UnitConceptCounts, UnitConceptBatch> {
  readonly units: number;
  readonly concepts: number;
  #pixels = 0;
  readonly #unitArea: Float64Array;
  readonly #conceptArea: Float64Array;
  readonly #intersection: Float64Array;

  constructor(units: number, concepts: number) {
    for (const [name, v] of [["units", units], ["concepts", concepts]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: Expected a positive integer, got ${v}`);
    }
    this.units = units;
    this.concepts = concepts;
    this.#unitArea = new Float64Array(units);
    this.#conceptArea = new Float64Array(concepts);
    this.#intersection = new Float64Array(units * concepts);
  }

  /** Counts from arrays (e.g. computed elsewhere); lengths U, K and U·K. */
  static fromCounts(
    counts: { unitArea: ArrayLike<number>; conceptArea: ArrayLike<number>; intersection: ArrayLike<number> },
    pixels: number,
  ): UnitConceptCounts {
    const out = new UnitConceptCounts(counts.unitArea.length, counts.conceptArea.length);
    if (counts.intersection.length !== out.units * out.concepts) {
      throw new Error(
        `intersection: Expected ${out.units * out.concepts} counts, got ${counts.intersection.length}`,
      );
    }
    out.#unitArea.set(counts.unitArea);
    out.#conceptArea.set(counts.conceptArea);
    out.#intersection.set(counts.intersection);
    out.#pixels = pixels;
    return out;
  }

  /** Pixels counted. */
  get count(): number {
    return this.#pixels;
  }

  /** Count a batch: `intersection += unitsᵀ · concepts` over its pixels, chunked to stay exact. */
  add(batch: UnitConceptBatch): void {
    const { n, h, w, c: u } = assertImageBatch(batch.unitMasks, "unitMasks");
    if (u !== this.units) throw new Error(`unitMasks: Expected ${this.units} units, got ${u}`);
    assertImageBatch(batch.conceptMasks, "conceptMasks", {
      batch: n,
      height: h,
      width: w,
      channels: this.concepts,
    });
    const perImage = h * w;
    const chunk = Math.max(1, Math.floor(CHUNK_VALUES / perImage));
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const [inter, unitArea, conceptArea] = tf.tidy(() => {
        const um = tf.reshape(tf.slice(batch.unitMasks, [start, 0, 0, 0], [size, -1, -1, -1]), [
          size * perImage,
          u,
        ]); // [P, U]
        const cm = tf.reshape(
          tf.slice(batch.conceptMasks, [start, 0, 0, 0], [size, -1, -1, -1]),
          [size * perImage, this.concepts],
        ); // [P, K]
        const umf = tf.cast(tf.notEqual(um, 0), "float32");
        const cmf = tf.cast(tf.notEqual(cm, 0), "float32");
        return [tf.matMul(umf, cmf, true, false), tf.sum(umf, 0), tf.sum(cmf, 0)]; // [U, K], [U], [K]
      });
      const accumulate = (into: Float64Array, t: tf.Tensor) => {
        const values = t.dataSync();
        for (let i = 0; i < into.length; i++) into[i] += values[i];
      };
      accumulate(this.#intersection, inter);
      accumulate(this.#unitArea, unitArea);
      accumulate(this.#conceptArea, conceptArea);
      tf.dispose([inter, unitArea, conceptArea]);
    }
    this.#pixels += n * perImage;
  }

  /** Fold `other` (same units and concepts) into this one. */
  merge(other: UnitConceptCounts): void {
    if (other.units !== this.units || other.concepts !== this.concepts) {
      throw new Error(
        `UnitConceptCounts.merge: Expected ${this.units} units × ${this.concepts} concepts, got ${other.units} × ${other.concepts}`,
      );
    }
    this.#pixels += other.#pixels;
    other.#unitArea.forEach((v, i) => this.#unitArea[i] += v);
    other.#conceptArea.forEach((v, i) => this.#conceptArea[i] += v);
    other.#intersection.forEach((v, i) => this.#intersection[i] += v);
  }

  /** `[U·K]` intersections (copy). */
  intersection(): Float64Array {
    return this.#intersection.slice();
  }

  /** `[U]` unit mask areas (copy). */
  unitArea(): Float64Array {
    return this.#unitArea.slice();
  }

  /** `[K]` concept areas (copy). */
  conceptArea(): Float64Array {
    return this.#conceptArea.slice();
  }

  /** `[U·K]` unions, `|unit| + |concept| − |both|`. */
  union(): Float64Array {
    const k = this.concepts;
    return this.#intersection.map((v, i) => this.#unitArea[Math.floor(i / k)] + this.#conceptArea[i % k] - v);
  }

  /** `[U·K]` IoU, 0 where the union is empty. */
  iou(): Float64Array {
    const union = this.union();
    return this.#intersection.map((v, i) => (union[i] > 0 ? v / union[i] : 0));
  }

  /** A JSON-safe snapshot. */
  toJSON(): UnitConceptCountsJSON {
    return {
      kind: "UnitConceptCounts",
      version: 1,
      units: this.units,
      concepts: this.concepts,
      pixels: this.#pixels,
      unitArea: Array.from(this.#unitArea),
      conceptArea: Array.from(this.#conceptArea),
      intersection: Array.from(this.#intersection),
    };
  }

  /** Rebuild from {@link UnitConceptCounts.toJSON}'s output. */
  static fromJSON(json: unknown): UnitConceptCounts {
    const j = checkStatJSON(
      json,
      "UnitConceptCounts",
      1,
      "UnitConceptCounts.fromJSON",
    ) as UnitConceptCountsJSON;
    if (j.unitArea.length !== j.units || j.conceptArea.length !== j.concepts) {
      throw new Error("UnitConceptCounts.fromJSON: areas do not match units and concepts");
    }
    return UnitConceptCounts.fromCounts(j, j.pixels);
  }
}

/** Pass 1 of a dissection: each unit's activation quantiles and top images. */
class LayerSummary {
  constructor(readonly sketch: QuantileSketch, readonly topk: RunningTopK) {}

  get count(): number {
    return this.topk.count;
  }

  merge(other: LayerSummary): void {
    this.sketch.merge(other.sketch);
    this.topk.merge(other.topk);
  }

  toJSON(): StatJSON {
    return { kind: "LayerSummary", version: 1, sketch: this.sketch.toJSON(), topk: this.topk.toJSON() };
  }

  static fromJSON(json: unknown): LayerSummary {
    const j = checkStatJSON(json, "LayerSummary", 1, "LayerSummary.fromJSON");
    return new LayerSummary(QuantileSketch.fromJSON(j.sketch), RunningTopK.fromJSON(j.topk));
  }
}

/** How unit thresholds are chosen: a top quantile for every unit, or GAN Dissection's IQR criterion. */
export type ThresholdMethod = "quantile" | "iqr";

/** Options of {@link dissectLayer}. */
export interface DissectOptions {
  /** Latent seeds, or a count n for seeds 0 … n−1; default 1000. */
  samples?: number | readonly number[];
  /** Images per generator run; default 16. */
  batch?: number;
  /** Concept names, indexed by the segmenter's class ids; default the scene classes' names. */
  concepts?: readonly string[];
  /** `"quantile"` (default) or `"iqr"` (see the module documentation). */
  threshold?: ThresholdMethod;
  /** The level of `threshold: "quantile"`: `P(a_u > T_u) = 1 − quantile`; default 0.99 (top 1%). */
  quantile?: number;
  /** A unit is interpretable when its best IoU exceeds this; default 0.04. */
  iouThreshold?: number;
  /** With `threshold: "iqr"`, interpretable units also need IQR above this; default 0.01. */
  iqrThreshold?: number;
  /** Upsampling convention (see the module documentation); default false. */
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

/** Label every unit with its best concept (highest IoU, or the IQR choice when given). */
function labelUnits(
  counts: UnitConceptCounts,
  thresholds: Float32Array,
  concepts: readonly string[],
  rules: { iouThreshold: number; iqrThreshold: number; iqr?: IqrChoice[] },
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

/** What every pass over the samples shares. */
interface PassContext {
  gen: GeneratorRunner;
  layer: string;
  units: number;
  seeds: number[];
  batch: number;
  progress: boolean;
  /** Cache folder, segmenter name and the model's hash; undefined without a cache. */
  cache?: { dir: string; segmenter: string; checkpointEvery?: number; model: string };
}

/** The tally cache of one pass, keyed by the model, the layer and `key`. */
function passCache<S>(
  ctx: PassContext,
  name: string,
  key: Record<string, unknown>,
  fromJSON: (json: unknown) => S,
): TallyCache<S> | undefined {
  if (!ctx.cache) return undefined;
  const { dir, checkpointEvery, model } = ctx.cache;
  return {
    dir,
    name: `${ctx.layer}-${name}`,
    key: { model, layer: ctx.layer, ...key },
    fromJSON,
    checkpointEvery,
  };
}

/** Pass 1: every unit's activation quantiles and top images (the generator runs up to the layer only). */
function summarizeLayer(
  ctx: PassContext,
  options: { sketch: Omit<QuantileSketchOptions, "seed">; topK: number },
): Promise<LayerSummary> {
  const { gen, layer, units } = ctx;
  return tally(
    async (seeds: number[], start: number) => {
      const z = latents(seeds, gen.model.zDim);
      const { output: acts } = await gen.run(z, { to: layer }).finally(() => z.dispose());
      try {
        // Each batch's sketch flips its own coins (seeded by its offset) before the merge.
        const stat = new LayerSummary(
          new QuantileSketch(units, { ...options.sketch, seed: start }),
          new RunningTopK(units, { k: options.topK }),
        );
        stat.sketch.add(acts);
        stat.topk.add(acts, seeds);
        return stat;
      } finally {
        acts.dispose();
      }
    },
    ctx.seeds,
    {
      batch: ctx.batch,
      progress: ctx.progress && { label: `${layer} quantiles` },
      cache: passCache(ctx, "summary", options, LayerSummary.fromJSON),
    },
  );
}

/**
 * Pass 2: a statistic of activations against segmentations. Each batch is generated and segmented, then fed to
 * `addChunk` a few images at a time (activations `[n, h, w, U]`, concept masks `[n, H, W, K]`).
 */
function segmentedPass<S extends Statistic<S>>(
  ctx: PassContext,
  segmenter: SegmentFn,
  pass: {
    name: string;
    key: Record<string, unknown>;
    concepts: number;
    create: () => S;
    fromJSON: (json: unknown) => S;
    addChunk: (stat: S, acts: tf.Tensor4D, masks: tf.Tensor4D) => void;
  },
): Promise<S> {
  const { gen, layer, units } = ctx;
  return tally(
    async (seeds: number[]) => {
      const { images, acts, masks } = await generateSegmented(gen, segmenter, {
        seeds,
        layer,
        concepts: pass.concepts,
      });
      try {
        const stat = pass.create();
        const [n, h, w] = masks.shape;
        const chunk = Math.max(1, Math.floor(CHUNK_VALUES / (h * w * units)));
        for (let start = 0; start < n; start += chunk) {
          const size = Math.min(chunk, n - start);
          const part = tf.slice(acts, [start, 0, 0, 0], [size, -1, -1, -1]);
          const partMasks = tf.slice(masks, [start, 0, 0, 0], [size, -1, -1, -1]);
          try {
            pass.addChunk(stat, part, partMasks);
          } finally {
            tf.dispose([part, partMasks]);
          }
        }
        return stat;
      } finally {
        tf.dispose([images, acts, masks]);
      }
    },
    ctx.seeds,
    {
      batch: ctx.batch,
      progress: ctx.progress && { label: `${layer} ${pass.name}` },
      cache: passCache(ctx, pass.name, { ...pass.key, segmenter: ctx.cache?.segmenter }, pass.fromJSON),
    },
  );
}

/**
 * IQR thresholds (see `iqr.ts`): candidate levels from the sketch, a histogram pass, GAN Dissection's choice per
 * unit, and the exact counts at the chosen levels.
 */
async function iqrThresholds(
  ctx: PassContext,
  segmenter: SegmentFn,
  sketch: QuantileSketch,
  options: { concepts: number; alignCorners: boolean; key: Record<string, unknown> },
): Promise<{ thresholds: Float32Array; counts: UnitConceptCounts; choices: IqrChoice[] }> {
  const { units } = ctx;
  const k = options.concepts;
  // Candidate levels: quantiles at 1 − f, f = logspace(−3, 0, 100); ascending levels are f descending.
  const fractions = iqrFractions().reverse();
  const perLevel = sketch.quantiles(fractions.map((f) => 1 - f)); // [L][U]
  const levels = Array.from({ length: units }, (_, u) => {
    const unitLevels = perLevel.map((row) => row[u]);
    for (let j = 1; j < unitLevels.length; j++) unitLevels[j] = Math.max(unitLevels[j], unitLevels[j - 1]);
    return unitLevels;
  });
  const hist = await segmentedPass(ctx, segmenter, {
    name: "iqr",
    key: { ...options.key, levels },
    concepts: k,
    create: () => new LevelHistogram(levels, k),
    fromJSON: LevelHistogram.fromJSON,
    addChunk: (stat, acts, masks) => {
      const up = resizeBilinear(acts, [masks.shape[1], masks.shape[2]], {
        alignCorners: options.alignCorners,
      });
      try {
        stat.add({ acts: up, masks });
      } finally {
        up.dispose();
      }
    },
  });
  const choices = chooseIqrLevels(hist, { exclude: [fractions.indexOf(1)] });
  // Units with no qualifying level take the f = 10^-3 level, as GAN Dissection's argmax over zeros does.
  const chosen = choices.map((c) => (c.level >= 0 ? c.level : fractions.length - 1));
  const thresholds = Float32Array.from(chosen, (j, u) => hist.levels[u * hist.size + j]);
  const intersection = new Float64Array(units * k);
  const unitArea = new Float64Array(units);
  chosen.forEach((j, u) => {
    const unitCounts = hist.unitCounts(u);
    unitArea[u] = unitCounts.unitArea[j];
    intersection.set(unitCounts.intersection.subarray(j * k, (j + 1) * k), u * k);
  });
  const counts = UnitConceptCounts.fromCounts(
    { unitArea, conceptArea: hist.conceptArea(), intersection },
    hist.count,
  );
  return { thresholds, counts, choices };
}

/**
 * Dissect one layer of a generator: unit thresholds, unit–concept IoU over the samples, best concept per unit
 * and top images (see the module documentation for the method).
 *
 * Passes over the samples: (1) the layer's activations only (the generator runs up to `layer`) for the quantile
 * sketch and the top images; (2) images, activations and segmentations for the counts (with `threshold: "iqr"`,
 * for a histogram over the candidate levels from which the thresholds and counts follow).
 *
 * @param gen Any engine's generator (the caller keeps it; it is not disposed).
 * @param segmenter Labels or masks over `concepts` (see `segmenter.ts`).
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

/** One unit in `units.json`. */
export interface UnitRecord {
  unit: number;
  concept: string;
  iou: number;
  threshold: number;
  interpretable: boolean;
  /** With IQR thresholds only. */
  iqr?: number;
  /** Latent seeds of the images where the unit fires most, best first. */
  top_images: number[];
  /** Their scores (the unit's maximum activation in each image). */
  top_scores: number[];
}

/** The `units.json` of a dissected layer. */
export interface UnitsJson {
  layer: string;
  concepts: string[];
  samples: number;
  threshold: ThresholdMethod;
  quantile: number;
  iou_threshold: number;
  units: UnitRecord[];
}

/**
 * The per-unit summary of a dissection, shaped for `units.json`: `{unit, concept, iou, threshold,
 * interpretable, top_images, top_scores}` for every unit, and the settings.
 *
 * @param options `topImages`: how many top images to list per unit (default all kept).
 */
export function toUnitsJson(result: LayerDissection, options: { topImages?: number } = {}): UnitsJson {
  const top = result.topk.result();
  const n = options.topImages ?? result.topk.k;
  return {
    layer: result.layer,
    concepts: result.concepts,
    samples: result.samples.length,
    threshold: result.threshold,
    quantile: result.quantile,
    iou_threshold: result.iouThreshold,
    units: result.units.map((label) => ({
      unit: label.unit,
      concept: label.name,
      iou: label.iou,
      threshold: label.threshold,
      interpretable: label.interpretable,
      ...(label.iqr === undefined ? {} : { iqr: label.iqr }),
      top_images: top.indices[label.unit].slice(0, n),
      top_scores: top.values[label.unit].slice(0, n),
    })),
  };
}

/** Interpretable units of a dissection, by concept name (the layer's "concept histogram"). */
export function unitsByConcept(result: LayerDissection): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const label of result.units) {
    if (label.interpretable) (out[label.name] ??= []).push(label.unit);
  }
  return out;
}
