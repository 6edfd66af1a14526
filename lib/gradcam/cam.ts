/**
 * Class activation maps: the template every CAM method shares, and the network interface they need.
 *
 * A network is split at its last conv map ({@link CamModel}): `featureMap` gives the activations `A`
 * `[N, h, w, D]`, `head` their logits `[N, K]`. Every method then does the same thing (pytorch-grad-cam's
 * `BaseCAM` design), differing only in the per-channel weights it supplies ({@link CamMethod}):
 *
 * 1. `A = featureMap(images)`, `logits = head(A)`; the target class of each image (default: its highest
 *    logit);
 * 2. for gradient methods, `G = ∂ Σ_n logits[n, target_n] / ∂A`, taken with respect to the map itself
 *    (`tf.grad` of the head; never the images or the weights, so a frozen feature extractor works);
 * 3. `weights = method.weights(A, G, context)` `[N, D]`;
 * 4. `raw = relu(Σ_d weights[n, d] · A[n, :, :, d])` `[N, h, w]`;
 * 5. `cams` = per-image min-max normalisation of `raw`, bilinearly upsampled to the image size `[N, H, W]`.
 *
 * The methods: `grad_cam.ts`, `grad_cam_pp.ts`, `score_cam.ts`; `methods.ts` picks one by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier } from "../models/classifier.ts";
 * import { type CamMethod, classifierCamModel, computeCam } from "./cam.ts";
 *
 * await initBackend({ backend: "cpu" });
 * const net = createClassifier({
 *   resolution: 16, channels: 3, widths: [4, 8], outputs: ["a", "b"], kind: "multiclass",
 * });
 * // A method only supplies its weights: here, the spatial mean of the gradient (Grad-CAM).
 * const meanGradient: CamMethod = {
 *   name: "mean gradient",
 *   gradients: true,
 *   weights: (_acts, grads) => tf.mean(grads!, [1, 2]) as tf.Tensor2D,
 * };
 * const images = tf.randomUniform([2, 16, 16, 3], -1, 1) as tf.Tensor4D;
 * const model = classifierCamModel(net);
 * const { cams, logits } = computeCam(model, images, { method: meanGradient, target: 1 });
 * assert.deepEqual([cams.shape, logits.shape], [[2, 16, 16], [2, 2]]);
 * tf.dispose([images, cams, logits]);
 * disposeClassifier(net);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Classifier, featureMap, head } from "../models/classifier.ts";
import { assertImageBatch, assertShape } from "../tensor/shape.ts";
import { normalizeCams, resizeCams } from "./masks.ts";

/** A network split at its last conv map: what CAM methods need. */
export interface CamModel {
  /**
   * The last conv activation map `[N, h, w, D]` of images `[N, R, R, C]` in [-1, 1]: a new tensor, which the
   * caller disposes. Differentiable.
   */
  featureMap(images: tf.Tensor4D): tf.Tensor4D;
  /** Logits `[N, K]` of a map `[N, h, w, D]` (e.g. global average pool + fc). Differentiable in the map. */
  head(map: tf.Tensor4D): tf.Tensor2D;
}

/** The project's classifier (lib/models/classifier.ts) as a {@link CamModel}; it keeps owning its weights. */
export function classifierCamModel(model: Classifier): CamModel {
  return { featureMap: (images) => featureMap(model, images), head: (map) => head(model, map) };
}

/** What a method's weights may use besides the activations and gradients; owned by the template. */
export interface CamContext {
  model: CamModel;
  /** The images `[N, H, W, C]`. */
  images: tf.Tensor4D;
  /** The target class of each image. */
  targets: readonly number[];
  /** The targets one-hot, float32 `[N, K]`. */
  onehot: tf.Tensor2D;
}

/**
 * A CAM method: only its per-channel weights. `weights(acts, grads, context)` gets the map `A`
 * `[N, h, w, D]`, the gradient of the target logits with respect to it (`null` when `gradients` is false,
 * and then no backward pass runs) and the {@link CamContext}; it returns `[N, D]`. It runs inside the
 * template's `tf.tidy` and must not dispose its inputs.
 */
export interface CamMethod {
  /** Shown in error messages. */
  name: string;
  /** Whether `weights` needs the gradient. */
  gradients: boolean;
  weights(acts: tf.Tensor4D, grads: tf.Tensor4D | null, context: CamContext): tf.Tensor2D;
}

