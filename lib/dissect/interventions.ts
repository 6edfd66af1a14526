/**
 * Interventions on units (GAN Dissection, section 3.2): *ablation* sets units to 0, *insertion* sets them to a
 * concept-specific constant, over the whole image or a region, through the engine's edits (`engine/edits.ts`).
 *
 * Insertion values, one per unit of the layer, come in two kinds (both from GAN Dissection's `aceoptimize.py`):
 * - the presence-weighted mean activation where the concept is present (its default):
 *   `v_u = Σ a_u(x) · p_k(x) / Σ p_k(x)` over all feature-map positions x of many images, where `p_k(x)` is the
 *   fraction of concept-k pixels under position x (the segmentation average-pooled to the layer's resolution);
 *   {@link ConceptActivationMean}, {@link collectConceptMeans};
 * - a high quantile of the unit's activations (its `_h99` variant, q = 0.99), from a `QuantileSketch`.
 * {@link insertionValues} returns either.
 *
 * Regions are masks at the layer's resolution, `[h, w]` with values in [0, 1]; {@link boxMask} makes one from a
 * pixel box of the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { boxMask, generateWithIntervention } from "./interventions.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * // Switch units 1 and 2 of layer2 (4x4) off in the top-left quarter of the 8x8 images.
 * const region = boxMask({ x0: 0, y0: 0, x1: 4, y1: 4 }, { image: 8, layer: 4 });
 * const images = await generateWithIntervention(gen, [0, 1], { layer: "layer2", units: [1, 2], mode: "ablate", region });
 * assert.deepEqual(images.shape, [2, 8, 8, 3]);
 * tf.dispose([region, images]);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ablate, type Edits, insert, type SpatialMask } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { GeneratorDescription } from "../models/stages.ts";
import { checkStatJSON, type Stat, type StatJSON } from "../stats/protocol.ts";
import type { QuantileSketch } from "../stats/quantile_sketch.ts";
import { tally } from "../stats/tally.ts";
import { latents } from "../tensor/rng.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import { conceptIndex, generateSegmented, sampleSeeds, sceneConcepts, type SegmentFn } from "./segment_fn.ts";

/** A pixel box `[x0, x1) × [y0, y1)` in image coordinates (columns x, rows y). */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Sizes for {@link boxMask}: the image's and the layer's `[height, width]` (or one number when square). */
export interface BoxMaskSizes {
  image: number | readonly [number, number];
  layer: number | readonly [number, number];
}

/**
 * A region mask at the layer's resolution from a pixel box of the image: each feature-map cell gets the
 * fraction of its image footprint inside the box (cell `(i, j)` covers image rows `[i·H/h, (i+1)·H/h)` and
 * columns likewise), or, with `binary`, 1 where that fraction is at least one half.
 *
 * @returns float32 `[h, w]` in [0, 1]; the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { boxMask } from "./interventions.ts";
 * await initBackend({ backend: "cpu" });
 * const m = boxMask({ x0: 2, y0: 0, x1: 6, y1: 3 }, { image: 8, layer: 4 });
 * assert.deepEqual(m.arraySync(), [[0, 1, 1, 0], [0, 0.5, 0.5, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
 * m.dispose();
 * ```
 */
export function boxMask(box: PixelBox, sizes: BoxMaskSizes, options: { binary?: boolean } = {}): tf.Tensor2D {
  const [imageH, imageW] = typeof sizes.image === "number" ? [sizes.image, sizes.image] : sizes.image;
  const [h, w] = typeof sizes.layer === "number" ? [sizes.layer, sizes.layer] : sizes.layer;
  for (const v of [imageH, imageW, h, w]) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`boxMask: Expected positive integer sizes, got ${v}`);
  }
  if (!(box.x0 < box.x1 && box.y0 < box.y1)) {
    throw new Error(`boxMask: Expected x0 < x1 and y0 < y1, got ${JSON.stringify(box)}`);
  }
  /** Overlap of [a0, a1) with cell i of n cells over `size` pixels, as a fraction of the cell. */
  const overlap = (a0: number, a1: number, i: number, n: number, size: number) => {
    const c0 = (i * size) / n;
    const c1 = ((i + 1) * size) / n;
    return Math.max(0, Math.min(a1, c1) - Math.max(a0, c0)) / (c1 - c0);
  };
  const mask = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    const fy = overlap(box.y0, box.y1, i, h, imageH);
    for (let j = 0; j < w; j++) {
      const f = fy * overlap(box.x0, box.x1, j, w, imageW);
      mask[i * w + j] = options.binary ? (f >= 0.5 ? 1 : 0) : f;
    }
  }
  return tf.tensor2d(mask, [h, w]);
}

