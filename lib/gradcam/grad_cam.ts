/**
 * Grad-CAM (Selvaraju et al., ICCV 2017): each channel of the last conv map weighs by the spatial mean of
 * the target logit's gradient there, `weights[n, d] = mean_ij ∂y_target / ∂A[n, i, j, d]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier } from "../models/classifier.ts";
 * import { classifierCamModel } from "./cam.ts";
 * import { gradCam } from "./grad_cam.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const net = createClassifier({
 *   resolution: 16, channels: 3, widths: [4, 8], outputs: ["a", "b"], kind: "multiclass",
 * });
 * const images = tf.randomUniform([2, 16, 16, 3], -1, 1) as tf.Tensor4D;
 * // No target: each image's predicted class.
 * const { cams, logits, targets } = gradCam(classifierCamModel(net), images);
 * assert.deepEqual(cams.shape, [2, 16, 16]);
 * assert.deepEqual(targets, logits.arraySync().map(([a, b]) => (b > a ? 1 : 0))); // the larger logit's class
 * tf.dispose([images, cams, logits]);
 * disposeClassifier(net);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type CamMethod, type CamModel, type CamOptions, type CamResult, computeCam } from "./cam.ts";

/** Grad-CAM's weights: the spatial mean of the gradient `[N, h, w, D]` → `[N, D]`. */
export function gradCamWeights(grads: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(grads, [1, 2]) as tf.Tensor2D;
}

/** Grad-CAM as a {@link CamMethod} of the template. */
export const GRAD_CAM: CamMethod = {
  name: "Grad-CAM",
  gradients: true,
  weights: (_acts, grads) => gradCamWeights(grads!),
};

/**
 * Grad-CAM of images `[N, H, W, C]` in [-1, 1] (see the module doc and `computeCam`).
 *
 * @param options `target` (default: the predicted class), `upsample` (default: the images' size), `relu`
 *   (default true), `raw` (default false).
 * @returns `{ cams: [N, H, W] in [0, 1], logits: [N, K], targets }`; the caller disposes the tensors.
 */
export function gradCam(model: CamModel, images: tf.Tensor4D, options: CamOptions = {}): CamResult {
  return computeCam(model, images, { ...options, method: GRAD_CAM });
}
