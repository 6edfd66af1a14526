/**
 * The segmenter interface of dissection: any function from images to per-pixel concepts.
 *
 * A {@link SegmentFn} takes generated images `[N, H, W, 3]` in [-1, 1] and returns either integer labels
 * `[N, H', W']` (class ids `0 … K−1`; any other id means "no concept") or binary concept masks
 * `[N, H', W', K]` (several concepts may share a pixel). The resolution `H' × W'` is the segmenter's choice;
 * dissection upsamples unit maps to it. The segmenter must not dispose the images; dissection disposes what it
 * returns. The project's trained scenes segmenter (`models/segmenter.ts`) plugs in as
 * `(images) => segment(model, images)`, and as a differentiable {@link SegmentLogits} as
 * `(images) => forward(model, images)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { conceptFractions, segmentMasks, type SegmentFn } from "./segment_fn.ts";
 * await initBackend({ backend: "cpu" });
 *
 * // A stand-in: concept 0 where the red channel is positive, else concept 1.
 * const redness: SegmentFn = (images) =>
 *   tf.tidy(() => tf.cast(tf.lessEqual(tf.squeeze(tf.slice(images, [0, 0, 0, 0], [-1, -1, -1, 1]), [3]), 0), "int32"));
 * const images = tf.randomUniform([2, 8, 8, 3], -1, 1) as tf.Tensor4D;
 * const masks = await segmentMasks(redness, images, 2); // [2, 8, 8, 2] of 0/1
 * const fractions = conceptFractions(masks); // [2, 2]: each concept's share of each image
 * // one concept a pixel: the shares of an image add up to 1
 * assert.ok(fractions.arraySync().every(([red, other]) => Math.abs(red + other - 1) < 1e-6));
 * tf.dispose([images, masks, fractions]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { SCENE_CLASSES } from "../data/scene_classes.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { RunResult } from "../engine/tfjs.ts";
import { latents } from "../tensor/rng.ts";
import { formatShape } from "../tensor/shape.ts";

/**
 * Images `[N, H, W, 3]` in [-1, 1] → int32 labels `[N, H', W']` or binary masks `[N, H', W', K]` (see the module
 * documentation). The caller owns both the images and the result.
 */
export type SegmentFn = (images: tf.Tensor4D) => tf.Tensor | Promise<tf.Tensor>;

/**
 * A differentiable segmenter for gradient-based searches: images `[N, H, W, 3]` → class logits `[N, H', W', K]`
 * (softmax over the last axis gives the soft class scores).
 */
export type SegmentLogits = (images: tf.Tensor4D) => tf.Tensor4D;

/**
 * Binary concept masks `[N, H', W', K]` from labels `[N, H', W']` (ids outside `0 … K−1` give no concept) or
 * from masks `[N, H', W', K]` (any non-zero value counts as 1).
 *
 * @param segmentation The segmenter's output for `n` images.
 * @param concepts Number of concepts `K`.
 * @returns float32 0/1 `[N, H', W', K]`; the caller disposes it.
 */
export function toConceptMasks(segmentation: tf.Tensor, concepts: number, n?: number): tf.Tensor4D {
  const shape = segmentation.shape;
  const what = `segmentation: Expected labels [${n ?? "N"},H,W] or masks [${n ?? "N"},H,W,${concepts}], got ${
    formatShape(shape)
  }`;
  if (shape.length !== 3 && shape.length !== 4) throw new Error(what);
  if (n !== undefined && shape[0] !== n) throw new Error(what);
  if (shape.length === 4 && shape[3] !== concepts) throw new Error(what);
  if (shape.length === 3 && segmentation.dtype !== "int32") {
    throw new Error(`segmentation: Expected int32 labels, got ${segmentation.dtype}`);
  }
  return tf.tidy(() => {
    if (segmentation.rank === 4) return tf.cast(tf.notEqual(segmentation, 0), "float32") as tf.Tensor4D;
    const ids = tf.range(0, concepts, 1, "int32"); // [K]
    const labels = tf.expandDims(segmentation, 3); // [N, H, W, 1]
    return tf.cast(tf.equal(labels, ids), "float32") as tf.Tensor4D; // [N, H, W, K]
  });
}

/**
 * Run `segmenter` on `images` and return binary concept masks `[N, H', W', K]` (see {@link toConceptMasks}).
 * The images stay the caller's; the segmenter's own output is disposed here.
 *
 * @returns float32 0/1 `[N, H', W', K]`; the caller disposes it.
 */
