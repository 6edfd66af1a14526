/**
 * Score-CAM (Wang et al., CVPR Workshops 2020): gradient-free. Each channel of the last conv map, bilinearly
 * upsampled to the image size (`align_corners=False`) and min-max normalised to [0, 1], masks the input
 * (`image · mask`, which pulls the masked-out pixels towards 0, mid-grey for images in [-1, 1]); the weight
 * of the channel is its masked image's target logit, softmaxed over the channels of the image:
 *
 *     weights[n, :] = softmax_d( y_target( images[n] · norm(up(A[n, :, :, d])) ) ).
 *
 * Forward passes only, `N · D` of them, run `batchSize` masked images at a time.
 * (pytorch-grad-cam upsamples these masks with `align_corners=True`; here every resize of the folder uses
 * PyTorch's default convention.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier } from "../models/classifier.ts";
 * import { classifierCamModel } from "./cam.ts";
 * import { scoreCam } from "./score_cam.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const net = createClassifier({
 *   resolution: 16, channels: 3, widths: [4, 8], outputs: ["a", "b"], kind: "multiclass",
 * });
 * const images = tf.randomUniform([2, 16, 16, 3], -1, 1) as tf.Tensor4D;
 * const { cams, logits } = scoreCam(classifierCamModel(net), images, { batchSize: 8 });
 * assert.deepEqual(cams.shape, [2, 16, 16]);
 * tf.dispose([images, cams, logits]);
 * disposeClassifier(net);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type CamContext,
  type CamMethod,
  type CamModel,
  type CamOptions,
  type CamResult,
  computeCam,
} from "./cam.ts";
import { normalizeCams } from "./masks.ts";
import { resizeBilinear } from "../tensor/upsample.ts";

/** Options of Score-CAM. */
export interface ScoreCamOptions {
  /** Masked images per forward pass; default 64. */
  batchSize?: number;
}

function checkBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`Score-CAM: batchSize must be a positive integer, got ${batchSize}`);
  }
  return batchSize;
}

/**
 * Score-CAM's weights (see the module doc) of the map `acts` `[N, h, w, D]` → `[N, D]`, with the model,
 * images and targets of `context`. The caller disposes the result.
 */
export function scoreCamWeights(
  acts: tf.Tensor4D,
  context: CamContext,
  options: ScoreCamOptions = {},
): tf.Tensor2D {
  const batchSize = checkBatchSize(options.batchSize ?? 64);
  const [n, h, w, d] = acts.shape;
  const [, imageH, imageW] = context.images.shape;
  // One single-channel map per (image, channel) pair p = n·D + d.
  const maps = tf.tidy(() => tf.reshape(tf.transpose(acts, [0, 3, 1, 2]), [n * d, h, w, 1])); // [N·D,h,w,1]
  const scores: tf.Tensor1D[] = [];
  try {
    for (let start = 0; start < n * d; start += batchSize) {
      const b = Math.min(batchSize, n * d - start);
      scores.push(tf.tidy(() => {
        const imageOf = tf.tensor1d(
          Array.from({ length: b }, (_, i) => Math.floor((start + i) / d)),
          "int32",
        );
        const chunk = tf.slice(maps, [start, 0, 0, 0], [b, h, w, 1]); // [B, h, w, 1]
        const up = resizeBilinear(chunk, [imageH, imageW]); // [B, H, W, 1]
        const masks = normalizeCams(tf.reshape(up, [b, imageH, imageW])); // [B, H, W]
        const masked = tf.mul(tf.gather(context.images, imageOf), tf.reshape(masks, [b, imageH, imageW, 1]));
        const logits = context.model.head(context.model.featureMap(masked as tf.Tensor4D)); // [B, K]
        return tf.sum(tf.mul(logits, tf.gather(context.onehot, imageOf)), 1) as tf.Tensor1D; // [B]
      }));
    }
    return tf.tidy(() => tf.softmax(tf.reshape(tf.concat(scores), [n, d])) as tf.Tensor2D);
  } finally {
    tf.dispose([maps, ...scores]);
  }
}

/** Score-CAM as a {@link CamMethod} of the template, with its batch size. */
export function scoreCamMethod(options: ScoreCamOptions = {}): CamMethod {
  checkBatchSize(options.batchSize ?? 64);
  return {
    name: "Score-CAM",
    gradients: false,
    weights: (acts, _grads, context) => scoreCamWeights(acts, context, options),
  };
}

/**
 * Score-CAM of images `[N, H, W, C]` in [-1, 1] (see the module doc and `computeCam`).
 *
 * @param options `target` (default: the predicted class), `upsample` (default: the images' size), `relu`
 *   (default true), `raw` (default false), `batchSize` (default 64).
 * @returns `{ cams: [N, H, W] in [0, 1], logits: [N, K], targets }`; the caller disposes the tensors.
 */
export function scoreCam(
  model: CamModel,
  images: tf.Tensor4D,
  options: CamOptions & ScoreCamOptions = {},
): CamResult {
  return computeCam(model, images, { ...options, method: scoreCamMethod(options) });
}
