/**
 * From class activation maps to masks: per-image min-max normalisation, bilinear upsampling to the image
 * size, then a threshold or the top fraction of pixels; the IoU of such masks with a ground truth, and
 * {@link camMaskAgreement}: how well several mask functions agree with ground-truth masks over many images.
 *
 * Every CAM method of this folder ends with {@link normalizeCams} then {@link resizeCams} (the order of
 * pytorch-grad-cam: normalise at feature resolution, then upsample; bilinear interpolation keeps the values
 * in [0, 1]). {@link camMasks} does the same and binarises.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { camMaskAgreement, camMaskIoU, camMasks } from "./masks.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const raw = tf.tensor3d([0, 1, 2, 3], [1, 2, 2]); // [N, h, w] at feature resolution
 * const masks = camMasks(raw, { size: [4, 4], threshold: 0.5 }); // [1, 4, 4], 0/1
 * assert.deepEqual(masks.arraySync(), [[[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1], [1, 1, 1, 1]]]);
 * const truth = tf.tensor3d([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [1, 4, 4]); // the bottom half
 * const iou = camMaskIoU(masks, truth); // [1]
 * assert.deepEqual(iou.arraySync(), [7 / 8]);
 * tf.dispose([raw, masks, truth, iou]);
 *
 * // Over many images, batch by batch: the mean IoU and areas of each mask function.
 * const agreement = await camMaskAgreement([0, 1, 2], (ix) => tf.ones([ix.length, 4, 4, 3]) as tf.Tensor4D, {
 *   masks: { all: (images) => tf.ones([images.shape[0], 4, 4]) as tf.Tensor3D },
 *   truth: (images) => tf.ones([images.shape[0], 4, 4]) as tf.Tensor3D,
 * });
 * assert.deepEqual(agreement.all, { iou: 1, maskArea: 1, truthArea: 1 });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { imageIoU } from "../tensor/mask.ts";
import { assertSameShape, assertShape } from "../tensor/shape.ts";
import { resizeBilinear } from "../tensor/upsample.ts";

/**
 * Min-max normalise each CAM of a batch to [0, 1]: `(x − min) / (max − min)` over the pixels of one image.
 * A constant map (max = min, e.g. a CAM the ReLU zeroed) becomes all zeros: it shows nothing.
 *
 * @param cams `[N, h, w]`.
 * @returns float32 `[N, h, w]` in [0, 1]; the caller disposes it.
 */
export function normalizeCams(cams: tf.Tensor): tf.Tensor3D {
  const { N: n, H: h, W: w } = assertShape(cams, ["N", "H", "W"], { name: "cams" });
  return tf.tidy(() => {
    const flat = tf.reshape(tf.cast(cams, "float32"), [n, h * w]); // [N, P]
    const lo = tf.min(flat, 1, true); // [N, 1]
    const hi = tf.max(flat, 1, true); // [N, 1]
    const unit = tf.divNoNan(tf.sub(flat, lo), tf.sub(hi, lo)); // 0 where the map is constant
    return tf.reshape(unit, [n, h, w]) as tf.Tensor3D;
  });
}

/**
 * Bilinear resize of a batch of CAMs, with PyTorch's `align_corners=False` (see `resizeBilinear`).
 *
 * @param cams `[N, h, w]`.
 * @param size `[H, W]`, or one number for a square output.
 * @returns float32 `[N, H, W]`; the caller disposes it.
 */
export function resizeCams(cams: tf.Tensor, size: number | readonly [number, number]): tf.Tensor3D {
  const { N: n, H: h, W: w } = assertShape(cams, ["N", "H", "W"], { name: "cams" });
  const [outH, outW] = typeof size === "number" ? [size, size] : size;
  return tf.tidy(() => {
    const maps = tf.reshape(cams, [n, h, w, 1]); // [N, h, w, 1]
    return tf.reshape(resizeBilinear(maps, [outH, outW]), [n, outH, outW]) as tf.Tensor3D;
  });
}

/** Options of {@link camMasks}: a `threshold` or a `topFraction`, not both. */
export interface CamMaskOptions {
  /** Resize the normalised CAMs to this `[H, W]` (or square size) first; default: keep their size. */
  size?: number | readonly [number, number];
  /** A pixel is in the mask when its normalised CAM exceeds this; default 0.5 (when no `topFraction`). */
  threshold?: number;
  /**
   * Instead of a threshold, keep this fraction (0, 1] of each image's pixels, the highest
   * (`round(fraction · H · W)`, at least 1; ties with the last one kept are kept too). A constant CAM
   * (all zeros once normalised) gives an empty mask.
   */
  topFraction?: number;
}

/**
 * Masks from CAMs: per-image min-max normalisation ({@link normalizeCams}), an optional bilinear resize
 * ({@link resizeCams}), then a threshold (default 0.5) or the top fraction of the pixels.
 *
 * @param cams `[N, h, w]`: raw CAMs at feature resolution, or normalised ones at image size.
 * @param options `size`, `threshold` (default 0.5) or `topFraction`.
 * @returns float32 0/1 `[N, H, W]`; the caller disposes it.
 */