export async function segmentMasks(
  segmenter: SegmentFn,
  images: tf.Tensor4D,
  concepts: number,
): Promise<tf.Tensor4D> {
  const segmentation = await segmenter(images);
  try {
    return toConceptMasks(segmentation, concepts, images.shape[0]);
  } finally {
    if (segmentation !== images) segmentation.dispose();
  }
}

/**
 * The fraction of each image covered by each concept, optionally within a region.
 *
 * @param masks `[N, H, W, K]` binary concept masks.
 * @param region Optional weights `[H, W]` (e.g. 0/1) over pixels: fractions are taken within it.
 * @returns float32 `[N, K]`; the caller disposes it.
 */
export function conceptFractions(masks: tf.Tensor4D, region?: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    if (!region) return tf.mean(masks, [1, 2]) as tf.Tensor2D;
    const [, h, w] = masks.shape;
    if (region.shape[0] !== h || region.shape[1] !== w) {
      throw new Error(`region: Expected [${h},${w}], got ${formatShape(region.shape)}`);
    }
    const weights = tf.reshape(region, [1, h, w, 1]); // [1, H, W, 1]
    const inside = tf.sum(tf.mul(masks, weights), [1, 2]); // [N, K]
    return tf.div(inside, tf.maximum(tf.sum(region), 1e-12)) as tf.Tensor2D;
  });
}

/**
 * How much else an edit changed: of the pixels not labelled `skip` before it, the share whose label differs after
 * it (null when every pixel was `skip`). Labels are class ids of the same images, flattened in the same order.
 */
export function relabelledShare(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  skip: number,
): number | null {
  if (before.length !== after.length) {
    throw new Error(
      `relabelledShare: Expected labels of the same length, got ${before.length} and ${after.length}`,
    );
  }
  let outside = 0;
  let changed = 0;
  for (let p = 0; p < before.length; p++) {
    if (before[p] === skip) continue;
    outside++;
    if (after[p] !== before[p]) changed++;
  }
  return outside ? changed / outside : null;
}

/** What {@link generateSegmented} returns; the caller disposes every tensor. */
export interface SegmentedSamples {
  /** Generated images `[N, H, W, 3]`, clamped to [-1, 1]. */
  images: tf.Tensor4D;
  /** The traced layer's activations `[N, h, w, U]`. */
  acts: tf.Tensor4D;
  /** Binary concept masks `[N, H', W', K]`. */
  masks: tf.Tensor4D;
}

/**
 * Generate the images of latent `seeds`, trace `layer`, and segment the images.
 *
 * @param gen Any engine's generator.
 * @param segmenter Labels or masks of `concepts` concepts (see {@link SegmentFn}).
 * @returns `{ images, acts, masks }`; the caller disposes them.
 */
export async function generateSegmented(
  gen: GeneratorRunner,
  segmenter: SegmentFn,
  options: { seeds: readonly number[]; layer: string; concepts: number },
): Promise<SegmentedSamples> {
  const z = latents(options.seeds, gen.model.zDim);
  let run: RunResult;
  try {
    run = await gen.run(z, { trace: [options.layer], clamp: true });
  } finally {
    z.dispose();
  }
  const images = run.output;
  const acts = run.traces[options.layer];
  try {
    return { images, acts, masks: await segmentMasks(segmenter, images, options.concepts) };
  } catch (e) {
    tf.dispose([images, acts]);
    throw e;
  }
}

/** The index of `concept` (an index or a name) among `concepts`; throws naming the known concepts. */
export function conceptIndex(concepts: readonly string[], concept: number | string): number {
  const index = typeof concept === "number" ? concept : concepts.indexOf(concept);
  if (!Number.isInteger(index) || index < 0 || index >= concepts.length) {
    throw new Error(`concept ${JSON.stringify(concept)} is not one of ${concepts.join(", ")}`);
  }
  return index;
}

/** The scene classes' names, the default concepts of dissection. */
export function sceneConcepts(): string[] {
  return SCENE_CLASSES.map((c) => c.name);
}

/** Latent seeds from a count `n` (seeds 0 … n−1) or a list (copied); throws on an empty list. */
export function sampleSeeds(samples: number | readonly number[]): number[] {
  if (typeof samples === "number") {
    if (!Number.isInteger(samples) || samples < 1) {
      throw new Error(`samples: Expected a positive integer, got ${samples}`);
    }
    return Array.from({ length: samples }, (_, i) => i);
  }
  if (samples.length === 0) throw new Error("samples: Expected at least one seed, got []");
  return [...samples];
}
