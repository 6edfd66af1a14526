/**
 * Measurements on held-out latents, the ground every intervention of GAN Dissection is judged on: generate the
 * images of seeds the units were not chosen on (unedited, or under an intervention), segment them, and count what
 * share of each image, or of a box in it, every concept covers.
 *
 * For image i with labels `l(p)` and a box `b_i` (default the whole image), the fraction of concept k is
 *
 *     f_k(i) = |{p ∈ b_i : l(p) = k}| / |b_i|
 *
 * ({@link labelFractions}), and a measurement is its mean over the images, `f̄_k = (1/N) Σ_i f_k(i)`, or over
 * the images a predicate keeps ({@link columnMean}). Labels are kept on the JavaScript side (`Int32Array`,
 * row-major per image), so that several measurements (before and after an edit, whole images and boxes) are
 * counted from one segmentation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { createGenerator } from "../engine/select.ts";
 * import { randomPggan } from "../models/pggan.ts";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { columnMean, labelFractions, segmentSeeds } from "./heldout.ts";
 * await initBackend({ backend: "cpu" });
 *
 * const gen = await createGenerator(randomPggan([16, 16, 8]), { engine: "tfjs" });
 * const bright = (images: tf.Tensor4D) => tf.tidy(() => tf.cast(tf.lessEqual(tf.mean(images, 3), 0), "int32"));
 * const original = await segmentSeeds(gen, bright, [100, 101, 102], { progress: false });
 * const ablated = await segmentSeeds(gen, bright, [100, 101, 102], {
 *   intervention: { layer: "layer2", units: [0, 1, 2, 3], mode: "ablate" },
 *   progress: false,
 * });
 * const [before, after] = [original, ablated].map((s) => columnMean(labelFractions(s, 2), 0));
 * // the mean share of "bright" pixels, unedited and with 4 units ablated
 * assert.ok(Math.abs(before! - 0.6771) < 1e-4 && Math.abs(after! - 0.6979) < 1e-4);
 * await gen.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GeneratorRunner } from "../engine/select.ts";
import { type RawImage, toRawImages } from "../io/raw_image.ts";
import { latents } from "../tensor/rng.ts";
import { formatShape } from "../tensor/shape.ts";
import { progress as startProgress } from "../util/progress.ts";
import { generateWithIntervention, type Intervention, type PixelBox } from "./interventions.ts";
import type { SegmentFn } from "./segment_fn.ts";

/** The segmentation labels of the images of some seeds; plain data (no tensors). */
export interface SegmentedSeeds {
  /** Class ids `[N·H·W]`, row-major per image. */
  labels: Int32Array;
  /** Images N. */
  count: number;
  height: number;
  width: number;
  /** The first `show` images (see {@link SegmentSeedsOptions}), RGB. */
  shown: RawImage[];
}

/** Options of {@link segmentSeeds}. */
export interface SegmentSeedsOptions {
  /** Generate under this intervention; default none (the unedited images). */
  intervention?: Omit<Intervention, "region">;
  /** Where the intervention applies: one mask per image, `[N, h, w]` at the layer's resolution (the caller's). */
  regions?: tf.Tensor3D;
  /** Images per generator run; default 16. */
  batch?: number;
  /** Keep the first this many images as {@link RawImage}s; default 0. */
  show?: number;
  /** Progress label; default "segment". */
  label?: string;
  /** Report progress on stderr; default true. */
  progress?: boolean;
}

/**
 * Generate the images of `seeds` (under `options.intervention`, within `options.regions`) and segment them.
 *
 * @param gen Any engine's generator.
 * @param segmenter Images → int32 labels `[N, H', W']` (masks are refused: a pixel needs one label here).
 * @returns The labels and the first `show` images; no tensor outlives the call.
 */