/** One intervention on a layer's units. */
export interface Intervention {
  /** The stage, e.g. `"layer4"`. */
  layer: string;
  /** Unit indices. */
  units: number[];
  /** `"ablate"`: units → 0; `"insert"`: units → `values`. */
  mode: "ablate" | "insert";
  /**
   * Insertion values: one number for every unit, or one per unit of the layer (length C, e.g. from
   * {@link insertionValues}); only the listed units use theirs.
   */
  values?: number | ArrayLike<number>;
  /** Where: a mask `[h, w]` (or `[N, h, w]`) at the layer's resolution; default everywhere. */
  region?: SpatialMask;
}

/** The engine edits of an intervention (checks the layer, units and values against the model). */
export function interventionEdits(model: GeneratorDescription, intervention: Intervention): Edits {
  const stage = model.stages.find((s) => s.name === intervention.layer);
  if (!stage) throw new Error(`no stage "${intervention.layer}" in this ${model.arch} generator`);
  const channels = stage.channels;
  const { units, region } = intervention;
  if (intervention.mode === "ablate") return { [stage.name]: ablate(units, channels, region) };
  if (intervention.mode !== "insert") {
    throw new Error(`mode: Expected "ablate" or "insert", got ${intervention.mode}`);
  }
  const values = intervention.values;
  if (values === undefined) throw new Error("insert: Expected values, got none");
  if (typeof values === "number") return { [stage.name]: insert(units, channels, values, region) };
  if (values.length !== channels) {
    throw new Error(
      `insert: Expected ${channels} values (one per unit of ${stage.name}), got ${values.length}`,
    );
  }
  const picked = units.map((u) => {
    if (!Number.isInteger(u) || u < 0 || u >= channels) {
      throw new Error(`unit ${u} is out of range for a layer of ${channels} units`);
    }
    return values[u];
  });
  return { [stage.name]: insert(units, channels, picked, region) };
}

/**
 * Generate the images of latent `seeds` under an intervention.
 *
 * @param options `clamp` the images to [-1, 1] (default true).
 * @returns `[N, H, W, 3]`; the caller disposes it.
 */
export async function generateWithIntervention(
  gen: GeneratorRunner,
  seeds: readonly number[],
  intervention: Intervention,
  options: { clamp?: boolean } = {},
): Promise<tf.Tensor4D> {
  const edits = interventionEdits(gen.model, intervention);
  const z = latents(seeds, gen.model.zDim);
  try {
    const { output } = await gen.run(z, { edits, clamp: options.clamp ?? true });
    return output;
  } finally {
    z.dispose();
  }
}

/** A batch of {@link ConceptActivationMean}: a layer's activations and the concept masks of the same images. */
export interface ConceptActivationBatch {
  /** `[N, h, w, U]` activations. */
  acts: tf.Tensor;
  /** `[N, H, W, K]` binary concept masks, `H` and `W` multiples of `h` and `w`. */
  masks: tf.Tensor;
}

/** The serialised form of a {@link ConceptActivationMean}. */
export interface ConceptActivationMeanJSON extends StatJSON {
  units: number;
  concepts: number;
  positions: number;
  /** `[K·U]` presence-weighted activation sums. */
  sums: number[];
  /** `[K]` presence totals. */
  weights: number[];
}

/**
 * Presence-weighted mean activation of every unit for every concept (see the module documentation).
 * Implements the statistic protocol.
 */
export class ConceptActivationMean implements Stat<ConceptActivationMean, ConceptActivationBatch> {
  readonly units: number;
  readonly concepts: number;
  #positions = 0;
  readonly #sums: Float64Array;
  readonly #weights: Float64Array;

  constructor(units: number, concepts: number) {
    for (const [name, v] of [["units", units], ["concepts", concepts]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: Expected a positive integer, got ${v}`);
    }
    this.units = units;
    this.concepts = concepts;
    this.#sums = new Float64Array(concepts * units);
    this.#weights = new Float64Array(concepts);
  }

  /** Feature-map positions added. */
  get count(): number {
    return this.#positions;
  }

  /** Add a batch: presence = masks average-pooled to the activations' size; `sums += presenceᵀ · acts`. */
  add(batch: ConceptActivationBatch): void {
    const { n, h, w, c } = assertImageBatch(batch.acts, "acts");
    if (c !== this.units) throw new Error(`acts: Expected ${this.units} units, got ${c}`);
    const m = assertImageBatch(batch.masks, "masks", { batch: n, channels: this.concepts });
    if (m.h % h !== 0 || m.w % w !== 0) {
      throw new Error(
        `masks: Expected a size that is a multiple of the layer's ${h}x${w}, got ${m.h}x${m.w}`,
      );
    }
    const [sums, weights] = tf.tidy(() => {
      const masks = tf.cast(batch.masks, "float32") as tf.Tensor4D;
      const presence = m.h === h && m.w === w
        ? masks
        : tf.avgPool(masks, [m.h / h, m.w / w], [m.h / h, m.w / w], "valid"); // [N, h, w, K]
      const p = tf.reshape(presence, [n * h * w, this.concepts]); // [P, K]
      const a = tf.reshape(tf.cast(batch.acts, "float32"), [n * h * w, c]); // [P, U]
      return [tf.matMul(p, a, true, false), tf.sum(p, 0)]; // [K, U], [K]
    });
    const s = sums.dataSync();
    const wt = weights.dataSync();
    tf.dispose([sums, weights]);
    for (let i = 0; i < s.length; i++) this.#sums[i] += s[i];
    for (let i = 0; i < wt.length; i++) this.#weights[i] += wt[i];
    this.#positions += n * h * w;
  }

