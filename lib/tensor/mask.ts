/**
 * Intersection, union and IoU of binary masks, batched: per image, and per (unit, concept) channel pair
 * summed over a batch (GAN Dissection's unit–concept IoU).
 *
 * Masks are read as binary: any non-zero value counts as 1, so float 0/1, int32 and bool masks all work.
 * Counts are float32 tensors; they are exact integers while every count is at most 2^24 (16,777,216), which
 * the functions check from the shapes (split larger batches and add their counts in JavaScript).
 *
 * Empty-union convention: where the union is empty (both masks empty), the IoU is 0, not NaN — a unit that
 * never fires matches no concept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { channelIoU } from "./mask.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 *
 * const units = tf.cast(tf.greater(tf.randomUniform([2, 8, 8, 4]), 0.9), "float32"); // [N, H, W, U]
 * const concepts = tf.cast(tf.greater(tf.randomUniform([2, 8, 8, 3]), 0.5), "float32"); // [N, H, W, K]
 * const iou = channelIoU(units, concepts); // IoU of unit u and concept k over the batch
 * assert.deepEqual(iou.shape, [4, 3]);
 * tf.dispose([units, concepts, iou]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertImageBatch, assertRank, assertSameShape } from "./shape.ts";

/** Largest count a float32 sum holds exactly. */
const MAX_EXACT_COUNT = 2 ** 24;

/** Intersection and union pixel counts (float32 tensors of the same shape); the caller disposes both. */
export interface IntersectionUnion {
  intersection: tf.Tensor;
  union: tf.Tensor;
}

/** Non-zero → 1, zero → 0, as float32. */
function binary(x: tf.Tensor): tf.Tensor {
  return tf.cast(tf.notEqual(x, 0), "float32");
}

function checkExact(count: number, what: string): void {
  if (count > MAX_EXACT_COUNT) {
    throw new Error(
      `${what} sums ${count} pixels, more than float32 counts exactly (2^24); split the batch and add the counts`,
    );
  }
}

/**
 * IoU from counts: `intersection / union`, and 0 where the union is 0.
 *
 * @returns float32 of the same shape; the caller disposes it.
 */
export function iouFromCounts(intersection: tf.Tensor, union: tf.Tensor): tf.Tensor {
  assertSameShape(intersection, union, { names: ["intersection", "union"] });
  return tf.tidy(() => tf.divNoNan(tf.cast(intersection, "float32"), tf.cast(union, "float32")));
}

/**
 * Per-image intersection and union of two masks of the same shape, `[N, H, W]` or `[N, H, W, C]`
 * (all channels of an image count together).
 *
 * @returns `{ intersection, union }`, each float32 `[N]`; the caller disposes both.
 */
export function imageIntersectionUnion(a: tf.Tensor, b: tf.Tensor): IntersectionUnion {
  assertRank(a, [3, 4], { name: "a" });
  assertSameShape(a, b, { names: ["a", "b"] });
  checkExact(a.size / a.shape[0], "one image");
  return tf.tidy(() => {
    const n = a.shape[0];
    const ab = tf.reshape(binary(a), [n, -1]); // [N, P]
    const bb = tf.reshape(binary(b), [n, -1]); // [N, P]
    const intersection = tf.sum(tf.mul(ab, bb), 1); // [N]
    const union = tf.sub(tf.add(tf.sum(ab, 1), tf.sum(bb, 1)), intersection); // [N]
    return { intersection, union };
  });
}

/**
 * Per-image IoU of two masks of the same shape, `[N, H, W]` or `[N, H, W, C]`; 0 where both are empty.
 *
 * @returns float32 `[N]`; the caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { imageIoU } from "./mask.ts";
 * import { initBackend } from "../backend/backend.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const a = tf.tensor3d([1, 1, 0, 0, 0, 0, 0, 0], [2, 2, 2]);
 * const b = tf.tensor3d([1, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2]);
 * const iou = imageIoU(a, b);
 * assert.deepEqual(iou.arraySync(), [0.5, 0]); // the second pair is empty
 * tf.dispose([a, b, iou]);
 * ```
 */
export function imageIoU(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { intersection, union } = imageIntersectionUnion(a, b);
  try {
    return iouFromCounts(intersection, union);
  } finally {
    tf.dispose([intersection, union]);
  }
}

/**
 * Intersection and union of every unit mask with every concept mask, summed over the batch:
 * `intersection[u, k] = Σ_{n,y,x} units[n,y,x,u] · concepts[n,y,x,k]`,
 * `union[u, k] = |units_u| + |concepts_k| - intersection[u, k]`.
 *
 * @param units `[N, H, W, U]` binary unit masks.
 * @param concepts `[N, H, W, K]` binary concept masks of the same N, H, W.
 * @returns `{ intersection, union }`, each float32 `[U, K]`; the caller disposes both.
 */
export function channelIntersectionUnion(units: tf.Tensor, concepts: tf.Tensor): IntersectionUnion {
  const { n, h, w, c: u } = assertImageBatch(units, "units");
  const { c: k } = assertImageBatch(concepts, "concepts", { batch: n, height: h, width: w });
  checkExact(n * h * w, "the batch");
  return tf.tidy(() => {
    const um = tf.reshape(binary(units), [n * h * w, u]); // [P, U]
    const cm = tf.reshape(binary(concepts), [n * h * w, k]); // [P, K]
    const intersection = tf.matMul(um, cm, true, false); // [U, K]
    const unitArea = tf.reshape(tf.sum(um, 0), [u, 1]); // [U, 1]
    const conceptArea = tf.reshape(tf.sum(cm, 0), [1, k]); // [1, K]
    const union = tf.sub(tf.add(unitArea, conceptArea), intersection); // [U, K]
    return { intersection, union };
  });
}

/**
 * IoU of every unit mask with every concept mask over the batch (see {@link channelIntersectionUnion});
 * 0 where both are empty over the whole batch.
 *
 * @returns float32 `[U, K]`; the caller disposes it.
 */
export function channelIoU(units: tf.Tensor, concepts: tf.Tensor): tf.Tensor {
  const { intersection, union } = channelIntersectionUnion(units, concepts);
  try {
    return iouFromCounts(intersection, union);
  } finally {
    tf.dispose([intersection, union]);
  }
}