export function camMasks(cams: tf.Tensor, options: CamMaskOptions = {}): tf.Tensor3D {
  assertShape(cams, ["N", "H", "W"], { name: "cams" });
  const { threshold, topFraction } = options;
  if (threshold !== undefined && topFraction !== undefined) {
    throw new Error("camMasks: give a threshold or a topFraction, not both");
  }
  if (threshold !== undefined && !Number.isFinite(threshold)) {
    throw new Error(`camMasks: threshold must be a finite number, got ${threshold}`);
  }
  if (topFraction !== undefined && !(topFraction > 0 && topFraction <= 1)) {
    throw new Error(`camMasks: topFraction must be in (0, 1], got ${topFraction}`);
  }
  return tf.tidy(() => {
    const unit = normalizeCams(cams);
    const scaled = options.size === undefined ? unit : resizeCams(unit, options.size); // [N, H, W]
    if (topFraction === undefined) {
      return tf.cast(tf.greater(scaled, threshold ?? 0.5), "float32") as tf.Tensor3D;
    }
    const [n, h, w] = scaled.shape;
    const k = Math.max(1, Math.round(topFraction * h * w));
    const flat = tf.reshape(scaled, [n, h * w]); // [N, P]
    const kth = tf.slice(tf.topk(flat, k).values, [0, k - 1], [n, 1]); // [N, 1]: the k-th highest value
    const shows = tf.greater(tf.max(flat, 1, true), 0); // [N, 1]: false for a constant CAM
    const kept = tf.logicalAnd(tf.greaterEqual(flat, kth), shows); // [N, P]
    return tf.reshape(tf.cast(kept, "float32"), [n, h, w]) as tf.Tensor3D;
  });
}

/**
 * Per-image IoU of CAM masks with ground-truth masks of the same shape (non-zero = in the mask), as
 * `imageIoU` of lib/tensor/mask.ts; 0 where both are empty.
 *
 * @param masks `[N, H, W]`, e.g. from {@link camMasks}.
 * @param truth `[N, H, W]`.
 * @returns float32 `[N]`; the caller disposes it.
 */
export function camMaskIoU(masks: tf.Tensor, truth: tf.Tensor): tf.Tensor1D {
  assertShape(masks, ["N", "H", "W"], { name: "masks" });
  assertSameShape(masks, truth, { names: ["masks", "truth"] });
  return imageIoU(masks, truth) as tf.Tensor1D;
}

/**
 * Masks `[N, H, W]` (0/1) of images `[N, H, W, C]`, given also the items the images are of (e.g. their latent
 * seeds); the caller disposes the result, the images stay theirs.
 */
export type ImageMaskFn<T> = (images: tf.Tensor4D, items: T[]) => tf.Tensor3D | Promise<tf.Tensor3D>;

/** How well masks agree with ground-truth masks: means over the images. */
export interface MaskAgreement {
  /** Mean per-image IoU ({@link camMaskIoU}). */
  iou: number;
  /** Mean share of each image's pixels in the mask. */
  maskArea: number;
  /** Mean share of each image's pixels in the ground truth. */
  truthArea: number;
}

/** Options of {@link camMaskAgreement}. */
export interface MaskAgreementOptions<T, K extends string> {
  /** The mask functions compared, by name (e.g. one per CAM method). */
  masks: Record<K, ImageMaskFn<T>>;
  /** The ground-truth masks of images (e.g. the defect maps of generated scenes). */
  truth: ImageMaskFn<T>;
  /** Items per batch of images; default 32. */
  batch?: number;
}

/**
 * The agreement of each mask function with the ground truth over the images of `items`, made `batch` items at a
 * time by `images` (e.g. a generator's images of latent seeds): per batch, every function's masks and the truth
 * of the same images; the per-image IoU and areas are summed per batch in float32, the batch sums in float64.
 *
 * @returns one {@link MaskAgreement} per mask function, in the order of `options.masks`.
 */
export async function camMaskAgreement<T, K extends string>(
  items: readonly T[],
  images: (batch: T[]) => tf.Tensor4D | Promise<tf.Tensor4D>,
  options: MaskAgreementOptions<T, K>,
): Promise<Record<K, MaskAgreement>> {
  if (items.length === 0) throw new Error("camMaskAgreement: no images to compare masks on");
  const batch = options.batch ?? 32;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`batch: Expected ≥ 1, got ${batch}`);
  const names = Object.keys(options.masks) as K[];
  const sums = names.map(() => ({ iou: 0, maskArea: 0, truthArea: 0 }));
  for (let start = 0; start < items.length; start += batch) {
    const part = items.slice(start, start + batch);
    const x = await images(part);
    const owned: tf.Tensor[] = [x];
    try {
      const truth = await options.truth(x, part);
      owned.push(truth);
      for (const [k, name] of names.entries()) {
        const masks = await options.masks[name](x, part);
        owned.push(masks);
        const [iou, area, truthArea] = tf.tidy(() => [
          tf.sum(camMaskIoU(masks, truth)),
          tf.sum(tf.mean(masks, [1, 2])),
          tf.sum(tf.mean(truth, [1, 2])),
        ]);
        owned.push(iou, area, truthArea);
        sums[k].iou += iou.dataSync()[0];
        sums[k].maskArea += area.dataSync()[0];
        sums[k].truthArea += truthArea.dataSync()[0];
      }
    } finally {
      tf.dispose(owned);
    }
  }
  const n = items.length;
  return Object.fromEntries(names.map((name, k) => [name, {
    iou: sums[k].iou / n,
    maskArea: sums[k].maskArea / n,
    truthArea: sums[k].truthArea / n,
  }])) as Record<K, MaskAgreement>;
}