  /** Fold `other` (same units and concepts) into this one. */
  merge(other: ConceptActivationMean): void {
    if (other.units !== this.units || other.concepts !== this.concepts) {
      throw new Error("ConceptActivationMean.merge: Expected the same units and concepts");
    }
    this.#positions += other.#positions;
    other.#sums.forEach((v, i) => this.#sums[i] += v);
    other.#weights.forEach((v, i) => this.#weights[i] += v);
  }

  /** Total presence of concept k (in feature-map positions). */
  presence(concept: number): number {
    return this.#weights[this.#check(concept)];
  }

  /** The presence-weighted mean activation of every unit for `concept`: `Float32Array [U]`. */
  mean(concept: number): Float32Array {
    const k = this.#check(concept);
    if (!(this.#weights[k] > 0)) throw new Error(`concept ${k} was never present in the images added`);
    return Float32Array.from(
      this.#sums.subarray(k * this.units, (k + 1) * this.units),
      (s) => s / this.#weights[k],
    );
  }

  #check(concept: number): number {
    if (!Number.isInteger(concept) || concept < 0 || concept >= this.concepts) {
      throw new Error(`concept ${concept} is out of range for ${this.concepts} concepts`);
    }
    return concept;
  }

  /** A JSON-safe snapshot. */
  toJSON(): ConceptActivationMeanJSON {
    return {
      kind: "ConceptActivationMean",
      version: 1,
      units: this.units,
      concepts: this.concepts,
      positions: this.#positions,
      sums: Array.from(this.#sums),
      weights: Array.from(this.#weights),
    };
  }

  /** Rebuild from {@link ConceptActivationMean.toJSON}'s output. */
  static fromJSON(json: unknown): ConceptActivationMean {
    const j = checkStatJSON(
      json,
      "ConceptActivationMean",
      1,
      "ConceptActivationMean.fromJSON",
    ) as ConceptActivationMeanJSON;
    const out = new ConceptActivationMean(j.units, j.concepts);
    if (j.sums.length !== j.units * j.concepts || j.weights.length !== j.concepts) {
      throw new Error("ConceptActivationMean.fromJSON: sums do not match units and concepts");
    }
    out.#sums.set(j.sums);
    out.#weights.set(j.weights);
    out.#positions = j.positions;
    return out;
  }
}

/** Options of {@link collectConceptMeans}. */
export interface ConceptMeansOptions {
  /** Latent seeds, or a count n for seeds 0 … n−1; default 1000. */
  samples?: number | readonly number[];
  /** Images per generator run; default 16. */
  batch?: number;
  /** Number of concepts of the segmenter; default the scene classes (11). */
  concepts?: number;
  /** Report progress; default true. */
  progress?: boolean;
}

/** Presence-weighted mean activations of `layer`'s units for every concept, over generated images. */
export function collectConceptMeans(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  layer: string,
  options: ConceptMeansOptions = {},
): Promise<ConceptActivationMean> {
  const stage = gen.model.stages.find((s) => s.name === layer);
  if (!stage) throw new Error(`no stage "${layer}" in this ${gen.model.arch} generator`);
  const k = options.concepts ?? sceneConcepts().length;
  return tally(
    async (seeds: number[]) => {
      const { images, acts, masks } = await generateSegmented(gen, segmenter, { seeds, layer, concepts: k });
      try {
        const stat = new ConceptActivationMean(stage.channels, k);
        stat.add({ acts, masks });
        return stat;
      } finally {
        tf.dispose([images, acts, masks]);
      }
    },
    sampleSeeds(options.samples ?? 1000),
    {
      batch: options.batch ?? 16,
      progress: (options.progress ?? true) && { label: `${layer} concept means` },
    },
  );
}

/**
 * Insertion values for every unit of a layer, either kind (see the module documentation):
 * `{ means, concept }` for the presence-weighted mean activation of a concept (name or index among
 * `concepts`, default the scene classes), or `{ sketch, quantile }` for a high quantile (default 0.99).
 *
 * @returns `Float32Array [U]`.
 */
export function insertionValues(
  source:
    | { means: ConceptActivationMean; concept: number | string; concepts?: readonly string[] }
    | { sketch: QuantileSketch; quantile?: number },
): Float32Array {
  if ("means" in source) {
    const names = source.concepts ?? sceneConcepts();
    return source.means.mean(conceptIndex(names, source.concept));
  }
  return source.sketch.quantile(source.quantile ?? 0.99);
}
