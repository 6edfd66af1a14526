/**
 * Grad-CAM++ (Chattopadhay et al., WACV 2018), in the closed form pytorch-grad-cam uses: with the score
 * taken as the exponential of the target logit, the higher derivatives are powers of the first, and
 *
 *     alpha[n, i, j, d] = g² / (2 g² + (Σ_ab A[n, a, b, d]) · g³ + ε),   g = ∂y_target / ∂A[n, i, j, d],
 *     weights[n, d]     = Σ_ij alpha · relu(g),
 *
 * with ε = 1e-6 and alpha = 0 where g = 0. Positive gradients alone contribute (alpha is used only where
 * g > 0, so a vanishing denominator at a negative gradient cannot give NaN).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier } from "../models/classifier.ts";
 * import { classifierCamModel } from "./cam.ts";
 * import { gradCamPlusPlus } from "./grad_cam_pp.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const net = createClassifier({
 *   resolution: 16, channels: 3, widths: [4, 8], outputs: ["a", "b"], kind: "multiclass",
 * });
 * const images = tf.randomUniform([2, 16, 16, 3], -1, 1) as tf.Tensor4D;
 * const { cams, logits } = gradCamPlusPlus(classifierCamModel(net), images, { target: [0, 1] });
 * assert.deepEqual(cams.shape, [2, 16, 16]);
 * tf.dispose([images, cams, logits]);
 * disposeClassifier(net);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type CamMethod, type CamModel, type CamOptions, type CamResult, computeCam } from "./cam.ts";

/** The ε of alpha's denominator (pytorch-grad-cam's). */
export const GRAD_CAM_PP_EPS = 1e-6;

/**
 * Grad-CAM++'s weights (see the module doc) of the map `acts` and its gradient `grads`, both
 * `[N, h, w, D]` → `[N, D]`. The caller disposes the result.
 */
export function gradCamPlusPlusWeights(acts: tf.Tensor4D, grads: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const g2 = tf.square(grads);
    const g3 = tf.mul(g2, grads);
    const actSum = tf.sum(acts, [1, 2], true); // [N, 1, 1, D]
    const denominator = tf.add(tf.add(tf.mul(2, g2), tf.mul(actSum, g3)), GRAD_CAM_PP_EPS);
    const alpha = tf.div(g2, denominator); // [N, h, w, D]
    const positive = tf.where(tf.greater(grads, 0), tf.mul(alpha, grads), tf.zerosLike(grads));
    return tf.sum(positive, [1, 2]) as tf.Tensor2D;
  });
}

/** Grad-CAM++ as a {@link CamMethod} of the template. */
export const GRAD_CAM_PLUS_PLUS: CamMethod = {
  name: "Grad-CAM++",
  gradients: true,
  weights: (acts, grads) => gradCamPlusPlusWeights(acts, grads!),
};

/**
 * Grad-CAM++ of images `[N, H, W, C]` in [-1, 1] (see the module doc and `computeCam`).
 *
 * @param options `target` (default: the predicted class), `upsample` (default: the images' size), `relu`
 *   (default true), `raw` (default false).
 * @returns `{ cams: [N, H, W] in [0, 1], logits: [N, K], targets }`; the caller disposes the tensors.
 */
export function gradCamPlusPlus(model: CamModel, images: tf.Tensor4D, options: CamOptions = {}): CamResult {
  return computeCam(model, images, { ...options, method: GRAD_CAM_PLUS_PLUS });
}
