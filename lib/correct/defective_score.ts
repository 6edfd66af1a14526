/**
 * Defective scores (Tousi et al., CVPR 2021): how much each unit of a layer draws the artifacts of artifact
 * images.
 *
 * For a layer of `U` units, artifact images `i = 1 … N` with binary artifact masks `M_i` (`[H, W]`, e.g. the
 * thresholded Grad-CAM of the classifier's artifact class, see `lib/gradcam/`) and unit thresholds `T_u` with
 * `P(a_u > T_u) = tau` over all positions of all images (default `tau = 0.005`):
 *
 *     A_iu = upsample(a_u(z_i)) > T_u                         (bilinear to [H, W], half-pixel convention)
 *     formula (1)   DS1_u = 1/N Σ_i |A_iu ∩ M_i| / |A_iu ∪ M_i|      mean IoU (0 where both are empty)
 *     formula (2)   DS2_u = 1/N Σ_i |A_iu ∩ M_i| / (H·W)             mean intersection, as a fraction of the image
 *
 * Formula (2) ranks units exactly as the mean intersection in pixels does; it favours units that are large where
 * the artifacts are, while formula (1) also penalises a unit for firing elsewhere.
 *
 * The thresholds are estimated with a {@link QuantileSketch} over the activations of `thresholdSeeds` (by default
 * the scored seeds), under the same edits as the scores, so that sequential correction re-thresholds each layer
 * of the corrected generator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import { defectiveScores, rankUnits } from "./defective_score.ts";
 * await initBackend({ backend: "cpu" });
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * // A stand-in artifact mask: the top-left quarter of every image.
 * const masks = (images: tf.Tensor4D) =>
 *   tf.tidy(() => tf.pad(tf.ones([images.shape[0], 4, 4]), [[0, 0], [0, 4], [0, 4]]) as tf.Tensor3D);
 * // tau 0.2: each unit fires on its top fifth (the default 0.005 needs far more than 4 images of 4x4 maps).
 * const seeds = [0, 1, 2, 3];
 * const scores = await defectiveScores(gen, "layer2", { seeds, masks, tau: 0.2, progress: false });
 * // the three units that overlap the quarter best
 * assert.deepEqual(rankUnits(scores.ds1).slice(0, 3), [4, 6, 7]);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Edits } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import { stageIndex } from "../models/stages.ts";
import { checkStatJSON, type Stat, type StatJSON } from "../stats/protocol.ts";
import { QuantileSketch } from "../stats/quantile_sketch.ts";
import { tally } from "../stats/tally.ts";
import { latents } from "../tensor/rng.ts";
import { assertImageBatch, assertShape } from "../tensor/shape.ts";
import { unitMasks } from "../dissect/unit_iou.ts";

/**
 * Artifact masks of generated images: binary float32 `[N, H, W]` for images `[N, H, W, C]` in [-1, 1] (and their
 * latent seeds). The caller of the function disposes the result; the images stay the caller's.
 */
export type ArtifactMaskFn = (
  images: tf.Tensor4D,
  seeds: readonly number[],
) => tf.Tensor3D | Promise<tf.Tensor3D>;

/** Upsampled values per chunk of images: bounds the memory of one upsampling (16 MB of float32). */
const CHUNK_VALUES = 2 ** 22;

/** One batch of {@link DefectiveScoreTally}: unit masks `[n, H, W, U]` and artifact masks `[n, H, W]`. */
export interface DefectiveScoreBatch {
  unitMasks: tf.Tensor4D;
  masks: tf.Tensor3D;
}

/** The JSON form of {@link DefectiveScoreTally}. */
export interface DefectiveScoreTallyJSON extends StatJSON {
  kind: "defective_score";
  units: number;
  count: number;
  iou: number[];
  intersection: number[];
}

/**
 * Running sums of the per-image IoU and intersection fraction of every unit's mask with the artifact mask: the
 * streaming, mergeable statistic behind both formulas.
 */