/** Options of every CAM function. */
export interface CamOptions {
  /** The class of each image (one index for all, or one per image); default: each image's highest logit. */
  target?: number | readonly number[];
  /** `[H, W]` of the returned CAMs; default the images' size. */
  upsample?: readonly [number, number];
  /** Keep only the positive evidence (`relu` of the weighted sum, before normalising); default true. */
  relu?: boolean;
  /** Also return `raw` (the CAMs before normalisation, at feature resolution) and `weights`; default no. */
  raw?: boolean;
}

/** Options of {@link computeCam}: the method, and the options of every CAM function. */
export interface ComputeCamOptions extends CamOptions {
  method: CamMethod;
}

/** What a CAM function returns; the caller disposes every tensor. */
export interface CamResult {
  /** The CAMs `[N, H, W]` in [0, 1], min-max normalised per image (a constant map gives zeros). */
  cams: tf.Tensor3D;
  /** The logits `[N, K]` of the images. */
  logits: tf.Tensor2D;
  /** The class each CAM explains. */
  targets: number[];
  /** With `raw: true`: `relu(Σ_d weights · A)` `[N, h, w]` at feature resolution (no ReLU: `relu: false`). */
  raw?: tf.Tensor3D;
  /** With `raw: true`: the method's channel weights `[N, D]`. */
  weights?: tf.Tensor2D;
}

/** The target of each image: the option checked against `k` classes, or the argmax of the logits. */
function resolveTargets(target: CamOptions["target"], logits: tf.Tensor2D): number[] {
  const [n, k] = logits.shape;
  if (target === undefined) {
    const predicted = tf.argMax(logits, 1);
    try {
      return Array.from(predicted.dataSync());
    } finally {
      predicted.dispose();
    }
  }
  const targets = typeof target === "number" ? new Array<number>(n).fill(target) : [...target];
  if (targets.length !== n) {
    throw new Error(`target: Expected one class per image (${n}), got ${targets.length}`);
  }
  for (const t of targets) {
    if (!Number.isInteger(t) || t < 0 || t >= k) {
      throw new Error(`target: Expected class indices in [0, ${k}), got ${t}`);
    }
  }
  return targets;
}

function checkUpsample(size: readonly number[]): [number, number] {
  if (size.length !== 2 || !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new Error(`upsample: Expected [H, W] of positive integers, got [${size}]`);
  }
  return [size[0], size[1]];
}

/**
 * The CAM template (see the module doc): runs the network, takes the gradient at the map when the method
 * needs it, and turns the method's channel weights into normalised, upsampled CAMs.
 *
 * @param model The network split at its last conv map.
 * @param images `[N, H, W, C]` in [-1, 1].
 * @param options `method` and the {@link CamOptions} (`target`, `upsample`, `relu`, `raw`).
 * @returns `{ cams, logits, targets }` (and `raw`, `weights` with `raw: true`); the caller disposes them.
 */
export function computeCam(model: CamModel, images: tf.Tensor4D, options: ComputeCamOptions): CamResult {
  const { n, h: imageH, w: imageW } = assertImageBatch(images, "images");
  const size = checkUpsample(options.upsample ?? [imageH, imageW]);
  const { method } = options;
  const acts = model.featureMap(images);
  let logits: tf.Tensor2D | undefined;
  try {
    const { c: d } = assertImageBatch(acts, `${method.name}: featureMap output`, { batch: n });
    logits = model.head(acts);
    const { K: k } = assertShape(logits, [n, "K"], { name: `${method.name}: head output` });
    const targets = resolveTargets(options.target, logits);
    const out = tf.tidy(() => {
      const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, "int32"), k), "float32") as tf.Tensor2D; // [N, K]
      // The gradient of Σ_n logits[n, target_n] with respect to the map itself: [N, h, w, D].
      const targetScore = (map: tf.Tensor) => tf.sum(tf.mul(model.head(map as tf.Tensor4D), onehot));
      const grads = method.gradients ? tf.grad(targetScore)(acts) as tf.Tensor4D : null;
      const weights = method.weights(acts, grads, { model, images, targets, onehot });
      assertShape(weights, [n, d], { name: `${method.name} weights` });
      const sum = tf.sum(tf.mul(acts, tf.reshape(weights, [n, 1, 1, d])), 3) as tf.Tensor3D; // [N, h, w]
      const raw = options.relu === false ? sum : tf.relu(sum);
      // Bilinear interpolation of [0, 1] values stays in [0, 1] up to rounding; the clip makes it exact.
      const cams = tf.clipByValue(resizeCams(normalizeCams(raw), size), 0, 1) as tf.Tensor3D;
      return options.raw ? { cams, raw, weights } : { cams };
    });
    return { ...out, logits, targets };
  } catch (e) {
    logits?.dispose();
    throw e;
  } finally {
    if (acts !== images) acts.dispose();
  }
}