export async function segmentSeeds(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  seeds: readonly number[],
  options: SegmentSeedsOptions = {},
): Promise<SegmentedSeeds> {
  const n = seeds.length;
  const batch = options.batch ?? 16;
  const show = options.show ?? 0;
  if (n === 0) throw new Error("segmentSeeds: Expected at least one seed, got none");
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`batch: Expected a positive integer, got ${batch}`);
  }
  if (options.regions && options.regions.shape[0] !== n) {
    throw new Error(
      `regions: Expected one mask per seed ([${n},h,w]), got ${formatShape(options.regions.shape)}`,
    );
  }
  let labels: Int32Array | undefined;
  let [height, width] = [0, 0];
  const shown: RawImage[] = [];
  const bar = (options.progress ?? true)
    ? startProgress(n, { label: options.label ?? "segment", unit: "img" })
    : undefined;
  try {
    for (let start = 0; start < n; start += batch) {
      const part = seeds.slice(start, start + batch);
      const region = options.regions && tf.slice(options.regions, [start, 0, 0], [part.length, -1, -1]);
      let images: tf.Tensor4D | undefined;
      let ids: tf.Tensor | undefined;
      try {
        if (options.intervention) {
          images = await generateWithIntervention(gen, part, { ...options.intervention, region });
        } else {
          const z = latents(part, gen.model.zDim);
          images = (await gen.run(z, { clamp: true }).finally(() => z.dispose())).output;
        }
        ids = await segmenter(images);
        if (ids.rank !== 3 || ids.dtype !== "int32" || ids.shape[0] !== part.length) {
          throw new Error(
            `segmenter: Expected int32 labels [${part.length},H,W], got ${ids.dtype} ${
              formatShape(ids.shape)
            }`,
          );
        }
        if (!labels) {
          [height, width] = [ids.shape[1]!, ids.shape[2]!];
          labels = new Int32Array(n * height * width);
        }
        labels.set(await ids.data() as Int32Array, start * height * width);
        if (start < show) {
          const kept = tf.slice(images, 0, Math.min(part.length, show - start));
          shown.push(...toRawImages(kept));
          kept.dispose();
        }
      } finally {
        tf.dispose([region, images, ids]);
      }
      bar?.tick(part.length);
    }
  } finally {
    bar?.done();
  }
  return { labels: labels!, count: n, height, width, shown };
}

/**
 * Per image, the fraction of its pixels (within `boxes[i]` when given) labelled with each concept: `[N][K]`
 * (see the module documentation). Ids outside `0 … concepts−1` count for no concept.
 *
 * @param seg Labels of N images (e.g. from {@link segmentSeeds}).
 * @param concepts Number of concepts K.
 * @param boxes One pixel box per image, in the segmentation's pixels; default the whole images.
 */
export function labelFractions(
  seg: Pick<SegmentedSeeds, "labels" | "count" | "height" | "width">,
  concepts: number,
  boxes?: readonly PixelBox[],
): number[][] {
  const { count, height, width, labels } = seg;
  if (labels.length !== count * height * width) {
    throw new Error(`labelFractions: Expected ${count}·${height}·${width} labels, got ${labels.length}`);
  }
  if (boxes && boxes.length !== count) {
    throw new Error(`labelFractions: Expected one box per image (${count}), got ${boxes.length}`);
  }
  return Array.from({ length: count }, (_, i) => {
    const counts = new Array(concepts).fill(0);
    const b = boxes?.[i] ?? { x0: 0, y0: 0, x1: width, y1: height };
    if (!(0 <= b.x0 && b.x0 < b.x1 && b.x1 <= width && 0 <= b.y0 && b.y0 < b.y1 && b.y1 <= height)) {
      throw new Error(`labelFractions: box ${JSON.stringify(b)} is not inside the ${height}x${width} image`);
    }
    for (let y = b.y0; y < b.y1; y++) {
      for (let x = b.x0; x < b.x1; x++) {
        const label = labels[(i * height + y) * width + x];
        if (label >= 0 && label < concepts) counts[label]++;
      }
    }
    return counts.map((c) => c / ((b.x1 - b.x0) * (b.y1 - b.y0)));
  });
}

/** Mean of column `k` of `rows` over the rows `keep` picks (default all); null when it picks none. */
export function columnMean(
  rows: readonly (readonly number[])[],
  k: number,
  keep: (i: number) => boolean = () => true,
): number | null {
  const picked = rows.filter((_, i) => keep(i)).map((r) => r[k]);
  return picked.length ? picked.reduce((a, b) => a + b, 0) / picked.length : null;
}