export class DefectiveScoreTally implements Stat<DefectiveScoreTally, DefectiveScoreBatch> {
  /** Σ_i IoU(A_iu, M_i) per unit. */
  readonly iouSum: Float64Array;
  /** Σ_i |A_iu ∩ M_i| / (H·W) per unit. */
  readonly intersectionSum: Float64Array;
  #count = 0;

  constructor(readonly units: number) {
    if (!Number.isInteger(units) || units < 1) throw new Error(`units: Expected ≥ 1, got ${units}`);
    this.iouSum = new Float64Array(units);
    this.intersectionSum = new Float64Array(units);
  }

  /** Images added. */
  get count(): number {
    return this.#count;
  }

  /** Add a batch (0/1 masks; see {@link DefectiveScoreBatch}). */
  add(batch: DefectiveScoreBatch): void {
    const { n, h, w, c } = assertImageBatch(batch.unitMasks, "unitMasks");
    if (c !== this.units) {
      throw new Error(`unitMasks: Expected ${this.units} units, got [${batch.unitMasks.shape}]`);
    }
    assertShape(batch.masks, [n, h, w], { name: "masks" });
    const [iou, inter] = tf.tidy(() => {
      const m = tf.reshape(tf.cast(tf.greater(batch.masks, 0.5), "float32"), [n, h * w, 1]); // [n, P, 1]
      const a = tf.reshape(batch.unitMasks, [n, h * w, c]); // [n, P, U]
      const intersection = tf.sum(tf.mul(a, m), 1); // [n, U]
      const union = tf.sub(tf.add(tf.sum(a, 1), tf.sum(m, 1)), intersection); // [n, U]
      return [tf.sum(tf.divNoNan(intersection, union), 0), tf.div(tf.sum(intersection, 0), h * w)];
    });
    const [iouData, interData] = [iou.dataSync(), inter.dataSync()];
    tf.dispose([iou, inter]);
    for (let u = 0; u < c; u++) {
      this.iouSum[u] += iouData[u];
      this.intersectionSum[u] += interData[u];
    }
    this.#count += n;
  }

