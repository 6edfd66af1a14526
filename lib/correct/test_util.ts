/**
 * Test helpers for lib/correct (not re-exported by `mod.ts`).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { FeatureExtractor } from "../models/features.ts";

/** A toy feature extractor for 8x8 RGB images: the mean colour of each quadrant (12 features). */
export const QUADRANTS: FeatureExtractor = {
  name: "quadrants",
  dim: 12,
  dispose() {},
  extract: (x: tf.Tensor4D) =>
    tf.tidy(() => tf.reshape(tf.avgPool(x, 4, 4, "valid"), [x.shape[0], 12]) as tf.Tensor2D),
};
