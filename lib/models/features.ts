/**
 * What a feature network is to the rest of the project: a {@link FeatureExtractor} maps images to feature
 * vectors, named after its feature space; and {@link toRgb}, the channel convention every extractor shares
 * (grey images are repeated to three channels, as pytorch-fid's `convert("RGB")` does).
 *
 * The networks of `lib/models/` (the domain networks, torchvision's ResNet-18) are feature extractors, and so
 * are the metrics' (`lib/metrics/`: Inception-v3, VGG-16); the metrics take any of them
 * (`lib/metrics/features.ts` runs one over image batches and names the results).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { type FeatureExtractor, toRgb } from "./features.ts";
 * await initBackend({ backend: "cpu" });
 * // A toy extractor: the mean colour of each image.
 * const meanColour: FeatureExtractor = {
 *   name: "mean-colour",
 *   dim: 3,
 *   extract: (images) => tf.tidy(() => tf.mean(toRgb(images), [1, 2]) as tf.Tensor2D),
 *   dispose() {},
 * };
 * const grey = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
 * const features = meanColour.extract(grey); // [2, 3]: toRgb repeats the grey channel
 * assert.deepEqual(features.arraySync(), [[0, 0, 0], [0, 0, 0]]);
 * tf.dispose([grey, features]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertImageBatch } from "../tensor/shape.ts";

/** A network that maps images to feature vectors. */
export interface FeatureExtractor {
  /** What the features are; part of every metric result (`frechetMetricName`, `lib/metrics/features.ts`). */
  readonly name: string;
  /** Length `D` of each feature vector. */
  readonly dim: number;
  /**
   * The image size `[H, W, C]` the network takes, for networks that do not resize their input themselves
   * (the domain networks); absent where any size is accepted. Inputs are checked against it, and resized to
   * it on request (`lib/metrics/inputs.ts`).
   */
  readonly inputShape?: readonly [number, number, number];
  /**
   * Features of a batch: `images` `[N, H, W, C]` in [-1, 1] with C = 1 (grey, repeated to RGB) or 3, any size
   * (each extractor resizes to its own input size). Returns `[N, D]` float32; the caller disposes it.
   */
  extract(images: tf.Tensor4D): tf.Tensor2D;
  /** Release the network's weights. */
  dispose(): void;
}

/**
 * `images` as RGB: grey `[N, H, W, 1]` is repeated to three channels (as pytorch-fid's `convert("RGB")`); RGB
 * is returned as is (the same tensor). The caller disposes a new tensor.
 *
 * @throws Error unless `images` is `[N, H, W, 1]` or `[N, H, W, 3]`.
 */
export function toRgb(images: tf.Tensor4D): tf.Tensor4D {
  const { c } = assertImageBatch(images, "images");
  if (c === 3) return images;
  if (c !== 1) throw new Error(`images: Expected 1 or 3 channels, got [${images.shape}]`);
  return tf.tile(images, [1, 1, 1, 3]);
}