  /** Formula (1): the mean IoU of each unit, `[U]`. */
  ds1(): Float64Array {
    return this.iouSum.map((s) => (this.#count ? s / this.#count : 0));
  }

  /** Formula (2): the mean intersection (fraction of the image) of each unit, `[U]`. */
  ds2(): Float64Array {
    return this.intersectionSum.map((s) => (this.#count ? s / this.#count : 0));
  }

  merge(other: DefectiveScoreTally): void {
    if (other.units !== this.units) {
      throw new Error(`merge: Expected ${this.units} units, got ${other.units}`);
    }
    for (let u = 0; u < this.units; u++) {
      this.iouSum[u] += other.iouSum[u];
      this.intersectionSum[u] += other.intersectionSum[u];
    }
    this.#count += other.count;
  }

  toJSON(): DefectiveScoreTallyJSON {
    return {
      kind: "defective_score",
      version: 1,
      units: this.units,
      count: this.#count,
      iou: Array.from(this.iouSum),
      intersection: Array.from(this.intersectionSum),
    };
  }

  static fromJSON(json: unknown): DefectiveScoreTally {
    const j = checkStatJSON(json, "defective_score", 1) as DefectiveScoreTallyJSON;
    const stat = new DefectiveScoreTally(j.units);
    if (j.iou?.length !== j.units || j.intersection?.length !== j.units) {
      throw new Error(
        `defective_score: Expected ${j.units} sums, got ${j.iou?.length} and ${j.intersection?.length}`,
      );
    }
    stat.iouSum.set(j.iou);
    stat.intersectionSum.set(j.intersection);
    stat.#count = j.count;
    return stat;
  }
}

/** Options shared by {@link unitThresholds} and {@link defectiveScores}. */
export interface LayerPassOptions {
  /** Edits applied while generating (e.g. the corrections of earlier layers); default none. */
  edits?: Edits;
  /** Images per generator run; default 16. */
  batch?: number;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/**
 * The unit thresholds `T_u` with `P(a_u > T_u) = tau` over all positions of the layer's activations for `seeds`
 * (the generator runs up to the layer only).
 *
 * @param options `seeds` (required), `tau` (default 0.005), and {@link LayerPassOptions}.
 * @returns `[U]` thresholds.
 */
export async function unitThresholds(
  gen: GeneratorRunner,
  layer: string,
  options: LayerPassOptions & { seeds: readonly number[]; tau?: number },
): Promise<Float32Array> {
  const tau = options.tau ?? 0.005;
  if (!(tau > 0 && tau < 1)) throw new Error(`tau: Expected a fraction in (0, 1), got ${tau}`);
  const units = layerUnits(gen, layer);
  const sketch = await tally(
    async (seeds: number[], start: number) => {
      const z = latents(seeds, gen.model.zDim);
      const { output } = await gen.run(z, { to: layer, edits: options.edits }).finally(() => z.dispose());
      try {
        const stat = new QuantileSketch(units, { seed: start });
        stat.add(output);
        return stat;
      } finally {
        output.dispose();
      }
    },
    [...options.seeds],
    { batch: options.batch ?? 16, progress: (options.progress ?? true) && { label: `${layer} thresholds` } },
  );
  return sketch.quantile(1 - tau);
}

/** Options of {@link defectiveScores}. */
export interface DefectiveScoreOptions extends LayerPassOptions {
  /** Latent seeds of the artifact images scored. */
  seeds: readonly number[];
  /** Their artifact masks. */
  masks: ArtifactMaskFn;
  /** `P(a_u > T_u) = tau`; default 0.005. */
  tau?: number;
  /** Unit thresholds to use; default: estimated from `thresholdSeeds` with {@link unitThresholds}. */
  thresholds?: Float32Array;
  /** Seeds whose activations set the thresholds ("all images"); default `seeds`. */
  thresholdSeeds?: readonly number[];
  /** Upsampling convention; default false (PyTorch's `align_corners=False`). */
  alignCorners?: boolean;
}

/** The defective scores of one layer; plain data. */
export interface DefectiveScores {
  layer: string;
  /** `tau` of the thresholds. */
  tau: number;
  /** `[U]` unit thresholds `T_u`. */
  thresholds: Float32Array;
  /** Formula (1), `[U]`. */
  ds1: Float64Array;
  /** Formula (2), `[U]`. */
  ds2: Float64Array;
  /** Artifact images scored. */
  count: number;
}

/** The JSON form of {@link DefectiveScores} (a step's cached result, `scores.json`): the arrays as numbers. */
export interface DefectiveScoresJSON {
  layer: string;
  tau: number;
  thresholds: number[];
  ds1: number[];
  ds2: number[];
  count: number;
}

/** {@link DefectiveScores} as plain JSON; {@link defectiveScoresFromJSON} reads it back exactly. */
export function defectiveScoresToJSON(scores: DefectiveScores): DefectiveScoresJSON {
  const { layer, tau, thresholds, ds1, ds2, count } = scores;
  return {
    layer,
    tau,
    thresholds: Array.from(thresholds),
    ds1: Array.from(ds1),
    ds2: Array.from(ds2),
    count,
  };
}

/**
 * Scores from their JSON form ({@link defectiveScoresToJSON}), checked: a layer name, one threshold and two
 * finite scores per unit.
 */
export function defectiveScoresFromJSON(json: unknown): DefectiveScores {
  const j = json as Partial<DefectiveScoresJSON> | null;
  const numbers = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
  if (typeof j !== "object" || j === null || typeof j.layer !== "string") {
    throw new Error("defective scores: Expected an object with a layer name");
  }
  const units = j.ds1?.length;
  if (!numbers(j.ds1) || !numbers(j.ds2) || !numbers(j.thresholds) || units === 0) {
    throw new Error(`defective scores of ${j.layer}: Expected finite number arrays thresholds, ds1 and ds2`);
  }
  if (j.ds2.length !== units || j.thresholds.length !== units) {
    throw new Error(
      `defective scores of ${j.layer}: Expected ${units} thresholds and ds2 scores (one per unit), got ` +
        `${j.thresholds.length} and ${j.ds2.length}`,
    );
  }
  if (typeof j.tau !== "number" || !Number.isInteger(j.count) || j.count! < 0) {
    throw new Error(`defective scores of ${j.layer}: Expected a number tau and an image count`);
  }
  return {
    layer: j.layer,
    tau: j.tau,
    thresholds: Float32Array.from(j.thresholds),
    ds1: Float64Array.from(j.ds1),
    ds2: Float64Array.from(j.ds2),
    count: j.count!,
  };
}

function layerUnits(gen: GeneratorRunner, layer: string): number {
  return gen.model.stages[stageIndex(gen.model, layer)].channels;
}

/**
 * The defective scores of every unit of `layer` over the artifact images of `seeds` (see the module
 * documentation for both formulas).
 */
export async function defectiveScores(
  gen: GeneratorRunner,
  layer: string,
  options: DefectiveScoreOptions,
): Promise<DefectiveScores> {
  const units = layerUnits(gen, layer);
  const tau = options.tau ?? 0.005;
  const thresholds = options.thresholds ?? await unitThresholds(gen, layer, {
    ...options,
    seeds: options.thresholdSeeds ?? options.seeds,
    tau,
  });
  if (thresholds.length !== units) {
    throw new Error(`thresholds: Expected ${units} (the units of ${layer}), got ${thresholds.length}`);
  }
  const alignCorners = options.alignCorners ?? false;
  const stat = await tally(
    async (seeds: number[]) => {
      const z = latents(seeds, gen.model.zDim);
      const run = await gen.run(z, { trace: [layer], clamp: true, edits: options.edits })
        .finally(() => z.dispose());
      const acts = run.traces[layer];
      try {
        const masks = await options.masks(run.output, seeds);
        try {
          return scoreBatch(acts, masks, thresholds, alignCorners);
        } finally {
          masks.dispose();
        }
      } finally {
        tf.dispose([run.output, acts]);
      }
    },
    [...options.seeds],
    {
      batch: options.batch ?? 16,
      progress: (options.progress ?? true) && { label: `${layer} defective scores` },
    },
  );
  return { layer, tau, thresholds, ds1: stat.ds1(), ds2: stat.ds2(), count: stat.count };
}

/** The tally of one batch: activations `[n, h, w, U]` against masks `[n, H, W]`, a few images at a time. */
function scoreBatch(
  acts: tf.Tensor4D,
  masks: tf.Tensor3D,
  thresholds: Float32Array,
  alignCorners: boolean,
): DefectiveScoreTally {
  const [n, , , units] = acts.shape;
  const [mn, h, w] = masks.shape;
  if (masks.rank !== 3 || mn !== n) {
    throw new Error(`artifact masks: Expected [${n},H,W] for ${n} images, got [${masks.shape}]`);
  }
  const stat = new DefectiveScoreTally(units);
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / (h * w * units)));
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const part = tf.slice(acts, [start, 0, 0, 0], [size, -1, -1, -1]);
    const partMasks = tf.slice(masks, [start, 0, 0], [size, -1, -1]);
    const um = unitMasks(part, thresholds, [h, w], { alignCorners });
    try {
      stat.add({ unitMasks: um, masks: partMasks });
    } finally {
      tf.dispose([part, partMasks, um]);
    }
  }
  return stat;
}

/** Scores min-max normalised to [0, 1] (all zeros when every score is equal). */
export function normalizeScores(scores: ArrayLike<number>): Float64Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    lo = Math.min(lo, scores[i]);
    hi = Math.max(hi, scores[i]);
  }
  const range = hi - lo;
  return Float64Array.from(scores, (s) => (range > 0 ? (s - lo) / range : 0));
}

/** Unit indices by score, highest first (ties by unit index). */
export function rankUnits(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, u) => u).sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * How many units `n` means in a layer of `units`: a fraction when `n < 1` (`round(n · units)`, at least 1), else a
 * count (an integer, at most `units`).
 */
export function unitCount(n: number, units: number): number {
  if (n > 0 && n < 1) return Math.max(1, Math.round(n * units));
  if (Number.isInteger(n) && n >= 1) return Math.min(units, n);
  throw new Error(`n: Expected a fraction in (0, 1) or a unit count ≥ 1, got ${n}`);
}
